// The high-volume mode under faults, as MinIO would drive it (POSTs 16 at a time; one not answered 202 is
// posted again): the real worker process with its ingest and BUCKETFLOW_BATCH_MAX_EVENTS > 1 is SIGKILLed
// mid-batch; Temporal becomes unreachable behind a loopback proxy; one target is down while batches run.
// Every event reaches every target, the store targets (Redis, PostgreSQL) hold each exactly once, and a
// healthy target is not sent a batch's events again because another target failed.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent, eventIdentity, toEnvelope } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { spawnStartedWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { freePort } from '../helpers/target-config';
import { TcpProxy } from '../helpers/tcp-proxy';
import { needs } from '../helpers/needs';

const { after, test } = needs('temporal', 'redis', 'postgres');

const EVENTS = 120;
const SENDERS = 16;
const suffix = randomUUID().slice(0, 8);
const [redisHost, redisPort] = endpoints.redis.split(':');
const redis = new Redis({ host: redisHost, port: Number(redisPort) });
const pg = new Pool({ connectionString: endpoints.postgres, max: 1 });
const cleanups: Array<() => Promise<unknown>> = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  redis.disconnect();
  await pg.end();
});

interface Setup {
  bucket: string;
  engine: Engine;
  webhook: Receiver;
  redisKey: string;
  table: string;
  records: S3EventRecord[];
}

/** An engine (no in-process worker yet) whose bucket goes to a webhook, Redis and PostgreSQL, and the events to post.
 * */
async function setUp(
  name: string,
  webhook: Receiver,
  extraNotify: Record<string, unknown> = {},
  extraArns: string[] = [],
): Promise<Setup> {
  const bucket = uniqueBucket(name);
  const redisKey = `${name}-${suffix}`;
  const table = `${name.replace(/-/g, '_')}_${suffix}`;
  const arns = ['webhook:1', 'redis:1', 'postgresql:1', ...extraArns].map(
    (t) => `arn:minio:sqs:us-east-1:${t.split(':')[1]}:${t.split(':')[0]}`,
  );
  const engine = await startEngine({
    notify: {
      webhook: {
        '1': {
          enable: true,
          endpoint: webhook.url,
          fast_retry_interval: '100ms',
          retry_initial_interval: '200ms',
          retry_max_interval: '1s',
        },
        ...extraNotify,
      },
      redis: { '1': { enable: true, address: endpoints.redis, key: redisKey, format: 'access' } },
      postgresql: { '1': { enable: true, connection_string: endpoints.postgres, table, format: 'access' } },
    },
    rules: {
      [bucket]: arns.map((arn, i) => ({ id: String(i), arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' })),
    },
    workers: 0,
    batch: { maxEvents: 20 },
  });
  cleanups.push(
    () => engine.stop(),
    () => redis.del(redisKey),
    () => pg.query(`DROP TABLE IF EXISTS ${table}`),
    () => webhook.close(),
  );
  const records = Array.from({ length: EVENTS }, (_, i) =>
    buildEvent({
      eventName: 's3:ObjectCreated:Put',
      bucket,
      key: `objects/${i}.bin`,
      size: i + 1,
      sequencer: (0x17f0a1b2c3d40000n + BigInt(i)).toString(16).toUpperCase(),
    }),
  );
  return { bucket, engine, webhook, redisKey, table, records };
}

async function startWorker(
  setup: Setup,
  port: number,
  env: NodeJS.ProcessEnv = {},
  temporalAddress?: string,
): Promise<ChildProcess> {
  const settings = temporalAddress ? { ...setup.engine.settings, temporalAddress } : setup.engine.settings;
  const worker = await spawnStartedWorker(settings, {
    BUCKETFLOW_INGEST: 'on',
    BUCKETFLOW_INGEST_PORT: String(port),
    BUCKETFLOW_BATCH_MAX_EVENTS: '20',
    ...env,
  });
  cleanups.push(async () => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  });
  return worker;
}

/** MinIO's sender: SENDERS POSTs at a time; resolves with the records not answered 202 (to be posted again). */
async function post(port: number, records: S3EventRecord[]): Promise<S3EventRecord[]> {
  const refused: S3EventRecord[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < records.length) {
        const record = records[next++];
        try {
          const response = await fetch(`http://127.0.0.1:${port}/minio/events`, {
            method: 'POST',
            body: JSON.stringify(toEnvelope(record)),
          });
          if (response.status !== 202) refused.push(record);
        } catch {
          refused.push(record);
        }
      }
    }),
  );
  return refused;
}

/** Posts until every record was answered 202, as MinIO with queue_dir keeps retrying. */
async function postUntilAccepted(port: number, records: S3EventRecord[], deadlineMs = 120_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let pending = records;
  while (pending.length > 0) {
    assert.ok(Date.now() < deadline, `${pending.length} events still refused`);
    pending = await post(port, pending);
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 500));
  }
}

function webhookIds(receiver: Receiver): string[] {
  return receiver.requests
    .filter((r) => r.headers[EVENT_ID_HEADER.toLowerCase()])
    .map((r) => String(r.headers[EVENT_ID_HEADER.toLowerCase()]));
}

/** Waits until the webhook saw every event and both stores hold them; then checks the stores hold each once. */
async function assertEveryEventEverywhere(setup: Setup, receivers: Receiver[] = [setup.webhook]): Promise<void> {
  const ids = new Set(setup.records.map(eventIdentity));
  const deadline = Date.now() + 150_000;
  const missing = async () => {
    const atWebhooks = receivers.map((r) => new Set(webhookIds(r)));
    const pushed = await redis.llen(setup.redisKey);
    const { rows } = await pg
      .query(`SELECT count(*)::int AS n FROM ${setup.table}`)
      .catch(() => ({ rows: [{ n: 0 }] }));
    return {
      webhooks: atWebhooks.map((seen) => [...ids].filter((id) => !seen.has(id)).length),
      redis: EVENTS - pushed,
      pg: EVENTS - rows[0].n,
    };
  };
  let state = await missing();
  while ((state.webhooks.some((n) => n > 0) || state.redis > 0 || state.pg > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    state = await missing();
  }
  assert.deepEqual(state, { webhooks: receivers.map(() => 0), redis: 0, pg: 0 }, 'every event at every target');
  const pushed = (await redis.lrange(setup.redisKey, 0, -1)).map((item) => eventIdentity(JSON.parse(item).Records[0]));
  assert.equal(pushed.length, EVENTS, 'Redis holds each event exactly once');
  assert.deepEqual(new Set(pushed), ids);
  const { rows } = await pg.query(`SELECT event_data FROM ${setup.table}`);
  assert.equal(rows.length, EVENTS, 'PostgreSQL holds each event exactly once');
  assert.deepEqual(new Set(rows.map((r) => eventIdentity(r.event_data.Records[0]))), ids);
}

test(
  'SIGKILL mid-batch: every accepted event reaches every target, the stores hold each once',
  { timeout: 300_000 },
  async () => {
    const setup = await setUp('batch-killed', await Receiver.start([], 200, { delayMs: 150 }));
    const port = await freePort();
    const worker = await startWorker(setup, port);
    const posting = post(port, setup.records);
    await setup.webhook.waitForRequests(5, 60_000);
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    assert.ok(webhookIds(setup.webhook).length < EVENTS, 'the kill landed while batches were still in flight');
    const refused = await posting;

    // Another worker takes over the batches the killed one held; MinIO posts again what was not accepted.
    const port2 = await freePort();
    await startWorker(setup, port2);
    await postUntilAccepted(port2, refused);
    await assertEveryEventEverywhere(setup);
  },
);

test(
  'Temporal unreachable mid-stream: refused POSTs are posted again, nothing lost, the stores hold each once',
  { timeout: 300_000 },
  async () => {
    const setup = await setUp('batch-outage', await Receiver.start());
    const [host, temporalPort] = endpoints.temporal.split(':');
    const proxy = await TcpProxy.start({ host, port: Number(temporalPort) });
    cleanups.push(() => proxy.down());
    const port = await freePort();
    await startWorker(setup, port, {}, proxy.address);
    const first = post(port, setup.records.slice(0, EVENTS / 2));
    await setup.webhook.waitForRequests(5, 60_000);
    await proxy.down();
    const during = await post(port, setup.records.slice(EVENTS / 2));
    assert.ok(during.length > 0, 'POSTs during the outage were refused (503), not accepted');
    await new Promise((r) => setTimeout(r, 5_000));
    await proxy.up();
    await postUntilAccepted(port, [...(await first), ...during]);
    await assertEveryEventEverywhere(setup);
  },
);

test(
  'one target down while batches run: its events continue per event and arrive; the healthy webhook gets each event once',
  { timeout: 300_000 },
  async () => {
    // The second webhook answers 503 (down) until every event was accepted, so every batch fails there; then 200.
    let isDown = true;
    const down = await Receiver.start([], 200, { answer: () => (isDown ? 503 : undefined) });
    const healthy = await Receiver.start();
    const setup = await setUp(
      'batch-down',
      healthy,
      {
        '2': {
          enable: true,
          endpoint: down.url,
          fast_retry_interval: '100ms',
          retry_initial_interval: '200ms',
          retry_max_interval: '1s',
        },
      },
      ['webhook:2'],
    );
    cleanups.push(() => down.close());
    const port = await freePort();
    await startWorker(setup, port);
    await postUntilAccepted(port, setup.records);
    await new Promise((r) => setTimeout(r, 1_000));
    isDown = false;
    await assertEveryEventEverywhere(setup, [healthy, down]);
    const counts = new Map<string, number>();
    for (const id of webhookIds(healthy)) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.deepEqual(
      [...counts.values()].filter((n) => n > 1),
      [],
      'no healthy event sent again because another target failed',
    );
  },
);
