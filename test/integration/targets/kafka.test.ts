// The Kafka target against the stack's broker (KRaft): what kafkacat of the guide would print.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type KafkaMessage } from 'kafkajs';
import { endpoints } from '../../../scripts/stack/endpoints';
import { EVENT_ID_HEADER } from '../../../src/targets/common';
import { create } from '../../../src/targets/kafka';
import type { Target } from '../../../src/targets/target';
import { deliveryOf, putAndDelete } from '../../helpers/records';
import { assertConfigErrors, assertRetryable, freePort, targetConfig } from '../../helpers/target-config';
import { assertAllDelivered, assertEachOnce, distinctPuts, oneObjectShuffled } from '../../helpers/batch';
import { needs } from '../../helpers/needs';
import { createTopic } from '../../../scripts/stack/kafka-topics';

const { after, before, test } = needs('kafka');

const ARN = 'arn:minio:sqs:us-east-1:1:kafka';
const client = new Kafka({ clientId: 'bucketflow-test', brokers: [endpoints.kafka], logLevel: logLevel.NOTHING });
const opened: Target[] = [];
const topics: string[] = [];
let admin: Admin;

before(async () => {
  admin = client.admin();
  await admin.connect();
});

after(async () => {
  await Promise.all(opened.map((t) => t.close()));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
});

function kafka(raw: Record<string, unknown>): Target {
  const target = create(ARN, targetConfig('kafka', { brokers: [endpoints.kafka], ...raw }));
  opened.push(target);
  return target;
}

async function freshTopic(): Promise<string> {
  const topic = `bucketevents-${randomUUID()}`;
  await createTopic(admin, topic, 1);
  topics.push(topic);
  return topic;
}

/** Like `kafkacat -C -t <topic>`: every message from the beginning. */
async function readAll(topic: string, count: number): Promise<KafkaMessage[]> {
  const consumer = client.consumer({ groupId: `bucketflow-test-${randomUUID()}` });
  const messages: KafkaMessage[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${count} messages, got ${messages.length}`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          messages.push(message);
          if (messages.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

test('put and delete land in the topic as the guide shows: key <bucket>/<key>, envelope value, event id header', async () => {
  const topic = await freshTopic();
  const target = kafka({ topic });
  const [put, del] = putAndDelete();
  await target.send(put);
  await target.send(del);

  const messages = await readAll(topic, 2);
  for (const [i, sent] of [put, del].entries()) {
    assert.equal(messages[i].key?.toString(), 'images/myphoto.jpg');
    assert.deepEqual(JSON.parse(messages[i].value!.toString()), sent.envelope);
    assert.equal(messages[i].headers?.[EVENT_ID_HEADER]?.toString(), sent.eventId);
  }
});

test('the same event sent twice carries the same event id header, so consumers can dedupe', async () => {
  const topic = await freshTopic();
  const target = kafka({ topic, compression_codec: 'gzip' });
  const event = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'dir/a b.jpg' });
  await target.send(event);
  await target.send(event);
  const messages = await readAll(topic, 2);
  assert.deepEqual(
    messages.map((m) => m.headers?.[EVENT_ID_HEADER]?.toString()),
    [event.eventId, event.eventId],
  );
  assert.equal(messages[0].key?.toString(), 'images/dir/a b.jpg');
});

test("sendBatch: 200 events in one producer send land each once, one object's in sequencer order", async () => {
  const topic = await freshTopic();
  const target = kafka({ topic });
  const { batch: hot, inOrder } = oneObjectShuffled();
  const batch = [...distinctPuts(200), ...hot];
  assertAllDelivered(await target.sendBatch(batch), batch.length);
  const messages = await readAll(topic, 200 + inOrder.length);
  const ids = messages.map((m) => m.headers?.[EVENT_ID_HEADER]?.toString());
  const expected = [...batch.slice(0, 200), ...inOrder];
  assertEachOnce(ids, expected);
  assert.deepEqual(
    ids.filter((id) => inOrder.some((d) => d.eventId === id)),
    inOrder.map((d) => d.eventId),
  );
  for (const [n, message] of messages.entries()) {
    const sent = expected.find((d) => d.eventId === ids[n])!;
    assert.equal(message.key?.toString(), sent.envelope.Key);
    assert.deepEqual(JSON.parse(message.value!.toString()), sent.envelope);
  }
});

test("sendBatch: a batch past the broker's 1 MB record batch limit (2.3 MB) is split into several sends, each event once", async () => {
  const topic = await freshTopic();
  const target = kafka({ topic });
  const batch = distinctPuts(200, 'images', { userMetadata: { 'X-Amz-Meta-Note': 'n'.repeat(10_000) } });
  assertAllDelivered(await target.sendBatch(batch), 200);
  assertEachOnce(
    (await readAll(topic, 200)).map((m) => m.headers?.[EVENT_ID_HEADER]?.toString()),
    batch,
  );
});

test('bad config is refused, naming the ARN and the field', () => {
  const valid = { brokers: [endpoints.kafka], topic: 'bucketevents' };
  assertConfigErrors(ARN, create, valid, [
    [{ compression_codec: 'snappy' }, /compression_codec: "snappy" is not supported/],
    [{ sasl: true }, /sasl_username: required with sasl/],
    [{ brokers: [] }, /brokers: required/],
    [
      { tls: true, client_tls_cert: '/nonexistent/c.pem', client_tls_key: '/nonexistent/k.pem' },
      /client_tls_cert: cannot read/,
    ],
  ]);
});

test('health: online against the broker, offline with a reason where nothing listens', async () => {
  assert.deepEqual(await kafka({ topic: 'bucketevents' }).health(), { online: true });
  const down = kafka({ brokers: [`127.0.0.1:${await freePort()}`], topic: 'bucketevents' });
  const offline = await down.health();
  assert.equal(offline.online, false);
  assert.match(offline.detail ?? '', /ECONNREFUSED/);
  // The producer's own bounded retries run first (seconds), then the activity's backoff takes over.
  await assertRetryable(
    down.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })),
    /ECONNREFUSED/,
  );
});
