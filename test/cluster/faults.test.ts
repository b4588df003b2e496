// Faults inside a real Temporal cluster (npm run test:cluster): a stream of events is published while the
// history service is SIGKILLed and held down, while the frontend restarts, and while one of two bucketflow
// worker processes is SIGKILLed. The publisher retries a refused start as MinIO's queue does (the workflow id
// is the event's identity, so a retried start is never a second delivery). Afterwards every event has been
// delivered, the PostgreSQL store target holds each event once, and the duplicates the webhook (a message
// target: at least once) received are counted and reported.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { endpoints } from '../../scripts/stack/endpoints';
import type { BucketflowClient } from '../../src/publish/publisher';
import { buildEvent } from '../../src/events';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { killRole, release, requireCluster, waitForCluster } from '../helpers/cluster';
import { spawnWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';

const EVENTS = Number(process.env.BUCKETFLOW_CLUSTER_FAULT_EVENTS || 150);
const PER_SECOND = 10; // a steady stream: the fault lands in the middle of it
const FAULT_AFTER_MS = 4_000;
const DELIVERED_WITHIN_MS = 180_000;
const webhookArn = 'arn:minio:sqs:us-east-1:1:webhook';
const postgresArn = 'arn:minio:sqs:us-east-1:1:postgresql';
const pg = new Pool({ connectionString: endpoints.postgres, max: 2 });
const tables: string[] = [];

before(() => requireCluster('elasticsearch'));
after(async () => {
  for (const role of ['history', 'frontend'] as const) release(role);
  for (const table of tables) await pg.query(`DROP TABLE IF EXISTS ${table}, ${table}_bucketflow_ids`);
  await pg.end();
});

interface Run {
  engine: Engine;
  receiver: Receiver;
  bucket: string;
  table: string;
}

async function setUp(workers: number): Promise<Run> {
  const receiver = await Receiver.start();
  const bucket = uniqueBucket('fault');
  const table = `cluster_fault_${randomUUID().slice(0, 8)}`;
  tables.push(table);
  const durable = { retry_initial_interval: '500ms', retry_max_interval: '2s' };
  const events = ['s3:ObjectCreated:*'];
  const engine = await startEngine({
    notify: {
      webhook: { '1': { enable: true, endpoint: receiver.url, ...durable } },
      postgresql: { '1': { enable: true, connectionString: endpoints.postgres, table, format: 'access', ...durable } },
    },
    rules: {
      [bucket]: [
        { id: '1', arn: webhookArn, events, prefix: '', suffix: '' },
        { id: '2', arn: postgresArn, events, prefix: '', suffix: '' },
      ],
    },
    workers,
  });
  return { engine, receiver, bucket, table };
}

interface Stream {
  workflowIds: string[];
  eventIds: Set<string>;
  /** Starts the cluster refused (each retried until accepted). */
  refused: number;
  /** When each event was first offered to the cluster, by event id. */
  offeredAt: Map<string, number>;
}

/** Publishes EVENTS events at PER_SECOND, each retried every 500 ms until the cluster accepts its start. */
async function stream(publisher: BucketflowClient, bucket: string): Promise<Stream> {
  const result: Stream = { workflowIds: [], eventIds: new Set(), refused: 0, offeredAt: new Map() };
  const began = Date.now();
  await Promise.all(
    Array.from({ length: EVENTS }, async (_, i) => {
      await sleep(began + (i * 1000) / PER_SECOND - Date.now());
      const offeredAt = Date.now();
      const record = buildEvent({
        eventName: 's3:ObjectCreated:Put',
        bucket,
        key: `stream/${i}.bin`,
        size: i,
        sequencer: (0x17f0000000000000n + BigInt(i)).toString(16).toUpperCase(),
      });
      for (;;) {
        try {
          const [published] = await publisher.publish(record);
          result.workflowIds[i] = published.workflowId;
          result.eventIds.add(published.eventId);
          result.offeredAt.set(published.eventId, offeredAt);
          return;
        } catch {
          result.refused++;
          if (Date.now() - began > DELIVERED_WITHIN_MS)
            throw new Error(`event ${i}: the cluster refused its start for ${DELIVERED_WITHIN_MS} ms`);
          await sleep(500);
        }
      }
    }),
  );
  return result;
}

async function storedRows(table: string): Promise<{ rows: number; ids: number }> {
  try {
    const { rows } = await pg.query<{ rows: string; ids: string }>(
      `SELECT (SELECT count(*) FROM ${table}) AS rows, (SELECT count(*) FROM ${table}_bucketflow_ids) AS ids`,
    );
    return { rows: Number(rows[0].rows), ids: Number(rows[0].ids) };
  } catch {
    return { rows: 0, ids: 0 }; // the target has not created its tables yet
  }
}

/** Waits until both targets hold every event, then checks each delivery's outcome and reports the duplicates. */
async function assertEveryEventDelivered(t: TestContext, run: Run, published: Stream, what: string): Promise<void> {
  const deadline = Date.now() + DELIVERED_WITHIN_MS;
  const webhookIds = () => new Set(run.receiver.requests.map((r) => String(r.headers[EVENT_ID_HEADER.toLowerCase()])));
  while ((webhookIds().size < EVENTS || (await storedRows(run.table)).ids < EVENTS) && Date.now() < deadline)
    await sleep(200);
  // How long each event took from its first offer to its first arrival at the webhook: what the fault cost.
  const firstArrival = new Map<string, number>();
  for (const r of run.receiver.requests) {
    const id = String(r.headers[EVENT_ID_HEADER.toLowerCase()]);
    if (!firstArrival.has(id)) firstArrival.set(id, r.receivedAt);
  }
  const latencies = [...firstArrival].map(([id, at]) => at - (published.offeredAt.get(id) ?? at)).sort((a, b) => a - b);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

  assert.equal(published.eventIds.size, EVENTS);
  assert.deepEqual([...webhookIds()].sort(), [...published.eventIds].sort(), 'the webhook received every event');
  assert.deepEqual(
    await storedRows(run.table),
    { rows: EVENTS, ids: EVENTS },
    'PostgreSQL holds each event exactly once',
  );
  const client = run.engine.plainClient.temporal;
  const outcomes = await Promise.all(published.workflowIds.map((id) => client.workflow.getHandle(id).result()));
  assert.deepEqual([...new Set(outcomes.map((o) => o.status))], ['delivered']);

  const duplicates = run.receiver.requests.length - EVENTS;
  const report =
    `${what}: ${EVENTS} events, ${published.refused} starts refused and retried, ` +
    `webhook received ${run.receiver.requests.length} (${duplicates} duplicates, ${((100 * duplicates) / EVENTS).toFixed(1)}%), PostgreSQL ${EVENTS} rows, ` +
    `offer to first arrival p50 ${seconds(latencies[Math.floor(latencies.length / 2)])}, max ${seconds(latencies[latencies.length - 1])}`;
  t.diagnostic(report);
  console.log(`cluster faults: ${report}`);
}

/** Stops a cluster role mid-stream with `signal`, holds it down `downMs`, lets it restart, and checks every event
 * arrived. */
async function roleDownMidStream(
  t: TestContext,
  role: Parameters<typeof killRole>[0],
  signal: NodeJS.Signals,
  downMs: number,
  what: string,
): Promise<void> {
  const run = await setUp(1);
  try {
    const streaming = stream(run.engine.client, run.bucket);
    await sleep(FAULT_AFTER_MS);
    await killRole(role, signal, { hold: true });
    await sleep(downMs);
    release(role);
    await waitForCluster();
    await assertEveryEventDelivered(t, run, await streaming, what);
  } finally {
    release(role);
    await run.engine.stop();
    await run.receiver.close();
  }
}

test(
  'history SIGKILLed mid-stream and held down 10 s, then restarted: every event delivered, the store holds each once',
  { timeout: 300_000 },
  (t) => roleDownMidStream(t, 'history', 'SIGKILL', 10_000, 'history SIGKILL'),
);

test(
  'the frontend restarts mid-stream (SIGTERM, down 5 s): every event delivered, the store holds each once',
  { timeout: 300_000 },
  (t) => roleDownMidStream(t, 'frontend', 'SIGTERM', 5_000, 'frontend restart'),
);

test(
  'two bucketflow worker processes, one SIGKILLed mid-stream: the other delivers everything',
  { timeout: 300_000 },
  async (t) => {
    const run = await setUp(0);
    const children: ChildProcess[] = [spawnWorker(run.engine.settings), spawnWorker(run.engine.settings)];
    const started = children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          let stderr = '';
          child.stderr!.on('data', (d: Buffer) => {
            stderr += d;
            if (stderr.includes('worker started')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it started:\n${stderr}`)));
        }),
    );
    try {
      await Promise.all(started);
      // A separate publisher (as `npm run ingest`): deliveries go through matching to either worker.
      const streaming = stream(run.engine.plainClient, run.bucket);
      await sleep(FAULT_AFTER_MS);
      const killed = new Promise((resolve) => children[0].once('exit', resolve));
      children[0].kill('SIGKILL');
      await killed;
      await assertEveryEventDelivered(t, run, await streaming, 'one of two workers SIGKILLed');
    } finally {
      for (const child of children) child.kill('SIGTERM');
      const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
      await Promise.all(running.map((child) => new Promise((resolve) => child.once('exit', resolve))));
      await run.engine.stop();
      await run.receiver.close();
    }
  },
);
