// Per-key order under a worker's SIGKILL: 20 objects x 50 alternating puts and deletes, posted 16 at a
// time through the real worker process's HTTP ingest, as MinIO's sender keeps one object's events in order (an
// event is posted once the object's previous one was answered 202; one not answered is posted again). A webhook
// and a Kafka target, both `order: key`; the worker is SIGKILLed mid-run and a new one started. Every object's
// events reach each target in sequencer order (a repeat of the event in flight at the kill allowed: at least
// once), none lost. Then the same through the high-volume mode's batches.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent, decodeObjectKey, eventIdentity, sequencerAt, toEnvelope } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { spawnStartedWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { freePort } from '../helpers/target-config';
import { needs } from '../helpers/needs';

const { after, test } = needs('temporal', 'kafka');

const KEYS = 20;
const PER_KEY = 50;
const SENDERS = 16;
const WEBHOOK_ARN = 'arn:minio:sqs:us-east-1:1:webhook';
const KAFKA_ARN = 'arn:minio:sqs:us-east-1:1:kafka';

const kafka = new Kafka({ clientId: 'bucketflow-key-order', brokers: [endpoints.kafka], logLevel: logLevel.NOTHING });
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

interface Setup {
  bucket: string;
  engine: Engine;
  webhook: Receiver;
  /** Event ids Kafka's consumer read, per message key (`<bucket>/<key>`), in partition order. */
  kafkaSeen: Map<string, string[]>;
  /** Each object's events in sequencer order (ids). */
  expected: Map<string, string[]>;
  records: S3EventRecord[];
}

async function setUp(name: string, batchEvents?: number): Promise<Setup> {
  const bucket = uniqueBucket(name);
  const topic = `key-order-${randomUUID().slice(0, 8)}`;
  const admin: Admin = kafka.admin();
  await admin.connect();
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
  const kafkaSeen = new Map<string, string[]>();
  const consumer: Consumer = kafka.consumer({ groupId: `key-order-${randomUUID()}` });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const object = String(message.key);
      kafkaSeen.set(object, [...(kafkaSeen.get(object) ?? []), String(message.headers?.[EVENT_ID_HEADER])]);
    },
  });
  const webhook = await Receiver.start([], 200, { delayMs: 15 }); // slow enough that sends are in flight at the kill
  cleanups.push(() => webhook.close());
  const engine = await startEngine({
    notify: {
      webhook: { '1': { enable: true, endpoint: webhook.url, order: 'key' } },
      kafka: { '1': { enable: true, brokers: [endpoints.kafka], topic, order: 'key' } },
    },
    rules: {
      [bucket]: [WEBHOOK_ARN, KAFKA_ARN].map((arn, i) => ({
        id: String(i),
        arn,
        events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
        prefix: '',
        suffix: '',
      })),
    },
    workers: 0,
    ...(batchEvents ? { batch: { maxEvents: batchEvents } } : {}),
  });
  cleanups.push(() => engine.stop());

  // The objects' events interleaved as a seeded shuffle would have them happen; sequencers rise with time.
  const base = BigInt(Date.now()) * 1_000_000n;
  const order = Array.from({ length: KEYS * PER_KEY }, (_, i) => i % KEYS);
  let seed = 27;
  for (let i = order.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const counts = new Array<number>(KEYS).fill(0);
  const expected = new Map<string, string[]>();
  const records = order.map((k, i) => {
    const n = counts[k]++;
    const key = `objects/${k}.bin`;
    const record = buildEvent({
      eventName: n % 2 === 0 ? 's3:ObjectCreated:Put' : 's3:ObjectRemoved:Delete',
      bucket,
      key,
      size: n + 1,
      sequencer: (base + BigInt(i)).toString(16).toUpperCase(),
    });
    const object = `${bucket}/${key}`;
    expected.set(object, [...(expected.get(object) ?? []), eventIdentity(record)]);
    return record;
  });
  assert.ok(sequencerAt(Date.now()).length === records[0].s3.object.sequencer.length);
  return { bucket, engine, webhook, kafkaSeen, expected, records };
}

async function startWorker(setup: Setup, port: number, batchEvents?: number): Promise<ChildProcess> {
  const worker = await spawnStartedWorker(setup.engine.settings, {
    BUCKETFLOW_INGEST: 'on',
    BUCKETFLOW_INGEST_PORT: String(port),
    ...(batchEvents ? { BUCKETFLOW_BATCH_MAX_EVENTS: String(batchEvents) } : {}),
  });
  cleanups.push(async () => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  });
  return worker;
}

/**
 * MinIO's sender: SENDERS POSTs at a time, one object's events in order (each posted once the previous one of its
 * object was answered 202; refused ones posted again every 200 ms). Resolves once all were accepted.
 */
async function postInOrder(port: number, records: S3EventRecord[], accepted: { count: number }): Promise<void> {
  const previous = new Map<string, Promise<void>>();
  const chained = records.map((record) => {
    const object = record.s3.object.key;
    const before = previous.get(object) ?? Promise.resolve();
    let done!: () => void;
    const own = new Promise<void>((resolve) => (done = resolve));
    previous.set(object, own);
    return { record, before, done };
  });
  const deadline = Date.now() + 180_000;
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < chained.length) {
        const { record, before, done } = chained[next++];
        await before;
        for (;;) {
          assert.ok(Date.now() < deadline, 'the ingest kept refusing');
          const ok = await fetch(`http://127.0.0.1:${port}/minio/events`, {
            method: 'POST',
            body: JSON.stringify(toEnvelope(record)),
          }).then(
            (response) => response.status === 202,
            () => false,
          );
          if (ok) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        accepted.count++;
        done();
      }
    }),
  );
}

/** The ids with repeats dropped (the first arrival of each kept), and how many repeats there were. */
function firstArrivals(ids: string[]): { order: string[]; repeats: number } {
  const seen = new Set<string>();
  const order = ids.filter((id) => !seen.has(id) && Boolean(seen.add(id)));
  return { order, repeats: ids.length - order.length };
}

function webhookArrivals(setup: Setup): Map<string, string[]> {
  const byObject = new Map<string, string[]>();
  for (const request of setup.webhook.requests) {
    const record = JSON.parse(request.body).Records[0] as S3EventRecord;
    const object = `${record.s3.bucket.name}/${decodeObjectKey(record.s3.object.key)}`;
    byObject.set(object, [...(byObject.get(object) ?? []), String(request.headers[EVENT_ID_HEADER.toLowerCase()])]);
  }
  return byObject;
}

/** Waits until both targets saw every event, then: per object, first arrivals in sequencer order, none missing. */
async function assertInSequencerOrder(setup: Setup): Promise<{ repeats: number }> {
  const total = KEYS * PER_KEY;
  const unique = (seen: Map<string, string[]>) => [...seen.values()].reduce((n, ids) => n + new Set(ids).size, 0);
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline && (unique(webhookArrivals(setup)) < total || unique(setup.kafkaSeen) < total))
    await new Promise((resolve) => setTimeout(resolve, 500));
  let repeats = 0;
  for (const [name, seen] of [
    ['webhook', webhookArrivals(setup)],
    ['kafka', setup.kafkaSeen],
  ] as const) {
    assert.equal(unique(seen), total, `${name}: every event arrived`);
    for (const [object, ids] of setup.expected) {
      const arrived = firstArrivals(seen.get(object) ?? []);
      repeats += arrived.repeats;
      assert.deepEqual(arrived.order, ids, `${name}: ${object}'s events in sequencer order`);
    }
  }
  return { repeats };
}

for (const mode of ['per-event', 'high-volume'] as const) {
  test(
    `${mode} mode, SIGKILL mid-run: each object's events reach the ordered webhook and Kafka in sequencer order`,
    { timeout: 420_000 },
    async () => {
      const batchEvents = mode === 'high-volume' ? 20 : undefined;
      const setup = await setUp(`ordered-${mode}`, batchEvents);
      const port = await freePort();
      const worker = await startWorker(setup, port, batchEvents);
      const accepted = { count: 0 };
      const posting = postInOrder(port, setup.records, accepted);
      const total = KEYS * PER_KEY;
      const deadline = Date.now() + 60_000;
      while ((accepted.count < total / 3 || setup.webhook.requests.length < 30) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      worker.kill('SIGKILL');
      await new Promise((resolve) => worker.once('exit', resolve));
      const atKill = { accepted: accepted.count, delivered: setup.webhook.requests.length };
      assert.ok(atKill.accepted < total, `the kill landed while events were still being posted (${atKill.accepted})`);
      assert.ok(atKill.delivered < total, 'the kill landed while deliveries were still in flight');
      await startWorker(setup, port, batchEvents);
      await posting;
      const { repeats } = await assertInSequencerOrder(setup);
      console.log(`${mode}: killed at ${atKill.accepted} accepted, ${atKill.delivered} delivered; repeats ${repeats}`);
    },
  );
}
