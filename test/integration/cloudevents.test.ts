// CloudEvents output against real servers, read by receivers built on the CloudEvents SDK. Through the engine (the
// per-event workflow): webhook targets in structured and binary mode, posting to HTTP servers that parse each request
// with the SDK's HTTP.toEvent (and refuse what it cannot parse), and Kafka in both modes read back with the SDK's Kafka
// binding. Through the bulk path (sendBatch, as the high-volume mode sends): RabbitMQ, NATS and Mosquitto in both
// modes, read back and parsed by the SDK. Every event's attributes must match its record.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as amqplib from 'amqplib';
import {
  CloudEvent,
  HTTP,
  Kafka as CloudEventsKafka,
  MQTT,
  type Headers,
  type KafkaMessage as CloudEventsKafkaMessage,
} from 'cloudevents';
import { Kafka, logLevel, type Admin, type KafkaMessage } from 'kafkajs';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { connect, type Msg, type NatsConnection } from 'nats';
import { endpoints } from '../../scripts/stack/endpoints';
import { createTopic } from '../../scripts/stack/kafka-topics';
import { buildEvent, eventIdentity } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { create as createAmqp } from '../../src/targets/amqp';
import { create as createMqtt } from '../../src/targets/mqtt';
import { create as createNats } from '../../src/targets/nats';
import type { Delivery, Target } from '../../src/targets/target';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { needs } from '../helpers/needs';
import { Receiver, type ReceivedRequest } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { targetConfig } from '../helpers/target-config';

const { after, before, describe, test } = needs('temporal', 'kafka', 'rabbitmq', 'nats', 'mosquitto');

const suffix = randomUUID();
const kafkaClient = new Kafka({ clientId: 'bucketflow-test', brokers: [endpoints.kafka], logLevel: logLevel.NOTHING });
let kafkaAdmin: Admin;
const topics = { structured: `ce-structured-${suffix}`, binary: `ce-binary-${suffix}` };

before(async () => {
  kafkaAdmin = kafkaClient.admin();
  await kafkaAdmin.connect();
  for (const topic of Object.values(topics)) await createTopic(kafkaAdmin, topic);
});

after(async () => {
  await kafkaAdmin?.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await kafkaAdmin?.disconnect().catch(() => undefined);
});

/** What the record says the event is, written out here rather than taken from the code under test. */
function assertMatches(event: CloudEvent, record: S3EventRecord, rawKey: string): void {
  assert.equal(event.specversion, '1.0');
  assert.equal(event.id, eventIdentity(record));
  assert.equal(event.source, `minio:s3:::${record.s3.bucket.name}`);
  assert.equal(event.type, record.eventName);
  assert.equal(event.subject, rawKey);
  assert.equal(event.time, new Date(record.eventTime).toISOString());
  assert.equal(event.datacontenttype, 'application/json');
  const data =
    typeof event.data === 'string' || Buffer.isBuffer(event.data) ? JSON.parse(String(event.data)) : event.data;
  assert.deepEqual(data, { EventName: record.eventName, Key: `${record.s3.bucket.name}/${rawKey}`, Records: [record] });
  event.validate();
}

/** The HTTP and NATS bindings percent-encode header values; the SDK does not decode them, so its receivers must. */
function percentDecoded(event: CloudEvent): CloudEvent {
  return event.cloneWith({ subject: decodeURIComponent(event.subject ?? '') }, true);
}

describe('through the engine: webhook and Kafka targets, structured and binary', () => {
  const bucket = uniqueBucket('cloudevents');
  // A key with a space, a slash, a quote, a percent sign and non-ASCII: escaped in the record, percent-encoded in
  // the HTTP binding's headers, raw in the subject.
  const keys = ['holiday 2024/"100%" café.jpg', 'plain.jpg'];
  const ARNS = {
    webhookStructured: 'arn:minio:sqs:us-east-1:structured:webhook',
    webhookBinary: 'arn:minio:sqs:us-east-1:binary:webhook',
    kafkaStructured: 'arn:minio:sqs:us-east-1:structured:kafka',
    kafkaBinary: 'arn:minio:sqs:us-east-1:binary:kafka',
  };
  let engine: Engine | undefined;
  const receivers: Record<'structured' | 'binary', Receiver | undefined> = { structured: undefined, binary: undefined };
  /** What each receiver's SDK parsed, and what it could not. */
  const parsed: Record<'structured' | 'binary', CloudEvent[]> = { structured: [], binary: [] };
  const refused: string[] = [];
  const sent: Array<{ record: S3EventRecord; rawKey: string }> = [];

  /** A receiver built on the SDK: HTTP.toEvent on every request, 400 for one it cannot parse. */
  const sdkReceiver = (mode: 'structured' | 'binary') =>
    Receiver.start([], 200, {
      answer: (request: ReceivedRequest) => {
        try {
          const event = HTTP.toEvent({ headers: request.headers as Headers, body: request.body }) as CloudEvent;
          parsed[mode].push(event);
          return 200;
        } catch (err) {
          refused.push(`${mode}: ${String(err)}`);
          return 400;
        }
      },
    });

  before(async () => {
    receivers.structured = await sdkReceiver('structured');
    receivers.binary = await sdkReceiver('binary');
    const kafka = { enable: true, brokers: [endpoints.kafka] };
    engine = await startEngine({
      notify: {
        webhook: {
          structured: { enable: true, endpoint: receivers.structured.url, format: 'cloudevents' },
          binary: { enable: true, endpoint: receivers.binary.url, format: 'cloudevents-binary' },
        },
        kafka: {
          structured: { ...kafka, topic: topics.structured, format: 'cloudevents' },
          binary: { ...kafka, topic: topics.binary, format: 'cloudevents-binary' },
        },
      },
      rules: {
        [bucket]: Object.values(ARNS).map((arn, i) => ({
          id: String(i + 1),
          arn,
          events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
          prefix: '',
          suffix: '',
        })),
      },
    });
    const now = Date.now();
    const changes: Array<[string, string]> = [
      ['s3:ObjectCreated:Put', keys[0]],
      ['s3:ObjectCreated:Put', keys[1]],
      ['s3:ObjectRemoved:Delete', keys[0]],
    ];
    for (const [i, [eventName, key]] of changes.entries()) {
      const record = buildEvent({
        eventName,
        bucket,
        key,
        size: 10 + i,
        eTag: 'e'.repeat(32),
        eventTime: new Date(now + i),
      });
      const [published] = await engine.client.publish(record);
      const result = await engine.client.temporal.workflow.getHandle(published.workflowId).result();
      assert.equal(result.status, 'delivered', JSON.stringify(result.targets));
      sent.push({ record, rawKey: key });
    }
  });

  after(async () => {
    await engine?.stop();
    await Promise.all(Object.values(receivers).map((receiver) => receiver?.close()));
  });

  for (const mode of ['structured', 'binary'] as const) {
    test(`webhook, ${mode} mode: the SDK's HTTP receiver parses every event, attributes matching the record`, () => {
      assert.deepEqual(refused, []);
      const requests = receivers[mode]!.requests;
      assert.equal(requests.length, sent.length);
      assert.equal(parsed[mode].length, sent.length);
      for (const [i, { record, rawKey }] of sent.entries()) {
        const event = mode === 'binary' ? percentDecoded(parsed[mode][i]) : parsed[mode][i];
        assertMatches(event, record, rawKey);
        // The bindings' own marks: structured is the event format's media type, binary the data's with ce- headers.
        const headers = requests[i].headers;
        if (mode === 'structured') {
          assert.equal(headers['content-type'], 'application/cloudevents+json; charset=utf-8');
          assert.equal(headers['ce-id'], undefined);
        } else {
          assert.equal(headers['content-type'], 'application/json');
          assert.equal(headers['ce-id'], eventIdentity(record));
          assert.deepEqual(JSON.parse(requests[i].body), {
            EventName: record.eventName,
            Key: `${bucket}/${rawKey}`,
            Records: [record],
          });
        }
        assert.equal(headers['x-bucketflow-event-id'], eventIdentity(record));
      }
      // The first key as the HTTP binding sends it: percent-encoded (the SDK handed it over undecoded).
      if (mode === 'binary')
        assert.equal(requests[0].headers['ce-subject'], 'holiday%202024/%22100%25%22%20caf%C3%A9.jpg');
    });
  }

  for (const mode of ['structured', 'binary'] as const) {
    test(`Kafka, ${mode} mode: the SDK's Kafka binding parses every message, attributes matching the record`, async () => {
      const messages = await readTopic(mode === 'structured' ? topics.structured : topics.binary, sent.length);
      for (const [i, { record, rawKey }] of sent.entries()) {
        const message = messages[i];
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
        );
        if (mode === 'binary') {
          assert.equal(headers.ce_id, eventIdentity(record));
          assert.equal(headers.ce_subject, rawKey); // Kafka headers are UTF-8: no percent-encoding
          assert.equal(headers['content-type'], 'application/json');
        } else {
          assert.equal(headers['content-type'], 'application/cloudevents+json; charset=utf-8');
          assert.equal(headers.ce_id, undefined);
        }
        const kafkaMessage: CloudEventsKafkaMessage<string> = {
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          headers,
          timestamp: message.timestamp,
          body: message.value?.toString(),
        };
        const event = CloudEventsKafka.toEvent(kafkaMessage) as CloudEvent;
        assertMatches(event, record, rawKey);
        assert.equal(message.key?.toString(), `${bucket}/${rawKey}`); // the partition key stays the object's
      }
    });
  }
});

/** Every message of a topic from the beginning, `count` of them, in order. */
async function readTopic(topic: string, count: number): Promise<KafkaMessage[]> {
  const consumer = kafkaClient.consumer({ groupId: `bucketflow-test-${randomUUID()}` });
  const messages: KafkaMessage[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
    await waitFor(() => messages.length >= count, `${count} messages on ${topic}, got ${messages.length}`);
    await new Promise((r) => setTimeout(r, 200)); // room for an unexpected extra message to show
  } finally {
    await consumer.disconnect();
  }
  assert.equal(messages.length, count);
  return messages;
}

async function waitFor(done: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the bulk path (sendBatch): AMQP, NATS and MQTT in both modes', () => {
  const bucket = uniqueBucket('cloudevents-batch');
  const keys = ['a b/ü.txt', 'c.txt', 'a b/ü.txt'];
  const now = Date.now();
  const deliveries: Delivery[] = keys.map((key, i) =>
    deliveryOf({
      eventName: i === 2 ? 's3:ObjectRemoved:Delete' : 's3:ObjectCreated:Put',
      bucket,
      key,
      eventTime: new Date(now + i),
    }),
  );
  const opened: Target[] = [];
  const open = (target: Target) => (opened.push(target), target);
  let rabbit: amqplib.ChannelModel;
  let nats: NatsConnection;
  let mqtt: MqttClient;

  before(async () => {
    rabbit = await amqplib.connect(endpoints.amqp);
    nats = await connect({ servers: endpoints.nats });
    mqtt = await connectAsync(endpoints.mqtt, { protocolVersion: 5, reconnectPeriod: 0 });
  });

  after(async () => {
    await Promise.all(opened.map((target) => target.close()));
    await rabbit?.close().catch(() => undefined);
    await nats?.close().catch(() => undefined);
    await mqtt?.endAsync().catch(() => undefined);
  });

  const sendAll = async (target: Target) =>
    assert.deepEqual(
      await target.sendBatch(deliveries),
      deliveries.map(() => ({ ok: true })),
    );

  for (const format of ['cloudevents', 'cloudevents-binary'] as const) {
    test(`AMQP, ${format}: each message parsed by the SDK (cloudEvents_ properties as its binding headers)`, async () => {
      const channel = await rabbit.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      const target = open(
        createAmqp(
          `arn:minio:sqs:us-east-1:${format}:amqp`,
          targetConfig('amqp', { url: endpoints.amqp, routing_key: queue, format }),
        ),
      );
      await sendAll(target);
      const messages: amqplib.GetMessage[] = [];
      await waitFor(() => messages.length >= deliveries.length, 'AMQP messages', 10_000).catch(() => undefined);
      for (let n = 0; n < deliveries.length; n++) {
        const message = await channel.get(queue, { noAck: true });
        assert.ok(message, `message ${n}`);
        messages.push(message);
      }
      await channel.close();
      for (const [i, message] of messages.entries()) {
        const properties = (message.properties.headers ?? {}) as Record<string, unknown>;
        const cloudEventProperties = Object.keys(properties).filter((name) => name.startsWith('cloudEvents'));
        // The SDK has no AMQP binding: the AMQP binding's properties and content type become its HTTP headers.
        const headers: Headers = { 'content-type': message.properties.contentType };
        for (const name of cloudEventProperties)
          headers[`ce-${name.slice('cloudEvents_'.length)}`] = String(properties[name]);
        if (format === 'cloudevents') assert.deepEqual(cloudEventProperties, []);
        else
          assert.deepEqual(cloudEventProperties.sort(), [
            'cloudEvents_id',
            'cloudEvents_source',
            'cloudEvents_specversion',
            'cloudEvents_subject',
            'cloudEvents_time',
            'cloudEvents_type',
          ]);
        const event = HTTP.toEvent({ headers, body: message.content.toString() }) as CloudEvent;
        assertMatches(event, deliveries[i].record, keys[i]);
      }
    });

    test(`NATS, ${format}: each message parsed by the SDK (the NATS binding's headers)`, async () => {
      const subject = `ce.${format}.${suffix}`;
      const received: Msg[] = [];
      const subscription = nats.subscribe(subject, { callback: (_err, msg) => received.push(msg) });
      await nats.flush();
      const target = open(
        createNats(
          `arn:minio:sqs:us-east-1:${format}:nats`,
          targetConfig('nats', { address: endpoints.nats, subject, format }),
        ),
      );
      await sendAll(target);
      await waitFor(() => received.length >= deliveries.length, 'NATS messages');
      subscription.unsubscribe();
      for (const [i, msg] of received.entries()) {
        const headers: Headers = {};
        for (const [name, values] of msg.headers ?? []) headers[name.toLowerCase()] = values[0];
        if (format === 'cloudevents')
          assert.equal(headers['content-type'], 'application/cloudevents+json; charset=utf-8');
        else {
          assert.equal(headers['ce-datacontenttype'], 'application/json');
          // Header values percent-encoded, as the NATS binding asks.
          assert.equal(headers['ce-subject'], encodeURIComponent(keys[i]).replace(/%2F/g, '/'));
          headers['content-type'] = headers['ce-datacontenttype'];
        }
        assert.equal(headers['nats-msg-id'], deliveries[i].eventId);
        const event = HTTP.toEvent({ headers, body: msg.string() }) as CloudEvent;
        assertMatches(format === 'cloudevents' ? event : percentDecoded(event), deliveries[i].record, keys[i]);
      }
    });

    test(`MQTT 5, ${format}: each message parsed by the SDK's MQTT binding`, async () => {
      const topic = `ce/${format}/${suffix}`;
      const received: IPublishPacket[] = [];
      mqtt.on('message', (t, _payload, packet) => t === topic && received.push(packet));
      await mqtt.subscribeAsync(topic, { qos: 1 });
      const target = open(
        createMqtt(
          `arn:minio:sqs:us-east-1:${format}:mqtt`,
          targetConfig('mqtt', { broker: endpoints.mqtt, topic, qos: 1, format }),
        ),
      );
      await sendAll(target);
      await waitFor(() => received.length >= deliveries.length, 'MQTT messages');
      await mqtt.unsubscribeAsync(topic);
      for (const [i, packet] of received.entries()) {
        const userProperties = (packet.properties?.userProperties ?? {}) as Record<string, string>;
        // Binary: the attributes are the user properties (the event id is `id`); structured: the event id property.
        if (format === 'cloudevents-binary') {
          assert.deepEqual(Object.keys(userProperties).sort(), [
            'datacontenttype',
            'id',
            'source',
            'specversion',
            'subject',
            'time',
            'type',
          ]);
          assert.equal(packet.properties?.contentType, 'application/json');
        } else {
          assert.deepEqual({ ...userProperties }, { 'X-Bucketflow-Event-Id': deliveries[i].eventId });
          assert.equal(packet.properties?.contentType, 'application/cloudevents+json; charset=utf-8');
        }
        const event = MQTT.toEvent({
          PUBLISH: { 'Content Type': packet.properties?.contentType },
          headers: userProperties,
          body: packet.payload.toString(),
          payload: packet.payload.toString(),
          'User Properties': userProperties,
        } as never) as CloudEvent;
        assertMatches(event, deliveries[i].record, keys[i]);
      }
    });
  }
});
