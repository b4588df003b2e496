// The real worker process with the ingest in it (eager start, fast path) is SIGKILLed while deliveries
// are in flight: every accepted event still reaches every target, and the store targets hold each once.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent, eventIdentity, toEnvelope } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { spawnStartedWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { freePort } from '../helpers/target-config';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal', 'redis', 'postgres');

const bucket = uniqueBucket('killed');
const suffix = randomUUID().slice(0, 8);
const redisKey = `killed-${suffix}`;
const table = `killed_${suffix}`;
const [redisHost, redisPort] = endpoints.redis.split(':');
const redis = new Redis({ host: redisHost, port: Number(redisPort) });
const pg = new Pool({ connectionString: endpoints.postgres, max: 1 });
const EVENTS = 60;
let receiver: Receiver;
let engine: Engine;
let child: ChildProcess | undefined;

before(async () => {
  receiver = await Receiver.start([], 200, { delayMs: 150 }); // slow, so sends are in flight at the kill
  const arns = ['webhook', 'redis', 'postgresql'].map((type) => `arn:minio:sqs:us-east-1:1:${type}`);
  engine = await startEngine({
    notify: {
      webhook: { '1': { enable: true, endpoint: receiver.url } },
      redis: { '1': { enable: true, address: endpoints.redis, key: redisKey, format: 'access' } },
      postgresql: { '1': { enable: true, connection_string: endpoints.postgres, table, format: 'access' } },
    },
    rules: {
      [bucket]: arns.map((arn, i) => ({ id: String(i), arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' })),
    },
    workers: 0,
  });
});
after(async () => {
  child?.kill('SIGKILL');
  await engine.stop();
  await receiver.close();
  await redis.del(redisKey);
  redis.disconnect();
  await pg.query(`DROP TABLE IF EXISTS ${table}`);
  await pg.end();
});

function spawnWorkerWithIngest(port: number): Promise<ChildProcess> {
  return spawnStartedWorker(engine.settings, { BUCKETFLOW_INGEST: 'on', BUCKETFLOW_INGEST_PORT: String(port) });
}

test(
  'SIGKILL during fast-path deliveries: every accepted event reaches every target, store targets once',
  { timeout: 180_000 },
  async () => {
    const port = await freePort();
    child = await spawnWorkerWithIngest(port);
    const records: S3EventRecord[] = Array.from({ length: EVENTS }, (_, i) =>
      buildEvent({
        eventName: 's3:ObjectCreated:Put',
        bucket,
        key: `photos/${i}.jpg`,
        size: i + 1,
        sequencer: (0x17f0a1b2c3d40000n + BigInt(i)).toString(16).toUpperCase(),
      }),
    );

    // MinIO's side: post every event; one the ingest did not answer with 202 is posted again later.
    const posted = records.map(async (record) => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/minio/events`, {
          method: 'POST',
          body: JSON.stringify(toEnvelope(record)),
        });
        return response.status === 202;
      } catch {
        return false;
      }
    });
    await receiver.waitForRequests(5, 60_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    assert.ok(receiver.requests.length < EVENTS, 'the kill landed while deliveries were still in flight');

    const accepted = await Promise.all(posted);
    const unanswered = records.filter((_, i) => !accepted[i]);
    await engine.addWorker();
    if (unanswered.length > 0) await engine.plainClient.publish(unanswered); // MinIO's retry

    const results = await Promise.all(
      records.map((record) =>
        engine.client.temporal.workflow.getHandle(`bucketflow-${eventIdentity(record)}`).result(),
      ),
    );
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['delivered']));

    const ids = new Set(records.map(eventIdentity));
    const webhookIds = new Set(receiver.requests.map((r) => String(r.headers['x-bucketflow-event-id'])));
    assert.deepEqual(
      [...ids].filter((id) => !webhookIds.has(id)),
      [],
      'every event reached the webhook (at least once)',
    );

    const pushed = (await redis.lrange(redisKey, 0, -1)).map((item) => JSON.parse(item).Records[0] as S3EventRecord);
    assert.equal(pushed.length, EVENTS, 'Redis holds each event exactly once');
    assert.deepEqual(new Set(pushed.map(eventIdentity)), ids);

    const { rows } = await pg.query(`SELECT event_data FROM ${table}`);
    assert.equal(rows.length, EVENTS, 'PostgreSQL holds each event exactly once');
    assert.deepEqual(new Set(rows.map((r) => eventIdentity(r.event_data.Records[0]))), ids);
  },
);
