// The Kafka source against the stack's broker: records shaped as MinIO's Kafka target writes them (key
// `bucket/object`, the `{EventName, Key, Records}` envelope, an event written twice) and as Ceph RGW's
// `kafka://` endpoint writes them (`{"Records":[record]}`), plus poison records (one an event over the
// publisher's record size limit), consumed by the worker's source and delivered to a real webhook receiver:
// every event once, the poison skipped and counted, the partition not blocked, and the group's offsets
// committed past everything.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent, decodeObjectKey, eventIdentity, toEnvelope, type ParsedEvent } from '../../src/events';
import { startKafkaSource, type KafkaSource } from '../../src/sources/kafka';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { metrics } from '../../src/telemetry/metrics';
import { sourcePublisher } from '../../src/engine/publishers';
import { spawnWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';
import { createTopic } from '../../scripts/stack/kafka-topics';

const { after, before, test } = needs('temporal', 'kafka');

const kafka = new Kafka({ clientId: 'bucketflow-source-test', brokers: [endpoints.kafka], logLevel: logLevel.NOTHING });
const ARN = 'arn:minio:sqs:us-east-1:sink:webhook';
let admin: Admin;
let producer: Producer;
let receiver: Receiver;
let engine: Engine;
const topics: string[] = [];
const sources: KafkaSource[] = [];

before(async () => {
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
  receiver = await Receiver.start();
  engine = await startEngine({
    notify: { webhook: { sink: { enable: true, endpoint: receiver.url } } },
    rules: {},
  });
});

after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await producer?.disconnect();
  await admin?.deleteTopics({ topics }).catch(() => undefined);
  await admin?.disconnect();
  await engine?.stop();
  await receiver?.close();
});

async function freshTopic(partitions: number): Promise<string> {
  const topic = `bucketflow-source-${randomUUID()}`;
  await createTopic(admin, topic, partitions);
  topics.push(topic);
  return topic;
}

async function subscribe(bucket: string): Promise<void> {
  await engine.deps.state.put(bucket, [
    { id: '1', arn: ARN, events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], prefix: '', suffix: '' },
  ]);
}

function eventIdsAtReceiver(bucket: string): string[] {
  return receiver.requests
    .map((r) => JSON.parse(r.body) as { Records: Array<{ s3: { bucket: { name: string } } }> })
    .filter((body) => body.Records[0].s3.bucket.name === bucket)
    .map((body) => eventIdentity(body.Records[0] as never));
}

async function arrived(bucket: string, count: number, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (eventIdsAtReceiver(bucket).length < count && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  return eventIdsAtReceiver(bucket);
}

async function committedOffsets(topic: string, group: string): Promise<number> {
  const [{ partitions }] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

async function skippedCount(): Promise<number> {
  const value = (await metrics.sourceRecords.get()).values.find((v) => v.labels.outcome === 'skipped');
  return value?.value ?? 0;
}

test('MinIO-shaped records across partitions, one written twice: every event delivered, one delivery started per event, offsets committed', async () => {
  const bucket = uniqueBucket('kafka-minio');
  await subscribe(bucket);
  const topic = await freshTopic(3);
  const group = `bucketflow-${randomUUID()}`;
  const records = Array.from({ length: 120 }, (_, i) =>
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `photos/p ${i}.jpg`, size: 10 + i }),
  );
  const messages = records.map((record) => ({
    key: `${bucket}/${decodeObjectKey(record.s3.object.key)}`,
    value: JSON.stringify(toEnvelope(record)),
  }));
  // MinIO wrote 4 messages for 3 PUTs when tried from outside: a record written again must not deliver twice.
  messages.push(messages[7], messages[42]);
  await producer.send({ topic, messages });

  const started: string[] = [];
  const publish = async (events: ParsedEvent[]) => {
    for (const published of await engine.client.publishParsed(events))
      if (!published.duplicate) started.push(published.eventId);
  };
  sources.push(startKafkaSource({ brokers: [endpoints.kafka], topic, group }, publish));
  await sources.at(-1)!.consuming;
  // The webhook is at-least-once (a workflow task re-run on a loaded machine may send again): what must hold
  // is that every event arrived and that the records written twice started no second delivery.
  const expected = records.map(eventIdentity).sort();
  const deadlineArrived = Date.now() + 60_000;
  while (new Set(eventIdsAtReceiver(bucket)).size < expected.length && Date.now() < deadlineArrived)
    await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual([...new Set(eventIdsAtReceiver(bucket))].sort(), expected);
  assert.deepEqual(
    [...started].sort(),
    expected,
    'one delivery started per event: the records written twice were duplicates',
  );
  const deadline = Date.now() + 20_000;
  while ((await committedOffsets(topic, group)) < messages.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  assert.equal(await committedOffsets(topic, group), messages.length, 'every record committed, the duplicates too');
});

test('Ceph-shaped records with poison among them: the poison is skipped and counted, nothing behind it is blocked', async () => {
  const bucket = uniqueBucket('kafka-ceph');
  await subscribe(bucket);
  const topic = await freshTopic(1);
  const group = `bucketflow-${randomUUID()}`;
  const fixture = JSON.parse(
    readFileSync(path.join(__dirname, '..', 'fixtures', 'sources', 'ceph-notifications.json'), 'utf8'),
  ) as { Records: Array<Record<string, any>> };
  const cephRecords = Array.from({ length: 20 }, (_, i) => {
    const record = structuredClone(fixture.Records[0]);
    record.s3.bucket.name = bucket;
    record.s3.object.key = `docs/report-${i}.pdf`;
    record.s3.object.sequencer = (0x17e6d75dc742d108n + BigInt(i)).toString(16).toUpperCase();
    return record;
  });
  const before = await skippedCount();
  const poison = [
    { value: 'not json at all' },
    { value: JSON.stringify({ Records: [{ eventName: 's3:ObjectCreated:Put' }] }) }, // no s3 section
    { value: JSON.stringify({ hello: 'world' }) },
    { value: null },
    // An event too large for a workflow input: the publisher would refuse the whole fetch for it.
    {
      value: JSON.stringify(
        toEnvelope(
          buildEvent({
            eventName: 's3:ObjectCreated:Put',
            bucket,
            key: 'docs/huge.pdf',
            userMetadata: { padding: 'x'.repeat(300 * 1024) },
          }),
        ),
      ),
    },
  ];
  await producer.send({
    topic,
    messages: [
      poison[0],
      ...cephRecords.slice(0, 10).map((r) => ({ value: JSON.stringify({ Records: [r] }) })),
      poison[1],
      poison[2],
      poison[3],
      poison[4],
      ...cephRecords.slice(10).map((r) => ({ value: JSON.stringify({ Records: [r] }) })),
    ],
  });

  sources.push(
    startKafkaSource({ brokers: [endpoints.kafka], topic, group }, (events) => engine.client.publishParsed(events)),
  );
  await sources.at(-1)!.consuming;
  const ids = await arrived(bucket, cephRecords.length);
  assert.equal(new Set(ids).size, cephRecords.length, 'every Ceph event, those behind the poison too');
  const deadline = Date.now() + 20_000;
  while ((await committedOffsets(topic, group)) < cephRecords.length + poison.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  assert.equal(await committedOffsets(topic, group), cephRecords.length + poison.length);
  assert.equal((await skippedCount()) - before, poison.length);
  assert.equal(sources.at(-1)!.skipped, poison.length);
});

test('`npm run worker` with BUCKETFLOW_SOURCE_KAFKA_* consumes the topic, and stops consuming on SIGTERM', async () => {
  const bucket = uniqueBucket('kafka-worker');
  const topic = await freshTopic(2);
  const group = `bucketflow-${randomUUID()}`;
  const own = await startEngine({
    notify: { webhook: { sink: { enable: true, endpoint: receiver.url } } },
    rules: { [bucket]: [{ id: '1', arn: ARN, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
    workers: 0,
  });
  const worker = spawnWorker(own.settings, {
    BUCKETFLOW_SOURCE_KAFKA_BROKERS: endpoints.kafka,
    BUCKETFLOW_SOURCE_KAFKA_TOPIC: topic,
    BUCKETFLOW_SOURCE_KAFKA_GROUP: group,
  });
  let stderr = '';
  worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
  try {
    const records = Array.from({ length: 25 }, (_, i) =>
      buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `w/${i}.bin` }),
    );
    await producer.send({
      topic,
      messages: records.map((r) => ({
        key: `${bucket}/${decodeObjectKey(r.s3.object.key)}`,
        value: JSON.stringify(toEnvelope(r)),
      })),
    });
    const deadline = Date.now() + 90_000;
    while (new Set(eventIdsAtReceiver(bucket)).size < records.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual([...new Set(eventIdsAtReceiver(bucket))].sort(), records.map(eventIdentity).sort(), stderr);
    assert.match(stderr, /"message":"kafka source consuming"/);
    worker.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.equal(await committedOffsets(topic, group), records.length);
  } finally {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    await own.stop();
  }
});

test("a full worker makes the source's fetches wait, a fetch bigger than the bound goes in parts: deliveries in flight stay within the admission bound", async () => {
  const BOUND = 5;
  const SEND_MS = 1_000;
  const slow = await Receiver.start([], 200, { delayMs: SEND_MS });
  const bucket = uniqueBucket('kafka-bound');
  const own = await startEngine({
    notify: { webhook: { slow: { enable: true, endpoint: slow.url } } },
    rules: {
      [bucket]: [
        {
          id: '1',
          arn: 'arn:minio:sqs:us-east-1:slow:webhook',
          events: ['s3:ObjectCreated:*'],
          prefix: '',
          suffix: '',
        },
      ],
    },
    settings: { maxInFlightDeliveries: BOUND },
  });
  const topic = await freshTopic(1);
  const fetches: number[] = [];
  let waits = 0;
  // The worker's own publish for its source, watched: the size of each fetch and how often one waited for room.
  const publish = sourcePublisher(own.deps.admission, own.client);
  const source = startKafkaSource(
    { brokers: [endpoints.kafka], topic, group: `bucketflow-${randomUUID()}` },
    (events, waitForRoom) => {
      fetches.push(events.length);
      return publish(events, () => (waits++, waitForRoom()));
    },
  );
  try {
    await source.consuming;
    const records = Array.from({ length: 40 }, (_, i) =>
      buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `b/${i}.bin` }),
    );
    const write = (part: typeof records) =>
      producer.send({ topic, messages: part.map((r) => ({ value: JSON.stringify(toEnvelope(r)) })) });
    // Four writes of 5 while the worker is busy, then one of 20: a fetch bigger than the bound.
    for (let i = 0; i < 20; i += 5) {
      await write(records.slice(i, i + 5));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await write(records.slice(20));
    const deadline = Date.now() + 90_000;
    while (
      new Set(slow.requests.map((r) => r.headers[EVENT_ID_HEADER.toLowerCase()])).size < records.length &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(
      new Set(slow.requests.map((r) => r.headers[EVENT_ID_HEADER.toLowerCase()])).size,
      records.length,
      'every event arrived',
    );
    // A request is in flight from its arrival until its answer, SEND_MS later.
    const inFlight = slow.requests.map(
      (r) => slow.requests.filter((o) => o.receivedAt <= r.receivedAt && o.receivedAt > r.receivedAt - SEND_MS).length,
    );
    assert.ok(waits > 0, `no fetch waited for room (fetches ${fetches})`);
    assert.ok(Math.max(...fetches) > BOUND, `no fetch bigger than the bound (fetches ${fetches})`);
    assert.ok(
      Math.max(...inFlight) <= BOUND,
      `${Math.max(...inFlight)} deliveries in flight at once; bound ${BOUND}, fetches ${fetches}`,
    );
  } finally {
    await source.stop();
    await own.stop();
    await slow.close();
  }
});

test('records that made a parser throw, and a 1 MB poison record, are skipped and committed; the events behind them are delivered', async () => {
  const bucket = uniqueBucket('kafka-crashers');
  await subscribe(bucket);
  const topic = await freshTopic(1);
  const group = `bucketflow-${randomUUID()}`;
  const fixture = (name: string) =>
    JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'sources', name), 'utf8')) as Record<string, any>;
  const ceph = fixture('ceph-notifications.json');
  const cephRecords = Array.from({ length: 10 }, (_, i) => {
    const record = structuredClone(ceph.Records[0]);
    record.s3.bucket.name = bucket;
    record.s3.object.key = `after-poison/${i}.pdf`;
    record.s3.object.sequencer = (0x27e6d75dc742d108n + BigInt(i)).toString(16).toUpperCase();
    return record;
  });
  const crashers: unknown[] = [];
  const withCeph = (change: (record: Record<string, any>) => void) => {
    const record = structuredClone(cephRecords[0]);
    change(record);
    crashers.push({ Records: [record] });
  };
  withCeph((r) => (r.userIdentity.principalId = { toString: 1 })); // TypeError: Cannot convert object to primitive value
  withCeph((r) => (r.responseElements['x-amz-request-id'] = { toString: 1, valueOf: 1 }));
  withCeph((r) => (r.s3.object.key = 'docs/\ud800.pdf')); // URIError: URI malformed
  withCeph((r) => (r.eventName = 'constructor')); // TypeError: eventName.startsWith is not a function
  const eventBridge = fixture('eventbridge-object-created.json');
  crashers.push({ ...eventBridge, detail: { ...eventBridge.detail, reason: 'toString' } });
  // A megabyte (the broker's default largest message) of text that took the redaction of its skip line time
  // quadratic in its length (minutes), as its event name.
  const huge = toEnvelope(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'docs/huge.pdf' }));
  const hugeValue = JSON.stringify({ ...huge, Records: [{ ...huge.Records[0], eventName: 'a-?=('.repeat(199_800) }] });
  assert.ok(hugeValue.length > 999_000 && hugeValue.length < 1_000_000, String(hugeValue.length));
  const poison = [...crashers.map((body) => JSON.stringify(body)), hugeValue];
  const before = await skippedCount();
  for (const value of poison) await producer.send({ topic, messages: [{ value }] }); // one request each: the broker takes at most 1 MB at once
  await producer.send({
    topic,
    messages: cephRecords.map((record) => ({ value: JSON.stringify({ Records: [record] }) })),
  });

  sources.push(
    startKafkaSource({ brokers: [endpoints.kafka], topic, group }, (events) => engine.client.publishParsed(events)),
  );
  await sources.at(-1)!.consuming;
  const ids = await arrived(bucket, cephRecords.length);
  assert.equal(new Set(ids).size, cephRecords.length, 'every event behind the poison');
  const deadline = Date.now() + 20_000;
  while ((await committedOffsets(topic, group)) < poison.length + cephRecords.length && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  assert.equal(
    await committedOffsets(topic, group),
    poison.length + cephRecords.length,
    'the poison committed with the rest',
  );
  assert.equal((await skippedCount()) - before, poison.length);
  assert.equal(sources.at(-1)!.skipped, poison.length);
});
