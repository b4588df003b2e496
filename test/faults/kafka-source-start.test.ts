// The Kafka source as users meet it, in `npm run worker` processes on the stack's broker: started before its topic
// exists (the normal order when MinIO's or Ceph's Kafka target creates the topic on its first send) it waits with
// one INFO line while the worker runs its workflows, then consumes once the topic appears; SIGTERM ends a worker
// still waiting; a setting Kafka refuses stops the worker with that error; and brokers that do not answer, at start
// and for 20 s while consuming (a loopback proxy cut in front of the broker, which every other test shares), are
// one WARN line and one INFO each, never ERROR, with every event delivered.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent, decodeObjectKey, eventIdentity, toEnvelope, type S3EventRecord } from '../../src/events';
import { oneWebhook, spawnWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { startKafkaProxy } from '../helpers/kafka-proxy';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';
import { createTopic } from '../../scripts/stack/kafka-topics';

const { after, before, test } = needs('temporal', 'kafka');

const kafka = new Kafka({
  clientId: 'bucketflow-source-start-test',
  brokers: [endpoints.kafka],
  logLevel: logLevel.NOTHING,
});
let admin: Admin;
let producer: Producer;
let receiver: Receiver;
const topics: string[] = [];

before(async () => {
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer();
  await producer.connect();
  receiver = await Receiver.start();
});

after(async () => {
  await producer?.disconnect();
  await admin?.deleteTopics({ topics }).catch(() => undefined);
  await admin?.disconnect();
  await receiver?.close();
});

/** A topic name nobody created (yet); deleted after the tests if it was. */
function newTopicName(): string {
  const topic = `bucketflow-start-${randomUUID()}`;
  topics.push(topic);
  return topic;
}

/** The worker's log lines (JSON, one per line) as they come. */
class WorkerLog {
  readonly lines: Array<{ level: string; message: string; [field: string]: unknown }> = [];
  private partial = '';
  constructor(readonly worker: ChildProcess) {
    worker.stderr!.on('data', (chunk: Buffer) => {
      const text = this.partial + chunk.toString();
      const complete = text.split('\n');
      this.partial = complete.pop()!;
      for (const line of complete.filter(Boolean)) {
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          this.lines.push({ level: 'TEXT', message: line });
        }
      }
    });
  }
  named(message: string) {
    return this.lines.filter((line) => line.message === message);
  }
  async until(message: string, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.named(message).length === 0) {
      if (Date.now() > deadline) throw new Error(`no "${message}" line in ${timeoutMs} ms:\n${this.text()}`);
      if (this.worker.exitCode !== null)
        throw new Error(`worker exited (${this.worker.exitCode}) before "${message}":\n${this.text()}`);
      await sleep(100);
    }
    return this.named(message)[0];
  }
  text(from = 0): string {
    return this.lines
      .slice(from)
      .map((line) => JSON.stringify(line))
      .join('\n');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `npm run worker` on these settings, its log read from its first line, once it says it started. */
async function startedWorker(
  settings: Engine['settings'],
  env: NodeJS.ProcessEnv,
): Promise<{ worker: ChildProcess; logged: WorkerLog }> {
  const worker = spawnWorker(settings, env);
  const logged = new WorkerLog(worker);
  try {
    await logged.until('worker started');
  } catch (err) {
    worker.kill('SIGKILL');
    throw err;
  }
  return { worker, logged };
}

function exitOf(worker: ChildProcess): Promise<number | null> {
  return worker.exitCode !== null
    ? Promise.resolve(worker.exitCode)
    : new Promise((resolve) => worker.once('exit', resolve));
}

async function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function deliveredIds(bucket: string): Set<string> {
  return new Set(
    receiver.requests
      .map((r) => JSON.parse(r.body) as { Records: S3EventRecord[] })
      .filter((body) => body.Records[0].s3.bucket.name === bucket)
      .map((body) => eventIdentity(body.Records[0])),
  );
}

async function delivered(bucket: string, records: S3EventRecord[], timeoutMs = 90_000): Promise<void> {
  const expected = records.map(eventIdentity);
  const deadline = Date.now() + timeoutMs;
  while (!expected.every((id) => deliveredIds(bucket).has(id)) && Date.now() < deadline) await sleep(200);
  assert.deepEqual(
    expected.filter((id) => !deliveredIds(bucket).has(id)),
    [],
    'every event delivered',
  );
}

function records(bucket: string, prefix: string, count: number): S3EventRecord[] {
  return Array.from({ length: count }, (_, i) =>
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `${prefix}/${i}.bin` }),
  );
}

async function write(topic: string, events: S3EventRecord[]): Promise<void> {
  await producer.send({
    topic,
    messages: events.map((r) => ({
      key: `${r.s3.bucket.name}/${decodeObjectKey(r.s3.object.key)}`,
      value: JSON.stringify(toEnvelope(r)),
    })),
  });
}

function kafkaEnv(topic: string, brokers = endpoints.kafka): NodeJS.ProcessEnv {
  return {
    BUCKETFLOW_SOURCE_KAFKA_BROKERS: brokers,
    BUCKETFLOW_SOURCE_KAFKA_TOPIC: topic,
    BUCKETFLOW_SOURCE_KAFKA_GROUP: `bucketflow-${randomUUID()}`,
  };
}

/** An engine polling nothing (the spawned worker does), for its settings, targets config, rules and plain client. */
function engineFor(bucket: string): Promise<Engine> {
  return startEngine({ ...oneWebhook(receiver.url, bucket), workers: 0 });
}

test('a worker started before its topic exists runs its workflows, waits with one INFO line, and consumes every record once the topic is created', async () => {
  const bucket = uniqueBucket('kafka-late-topic');
  const topic = newTopicName();
  const own = await engineFor(bucket);
  let worker: ChildProcess | undefined;
  try {
    // startEngine does not wait for the topic: the worker says it started (within `until`'s 60 s).
    const started = await startedWorker(own.settings, kafkaEnv(topic));
    worker = started.worker;
    const logged = started.logged;
    const waiting = await logged.until('kafka source waiting for its topic to be created');
    assert.equal(waiting.level, 'INFO');
    assert.equal(waiting.topic, topic);

    // Meanwhile the worker delivers what reaches it another way.
    const [direct] = records(bucket, 'direct', 1);
    await own.plainClient.publish(direct);
    await delivered(bucket, [direct], 60_000);
    assert.equal(logged.named('kafka source consuming').length, 0, 'not consuming a topic that does not exist');

    // The storage server's Kafka target creates the topic (the source never did: creating it here succeeds).
    await sleep(3_000); // a few of the source's polls, so a source that created the topic itself is caught here
    assert.equal(await createTopic(admin, topic, 2), true, 'the source created the topic itself');
    const events = records(bucket, 'late', 30);
    await write(topic, events);
    await delivered(bucket, events);
    const consuming = await logged.until('kafka source consuming');
    assert.equal(consuming.level, 'INFO');
    assert.equal(typeof consuming.waitedForTopicSeconds, 'number');
    assert.equal(
      logged.named('kafka source waiting for its topic to be created').length,
      1,
      'one INFO line while waiting',
    );
    worker.kill('SIGTERM');
    assert.equal(await withinMs(exitOf(worker), 60_000, 'exit after SIGTERM'), 0, logged.text());
    assert.deepEqual(
      logged.lines.filter((line) => line.level === 'ERROR'),
      [],
      'no ERROR line',
    );
  } finally {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await own.stop();
  }
});

test('SIGTERM while the source waits for its topic: the worker stops at once, exit 0', async () => {
  const bucket = uniqueBucket('kafka-wait-stop');
  const own = await engineFor(bucket);
  let worker: ChildProcess | undefined;
  try {
    const started = await startedWorker(own.settings, kafkaEnv(newTopicName()));
    worker = started.worker;
    const logged = started.logged;
    await logged.until('kafka source waiting for its topic to be created');
    worker.kill('SIGTERM');
    assert.equal(await withinMs(exitOf(worker), 15_000, 'exit after SIGTERM'), 0, logged.text());
    assert.equal(logged.named('worker stopped').length, 1, logged.text());
  } finally {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await own.stop();
  }
});

test('a topic name Kafka refuses stops the worker with that error, naming the setting (exit 2)', async () => {
  const own = await engineFor(uniqueBucket('kafka-bad-topic'));
  const worker = spawnWorker(own.settings, kafkaEnv('not a valid topic!'));
  const logged = new WorkerLog(worker);
  try {
    const code = await withinMs(exitOf(worker), 60_000, 'exit');
    const failed = logged.named('worker failed');
    assert.equal(failed.length, 1, logged.text());
    assert.match(
      String(failed[0].error),
      /^BUCKETFLOW_SOURCE_KAFKA_TOPIC: Kafka refused it: .*invalid topic.* \(INVALID_TOPIC_EXCEPTION\); topic "not a valid topic!"/,
      logged.text(),
    );
    assert.doesNotMatch(logged.text(), /Cannot close connection|Response Metadata/, 'the error is reported as itself');
    assert.equal(code, 2, logged.text());
  } finally {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    await own.stop();
  }
});

test('brokers unreachable at start, then a 20 s Kafka outage while consuming: one WARN and one INFO each, no ERROR, every event delivered', async () => {
  const bucket = uniqueBucket('kafka-outage');
  const topic = newTopicName();
  await createTopic(admin, topic, 2);
  const proxy = await startKafkaProxy(endpoints.kafka);
  const own = await engineFor(bucket);
  let worker: ChildProcess | undefined;
  try {
    // At start: no broker answers for 8 s.
    await proxy.down();
    const started = await startedWorker(own.settings, kafkaEnv(topic, proxy.address));
    worker = started.worker;
    const logged = started.logged;
    const unreachable = await logged.until('Kafka unreachable');
    assert.equal(unreachable.level, 'WARN');
    await sleep(8_000);
    await proxy.up();
    await logged.until('kafka source consuming');
    assert.equal(logged.named('Kafka reachable again').length, 1, logged.text());
    const first = records(bucket, 'before', 10);
    await write(topic, first);
    await delivered(bucket, first);
    const kafkaLines = logged.lines.filter((line) => /kafka/i.test(line.message)).length;
    assert.ok(kafkaLines <= 5, `the start outage wrote ${kafkaLines} Kafka lines:\n${logged.text()}`);

    // While consuming: 20 s without Kafka, records written meanwhile (straight to the broker).
    const cutAt = logged.lines.length;
    await proxy.down();
    await sleep(5_000);
    const during = records(bucket, 'during', 10);
    await write(topic, during);
    await sleep(15_000);
    await proxy.up();
    const behind = records(bucket, 'after', 10);
    await write(topic, behind);
    await delivered(bucket, [...during, ...behind], 120_000);
    await sleep(5_000); // lines the recovery writes late
    const outageLines = logged.lines.slice(cutAt);
    assert.ok(outageLines.length <= 5, `a 20 s outage wrote ${outageLines.length} lines:\n${logged.text(cutAt)}`);
    assert.equal(
      outageLines.filter((line) => line.message === 'Kafka unreachable' && line.level === 'WARN').length,
      1,
      logged.text(cutAt),
    );
    assert.equal(
      outageLines.filter((line) => line.message === 'Kafka reachable again' && line.level === 'INFO').length,
      1,
      logged.text(cutAt),
    );
    assert.deepEqual(
      logged.lines.filter((line) => line.level === 'ERROR'),
      [],
      'no ERROR line',
    );
    worker.kill('SIGTERM');
    assert.equal(await withinMs(exitOf(worker), 60_000, 'exit after SIGTERM'), 0, logged.text());
  } finally {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await proxy.down();
    await own.stop();
  }
});
