// A put and a delete through the real workflow into the stack's RabbitMQ, NATS JetStream, Kafka and
// Mosquitto, read back as the guide's consumers would see them: MinIO's envelope
// {"EventName", "Key": "<bucket>/<raw key>", "Records": [record]} plus each target's event id.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as amqplib from 'amqplib';
import { Kafka, logLevel, type Admin, type KafkaMessage } from 'kafkajs';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent, eventIdentity } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { needs } from '../helpers/needs';
import { createTopic } from '../../scripts/stack/kafka-topics';

const { after, before, test } = needs('temporal', 'rabbitmq', 'nats', 'kafka', 'mosquitto');

const bucket = uniqueBucket('images');
// A raw key with a space and a slash: the record carries it query-escaped, `Key` carries it raw.
const rawKey = 'holiday 2024/my photo.jpg';
const suffix = randomUUID();
const exchange = `bucketevents-${suffix}`;
const subject = `bucketevents.${suffix}`;
const stream = `bucketflow-test-${suffix}`;
const kafkaTopic = `bucketevents-${suffix}`;
const mqttTopic = `bucketevents/${suffix}`;
const everyChange = ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'];
const ARNS = {
  amqp: 'arn:minio:sqs:us-east-1:1:amqp',
  nats: 'arn:minio:sqs:us-east-1:1:nats',
  kafka: 'arn:minio:sqs:us-east-1:1:kafka',
  mqtt: 'arn:minio:sqs:us-east-1:1:mqtt',
};

const kafkaClient = new Kafka({ clientId: 'bucketflow-test', brokers: [endpoints.kafka], logLevel: logLevel.NOTHING });
let engine: Engine | undefined;
let rabbit: amqplib.ChannelModel;
let rabbitChannel: amqplib.Channel;
let queue: string;
let nats: NatsConnection;
let jsm: JetStreamManager;
let kafkaAdmin: Admin;
let mqtt: MqttClient;
const mqttReceived: IPublishPacket[] = [];

interface Sent {
  record: S3EventRecord;
  eventId: string;
  status: string;
  targets: Array<{ arn: string; status: string }>;
}
const sent: Sent[] = [];

before(async () => {
  // The consumers exist before anything is published, as the guide's programs do.
  rabbit = await amqplib.connect(endpoints.amqp);
  rabbitChannel = await rabbit.createChannel();
  await rabbitChannel.assertExchange(exchange, 'fanout', { durable: false, autoDelete: false, internal: false });
  ({ queue } = await rabbitChannel.assertQueue('', { exclusive: true }));
  await rabbitChannel.bindQueue(queue, exchange, '');

  nats = await connect({ servers: endpoints.nats });
  jsm = await nats.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [subject] });

  kafkaAdmin = kafkaClient.admin();
  await kafkaAdmin.connect();
  await createTopic(kafkaAdmin, kafkaTopic, 1);

  mqtt = await connectAsync(endpoints.mqtt, { protocolVersion: 5, reconnectPeriod: 0 });
  mqtt.on('message', (topic, _payload, packet) => {
    if (topic === mqttTopic) mqttReceived.push(packet);
  });
  await mqtt.subscribeAsync(mqttTopic, { qos: 1 });

  engine = await startEngine({
    notify: {
      amqp: {
        '1': {
          enable: true,
          url: endpoints.amqp,
          exchange,
          routingKey: 'bucketlogs',
          exchangeType: 'fanout',
          mandatory: false,
          immediate: false,
          durable: false,
          internal: false,
          noWait: false,
          autoDeleted: false,
        },
      },
      nats: { '1': { enable: true, address: endpoints.nats, subject, jetstream: true } },
      kafka: { '1': { enable: true, brokers: [endpoints.kafka], topic: kafkaTopic } },
      mqtt: { '1': { enable: true, broker: endpoints.mqtt, topic: mqttTopic, qos: 1 } },
    },
    rules: {
      [bucket]: Object.values(ARNS).map((arn, i) => ({
        id: String(i + 1),
        arn,
        events: everyChange,
        prefix: '',
        suffix: '.jpg',
      })),
    },
  });

  // Put, then delete, of the same object: each delivered to all four targets before the next starts.
  const now = Date.now();
  for (const [i, eventName] of ['s3:ObjectCreated:Put', 's3:ObjectRemoved:Delete'].entries()) {
    const record = buildEvent({
      eventName,
      bucket,
      key: rawKey,
      size: 56060,
      eTag: '1d97bf45ecb37f7a7b699418070df08f',
      contentType: 'image/jpeg',
      eventTime: new Date(now + i),
    });
    const [published] = await engine.client.publish(record);
    assert.equal(published.duplicate, false);
    const result = await engine.client.temporal.workflow.getHandle(published.workflowId).result();
    sent.push({ record, eventId: published.eventId, status: result.status, targets: result.targets });
  }
});

after(async () => {
  await engine?.stop();
  await rabbitChannel?.deleteExchange(exchange).catch(() => undefined);
  await rabbit?.close().catch(() => undefined);
  await jsm?.streams.delete(stream).catch(() => undefined);
  await nats?.close().catch(() => undefined);
  await kafkaAdmin?.deleteTopics({ topics: [kafkaTopic] }).catch(() => undefined);
  await kafkaAdmin?.disconnect().catch(() => undefined);
  await mqtt?.endAsync().catch(() => undefined);
});

/** MinIO's wire body, written out literally rather than with the code under test. */
function expectedBody(record: S3EventRecord) {
  return { EventName: record.eventName, Key: `${bucket}/${rawKey}`, Records: [record] };
}

async function waitFor<T>(count: number, read: () => Promise<T[]> | T[], what: string): Promise<T[]> {
  const deadline = Date.now() + 10_000;
  let got = await read();
  while (got.length < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    got = await read();
  }
  assert.equal(got.length, count, `${what}: expected ${count} messages, got ${got.length}`);
  return got;
}

test('the workflow delivers the put and the delete to all four message targets', () => {
  assert.equal(sent.length, 2);
  const [put, del] = sent;
  assert.equal(put.record.s3.object.key, 'holiday+2024%2Fmy+photo.jpg'); // escaped on the record, as MinIO sends it
  assert.notEqual(put.eventId, del.eventId);
  for (const event of sent) {
    assert.equal(event.eventId, eventIdentity(event.record));
    assert.equal(event.status, 'delivered');
    assert.deepEqual(
      event.targets.map((t) => ({ arn: t.arn, status: t.status })).sort((a, b) => a.arn.localeCompare(b.arn)),
      Object.values(ARNS)
        .sort()
        .map((arn) => ({ arn, status: 'delivered' })),
    );
  }
});

test('AMQP: the bound queue holds the put then the delete, envelope body, message id = event id', async () => {
  const messages: amqplib.GetMessage[] = [];
  await waitFor(
    2,
    async () => {
      const message = await rabbitChannel.get(queue, { noAck: true });
      if (message) messages.push(message);
      return messages;
    },
    'AMQP',
  );
  // Nothing beyond the two events.
  assert.equal(await rabbitChannel.get(queue, { noAck: true }), false);
  for (const [i, event] of sent.entries()) {
    const message = messages[i];
    assert.deepEqual(JSON.parse(message.content.toString()), expectedBody(event.record));
    assert.equal(message.properties.messageId, event.eventId);
    assert.equal(message.properties.contentType, 'application/json');
    assert.deepEqual(message.properties.headers, { 'minio-bucket': bucket, 'minio-event': event.record.eventName });
    assert.equal(message.fields.exchange, exchange);
    assert.equal(message.fields.routingKey, 'bucketlogs');
  }
});

test('NATS JetStream: the stream stores the put then the delete, envelope body, Nats-Msg-Id = event id', async () => {
  const info = await jsm.streams.info(stream);
  assert.equal(info.state.messages, 2);
  const consumer = await nats.jetstream().consumers.get(stream);
  const stored: Array<{ subject: string; id: string | undefined; body: unknown }> = [];
  for await (const message of await consumer.fetch({ max_messages: 10, expires: 1_000 })) {
    stored.push({ subject: message.subject, id: message.headers?.get('Nats-Msg-Id'), body: message.json() });
  }
  assert.deepEqual(
    stored,
    sent.map((event) => ({ subject, id: event.eventId, body: expectedBody(event.record) })),
  );
});

test('Kafka: the topic holds the put then the delete, key <bucket>/<raw key>, envelope value, event id header', async () => {
  const consumer = kafkaClient.consumer({ groupId: `bucketflow-test-${randomUUID()}` });
  const messages: KafkaMessage[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: kafkaTopic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
    await waitFor(2, () => messages, 'Kafka');
    // Give a third (unexpected) message a moment to show up.
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    await consumer.disconnect();
  }
  assert.equal(messages.length, 2);
  for (const [i, event] of sent.entries()) {
    assert.equal(messages[i].key?.toString(), `${bucket}/${rawKey}`);
    assert.deepEqual(JSON.parse(messages[i].value!.toString()), expectedBody(event.record));
    assert.equal(messages[i].headers?.[EVENT_ID_HEADER]?.toString(), event.eventId);
  }
  const offsets = await kafkaAdmin.fetchTopicOffsets(kafkaTopic);
  assert.deepEqual(
    offsets.map((o) => o.high),
    ['2'],
  );
});

test('MQTT: the subscriber gets the put then the delete, envelope payload, event id user property', async () => {
  await waitFor(2, () => mqttReceived, 'MQTT');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(mqttReceived.length, 2);
  for (const [i, event] of sent.entries()) {
    const packet = mqttReceived[i];
    assert.deepEqual(JSON.parse(packet.payload.toString()), expectedBody(event.record));
    assert.equal(packet.properties?.userProperties?.[EVENT_ID_HEADER], event.eventId);
    assert.equal(packet.properties?.contentType, 'application/json');
    assert.equal(packet.qos, 1);
  }
});
