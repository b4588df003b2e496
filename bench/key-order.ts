// The `order` bench group (opt-in: BENCH_ONLY=order): per-key order's cost beside an unordered target in the same
// run. One webhook target, once as is and once with `order: key`, fed BENCH_ORDER_KEYS objects x BENCH_ORDER_PER_KEY
// puts each (default 50 x 20), interleaved, POSTed 16 at a time to the worker process's ingest (as MinIO sends them),
// in per-event mode and (BENCH_ORDER_MODES, default "per-event,batch-50") the high-volume mode. Reports events/s
// (first POST to last arrival), billable actions per event from the histories of every workflow the run started
// (the per-(target, object) workflows' included: their signals, hold timers and markers; bench/actions.ts), and
// whether each object's events arrived in sequencer order. Modes alternate round after round (BENCH_ROUNDS).
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { endpoints } from '../scripts/stack/endpoints';
import { buildEvent, decodeObjectKey, eventIdentity, toEnvelope } from '../src/events';
import type { S3EventRecord } from '../src/events/types';
import { freePort } from '../test/helpers/target-config';
import { countActions } from './actions';
import { prepareRun } from './events';
import { startEntry } from './processes';
import { nowMs } from './stats';
import { watchTargets } from '../test/helpers/guide-targets';

const PUBLISHERS = 16;
const COMPLETION_TIMEOUT_MS = 10 * 60_000;

export interface KeyOrderRun {
  mode: string;
  ordered: boolean;
  round: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  actionsPerEvent: number;
  actions: Record<string, number>;
  workflows: number;
  /** Objects whose events all arrived in sequencer order (out of BENCH_ORDER_KEYS). */
  objectsInOrder: number;
  /** POSTs not answered 202 (posted again), by status. */
  refusals: Record<string, number>;
  complete: boolean;
}

const int = (text: string | undefined, fallback: number) => (text ? Number(text) : fallback);

export async function runKeyOrderGroup(dataDir: string, rounds: number): Promise<KeyOrderRun[]> {
  const keys = int(process.env.BENCH_ORDER_KEYS, 50);
  const perKey = int(process.env.BENCH_ORDER_PER_KEY, 20);
  const modes = (process.env.BENCH_ORDER_MODES ?? 'per-event,batch-50').split(',');
  const runs: KeyOrderRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const mode of modes) {
      for (const ordered of [false, true]) {
        console.log(`bench: order ${mode} ${ordered ? 'ordered' : 'unordered'} round ${round} ...`);
        const run = await runOnce(dataDir, mode, ordered, round, keys, perKey);
        console.log(
          `bench: order ${mode} ${ordered ? 'ordered' : 'unordered'}: ${run.eventsPerSecond} events/s, ` +
            `${run.actionsPerEvent} actions/event, ${run.objectsInOrder}/${keys} objects in order`,
        );
        runs.push(run);
      }
    }
  }
  printKeyOrderTable(runs);
  return runs;
}

function eventsFor(bucket: string, keys: number, perKey: number): S3EventRecord[] {
  const base = Date.now();
  // Object k's n-th put is event n * keys + k: every object's events interleaved with the others'.
  return Array.from({ length: keys * perKey }, (_, i) => {
    const k = i % keys;
    return buildEvent({
      eventName: 's3:ObjectCreated:Put',
      bucket,
      key: `photos/${String(k).padStart(4, '0')}.jpg`,
      size: i + 1,
      eventTime: new Date(base + i),
      sequencer: (BigInt(base) * 1_000_000n + BigInt(i)).toString(16).toUpperCase(),
    });
  });
}

async function runOnce(
  dataDir: string,
  mode: string,
  ordered: boolean,
  round: number,
  keys: number,
  perKey: number,
): Promise<KeyOrderRun> {
  const watch = await watchTargets('webhook');
  const arrivalsInOrder = new Map<string, string[]>(); // object -> event ids as they arrived
  const bucket = `bench-order-${randomUUID().slice(0, 8)}`;
  const taskQueue = `bench-${randomUUID()}`;
  const port = await freePort();
  if (ordered) watch.notify.webhook['1'].order = 'key';
  const configFile = await prepareRun(dataDir, bucket, watch.notify);
  const records = eventsFor(bucket, keys, perKey);
  const objectOf = new Map(records.map((r) => [eventIdentity(r), decodeObjectKey(r.s3.object.key)]));
  const batch = mode.startsWith('batch-') ? mode.slice('batch-'.length) : '1';
  const worker = startEntry('worker', {
    BUCKETFLOW_CONFIG: configFile,
    BUCKETFLOW_DATA_DIR: dataDir,
    BUCKETFLOW_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: endpoints.temporal,
    BUCKETFLOW_BATCH_MAX_EVENTS: batch,
    BUCKETFLOW_INGEST: 'on',
    BUCKETFLOW_INGEST_PORT: String(port),
  });
  const temporal = new Client({ connection: await Connection.connect({ address: endpoints.temporal }) });
  try {
    await worker.waitFor('worker started');
    const started = new Set<string>();
    const refusals: Record<string, number> = {};
    const firstPost = nowMs();
    let next = 0;
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async () => {
        while (next < records.length) {
          const record = records[next++];
          for (;;) {
            const response = await fetch(`http://127.0.0.1:${port}/minio/events`, {
              method: 'POST',
              body: JSON.stringify(toEnvelope(record)),
            }).catch(() => undefined);
            if (response?.status === 202) {
              const body = (await response.json()) as { accepted?: Array<{ workflowId: string }> };
              for (const { workflowId } of body.accepted ?? []) started.add(workflowId);
              break;
            }
            const status = String(response?.status ?? 'no answer');
            refusals[status] = (refusals[status] ?? 0) + 1;
            await response?.arrayBuffer();
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
      }),
    );
    const deadline = Date.now() + COMPLETION_TIMEOUT_MS;
    while (watch.arrivals.size < records.length && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const complete = watch.arrivals.size >= records.length;
    const lastArrival = Math.max(...watch.arrivals.values());
    const seconds = (lastArrival - firstPost) / 1000;
    // Arrival order per object (the receiver stamps first arrivals); sequencers rise with the index.
    for (const [id] of [...watch.arrivals].sort((a, b) => a[1] - b[1])) {
      const object = objectOf.get(id);
      if (object) arrivalsInOrder.set(object, [...(arrivalsInOrder.get(object) ?? []), id]);
    }
    const rank = new Map(records.map((r, i) => [eventIdentity(r), i]));
    const objectsInOrder = [...arrivalsInOrder.values()].filter((ids) =>
      ids.every((id, i) => i === 0 || rank.get(ids[i - 1])! < rank.get(id)!),
    ).length;
    const actions = await countActions(temporal, [...started]);
    return {
      mode,
      ordered,
      round,
      events: records.length,
      seconds: Math.round(seconds * 100) / 100,
      eventsPerSecond: Math.round(records.length / seconds),
      actionsPerEvent: Math.round((actions.total / records.length) * 1000) / 1000,
      actions: actions.byKind,
      workflows: started.size,
      objectsInOrder,
      refusals,
      complete,
    };
  } finally {
    await worker.stop();
    await temporal.connection.close();
    await watch.close();
  }
}

function printKeyOrderTable(runs: KeyOrderRun[]): void {
  console.log('\nper-key order: an ordered webhook beside an unordered one, same run');
  console.log('mode        target     round  events/s  actions/event  objects in order  ratio (events/s)');
  for (const run of runs) {
    const unordered = runs.find((r) => r.mode === run.mode && r.round === run.round && !r.ordered);
    const ratio = unordered ? (run.eventsPerSecond / unordered.eventsPerSecond).toFixed(2) : '-';
    console.log(
      `${run.mode.padEnd(11)} ${(run.ordered ? 'ordered' : 'unordered').padEnd(10)} ${String(run.round).padStart(5)}  ` +
        `${String(run.eventsPerSecond).padStart(8)}  ${String(run.actionsPerEvent).padStart(13)}  ` +
        `${String(run.objectsInOrder).padStart(16)}  ${ratio.padStart(16)}${run.complete ? '' : ' INCOMPLETE'}`,
    );
  }
}
