// `npm run bench`'s backfill group (BENCH_ONLY=backfill; opt-in, it needs the stack's MinIO): a bucket of
// BENCH_BACKFILL_OBJECTS objects (default 10,000) in the stack's MinIO, backfilled by one worker process
// (`npm run worker`, no ingest) into the guide's eight targets (AMQP, Elasticsearch, Redis, NATS, PostgreSQL, MySQL,
// Kafka, webhook: bench/targets.ts), the backfill workflow started as `bucketflow backfill` starts it. Per run:
// objects/s from the start to the moment every target holds every object, billable Temporal actions per object
// counted from the histories of every run of the backfill and every batch (bench/actions.ts; heartbeats and the
// CLI's progress queries are not in a history: estimated beside), the worker's peak RSS and CPU, Temporal's CPU.
// Modes (BENCH_BACKFILL_MODES, default "default,inflight-1000"): `default` = the worker's defaults (admission
// bound 256, batches of 200: one batch in flight at a time); `inflight-N` = BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES=N
// (up to four chunks of 200 in flight); `batch-N` = BUCKETFLOW_BACKFILL_BATCH_EVENTS=N at the default bound;
// `arenas-N` = the worker under MALLOC_ARENA_MAX=N (glibc's malloc arenas: what a worker's RSS keeps of freed
// memory). Each round runs every mode on the same bucket (BENCH_ROUNDS), so same-round ratios compare them. The
// bucket is removed after the runs unless BENCH_BACKFILL_KEEP=1; BENCH_BACKFILL_BUCKET reuses such a bucket (it must
// hold exactly BENCH_BACKFILL_OBJECTS objects under photos/).
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { endpoints } from '../scripts/stack/endpoints';
import { s3Server, stackS3Client } from '../scripts/stack/s3';
import { backfillWorkflowId, type BackfillInput, type BackfillProgress } from '../src/delivery/backfill';
import { BACKFILL, DELIVER_BATCH } from '../src/delivery/workflow-types';
import { actionsOf, countActions } from './actions';
import { prepareRun } from './events';
import { startEntry } from './processes';
import { cpuSecondsOf, cpuSpent, nowMs, peakRssMbOf, serverCpu } from './stats';
import { watchTargets } from '../test/helpers/guide-targets';
import { awsEnvOf, fillBucket, removeBucket } from '../test/helpers/s3-buckets';

const COMPLETION_TIMEOUT_MS = 20 * 60_000;
/** The SDK sends a heartbeat at most every 80% of the heartbeat timeout (10 s): an upper estimate per chunk. */
const HEARTBEATS_PER_CHUNK_SECOND = 1 / 8;

export interface BackfillRun {
  mode: string;
  round: number;
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  complete: boolean;
  delivered: Record<string, number>;
  /** Billable actions per object from the histories, and by kind. */
  actionsPerObject: number;
  actions: Record<string, number>;
  /** Heartbeats the chunks may have sent (not in a history), per object: an upper estimate. */
  heartbeatsPerObject: number;
  workflows: { backfillRuns: number; batches: number; chunks: number };
  counts: BackfillProgress['counts'] | undefined;
  peakRssMb: number;
  workerCpuSeconds: number;
  cpuSeconds: Record<string, number>;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** The worker's environment for a mode. */
function modeEnv(mode: string): Record<string, string> {
  if (mode === 'default') return {};
  const inflight = /^inflight-(\d+)$/.exec(mode);
  if (inflight) return { BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES: inflight[1] };
  const batch = /^batch-(\d+)$/.exec(mode);
  if (batch) return { BUCKETFLOW_BACKFILL_BATCH_EVENTS: batch[1] };
  const arenas = /^arenas-(\d+)$/.exec(mode);
  if (arenas) return { MALLOC_ARENA_MAX: arenas[1] };
  throw new Error(`BENCH_BACKFILL_MODES: unknown mode "${mode}" (default, inflight-N, batch-N, arenas-N)`);
}

export async function runBackfillGroup(dataDir: string, rounds: number): Promise<BackfillRun[]> {
  const objects = Number(process.env.BENCH_BACKFILL_OBJECTS ?? 10_000);
  const modes = (process.env.BENCH_BACKFILL_MODES ?? 'default,inflight-1000').split(',');
  for (const mode of modes) modeEnv(mode);
  const minio = s3Server(endpoints.minio);
  const admin = stackS3Client(minio);
  // BENCH_BACKFILL_BUCKET: a bucket an earlier run kept (BENCH_BACKFILL_KEEP=1) holding exactly the objects asked for.
  const kept = process.env.BENCH_BACKFILL_BUCKET;
  const bucket = kept ?? `bench-backfill-${randomUUID().slice(0, 8)}`;
  if (!kept) {
    console.log(`bench: backfill: filling ${bucket} with ${objects} objects ...`);
    const filling = Date.now();
    await fillBucket(admin, bucket, objects, (i) => `photos/${String(i).padStart(7, '0')}.jpg`); // prepareRun's rules take photos/*.jpg
    console.log(`bench: backfill: filled in ${((Date.now() - filling) / 1000).toFixed(1)} s`);
  }
  const results: BackfillRun[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const mode of modes) {
        console.log(`bench: backfill ${mode} n=${objects} round ${round} ...`);
        const result = await runOne(mode, round, bucket, objects, dataDir, minio);
        results.push(result);
        console.log(
          `bench: backfill ${mode} round ${round}: ${result.objectsPerSecond} objects/s${result.complete ? '' : ' (INCOMPLETE)'}, ${result.actionsPerObject} actions/object, peak RSS ${result.peakRssMb} MB`,
        );
      }
    }
  } finally {
    if (process.env.BENCH_BACKFILL_KEEP !== '1' && !kept)
      await removeBucket(admin, bucket, { bulk: true }).catch((err: Error) =>
        console.log(`bench: backfill: could not remove ${bucket}: ${err.message}`),
      );
    admin.destroy();
  }
  printBackfill(results);
  return results;
}

async function runOne(
  mode: string,
  round: number,
  bucket: string,
  objects: number,
  dataDir: string,
  minio: ReturnType<typeof s3Server>,
): Promise<BackfillRun> {
  const watch = await watchTargets('guide');
  const taskQueue = `bench-backfill-${randomUUID()}`;
  const temporal = new Client({ connection: await Connection.connect({ address: endpoints.temporal }) });
  // Each run its own rules for the bucket (prepareRun subscribes it to this run's eight targets).
  const runDir = `${dataDir}/backfill-${randomUUID().slice(0, 8)}`;
  const configFile = await prepareRun(runDir, bucket, watch.notify);
  const worker = startEntry('worker', {
    BUCKETFLOW_CONFIG: configFile,
    BUCKETFLOW_DATA_DIR: runDir,
    BUCKETFLOW_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: endpoints.temporal,
    BUCKETFLOW_INGEST: 'off',
    ...awsEnvOf(minio),
    ...modeEnv(mode),
  });
  try {
    await worker.waitFor('worker started');
    const before = { at: nowMs(), cpu: cpuSecondsOf(worker.pid), servers: serverCpu() };
    const input: BackfillInput = { request: { bucket, prefix: '', versions: false, endpoint: minio.endpoint } };
    const workflowId = `${backfillWorkflowId(input.request)}-${randomUUID().slice(0, 8)}`;
    const handle = await temporal.workflow.start(BACKFILL, { taskQueue, workflowId, args: [input] });
    const deadline = Date.now() + COMPLETION_TIMEOUT_MS;
    let delivered = await watch.counts();
    while (Date.now() < deadline && !Object.values(delivered).every((n) => n >= objects)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      delivered = await watch.counts();
    }
    const end = nowMs();
    const complete = Object.values(delivered).every((n) => n >= objects);
    const progress = (await handle.result().catch(() => undefined)) as BackfillProgress | undefined;
    const after = { cpu: cpuSecondsOf(worker.pid), servers: serverCpu() };
    const seconds = (end - before.at) / 1000;

    // Every run of the backfill (continue-as-new) and every batch it started (and what those continued per event).
    const actions: Record<string, number> = {};
    let total = 0;
    let backfillRuns = 0;
    let chunks = 0;
    let chunkSeconds = 0;
    // Small pages: a batch's memo lists its 200 events, and a page over 4 MB is refused.
    for await (const run of temporal.workflow.list({
      query: `WorkflowType = '${BACKFILL}' AND TaskQueue = '${taskQueue}'`,
      pageSize: 50,
    })) {
      const history = await temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      backfillRuns++;
      const counted = actionsOf(history);
      total += counted.total;
      for (const [kind, n] of Object.entries(counted.byKind))
        actions[`backfill ${kind}`] = (actions[`backfill ${kind}`] ?? 0) + n;
      const started = new Map<string, number>();
      for (const event of history.events ?? []) {
        const at = Number(event.eventTime?.seconds ?? 0) + Number(event.eventTime?.nanos ?? 0) / 1e9;
        if (event.activityTaskStartedEventAttributes)
          started.set(String(event.activityTaskStartedEventAttributes.scheduledEventId), at);
        const done =
          event.activityTaskCompletedEventAttributes ??
          event.activityTaskFailedEventAttributes ??
          event.activityTaskCanceledEventAttributes;
        const from = done ? started.get(String(done.scheduledEventId)) : undefined;
        if (from !== undefined && from !== 0) {
          chunks++;
          chunkSeconds += at - from;
        }
      }
    }
    const batchIds: string[] = [];
    for await (const batch of temporal.workflow.list({
      query: `WorkflowType = '${DELIVER_BATCH}' AND TaskQueue = '${taskQueue}'`,
      pageSize: 50,
    }))
      batchIds.push(batch.workflowId);
    const batchActions = await countActions(temporal, batchIds);
    total += batchActions.total;
    for (const [kind, n] of Object.entries(batchActions.byKind))
      actions[`batch ${kind}`] = (actions[`batch ${kind}`] ?? 0) + n;
    const heartbeats = Math.ceil(chunkSeconds * HEARTBEATS_PER_CHUNK_SECOND) + chunks;
    return {
      mode,
      round,
      objects,
      seconds: round2(seconds),
      objectsPerSecond: round2(objects / seconds),
      complete,
      delivered,
      actionsPerObject: round4(total / objects),
      actions,
      heartbeatsPerObject: round4(heartbeats / objects),
      workflows: { backfillRuns, batches: batchIds.length, chunks },
      counts: progress?.counts,
      peakRssMb: round2(peakRssMbOf(worker.pid)),
      workerCpuSeconds: round2(after.cpu - before.cpu),
      cpuSeconds: cpuSpent(before.servers, after.servers),
    };
  } finally {
    await worker.stop();
    await temporal.connection.close();
    await watch.close();
  }
}

function printBackfill(results: BackfillRun[]): void {
  if (results.length === 0) return;
  const base = (r: BackfillRun) => results.find((o) => o.round === r.round && o.mode === results[0].mode);
  const rows = results.map((r) => [
    r.mode,
    String(r.round),
    String(r.objects),
    `${r.objectsPerSecond}${r.complete ? '' : '!'}`,
    String(r.seconds),
    String(r.actionsPerObject),
    String(r.heartbeatsPerObject),
    `${r.workflows.backfillRuns}/${r.workflows.chunks}/${r.workflows.batches}`,
    String(r.peakRssMb),
    String(r.workerCpuSeconds),
    String(round2(r.cpuSeconds.temporal ?? 0)),
    r === base(r) ? '' : `${round2(r.objectsPerSecond / base(r)!.objectsPerSecond)}x`,
  ]);
  const header = [
    'mode',
    'round',
    'objects',
    'objects/s',
    's',
    'actions/obj',
    'heartbeats/obj (est.)',
    'runs/chunks/batches',
    'peak RSS MB',
    'worker CPU s',
    'Temporal CPU s',
    `vs ${results[0].mode}`,
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  console.log(
    "backfill (one worker process, the guide's eight targets; objects/s from the start to every target holding every object):",
  );
  for (const row of [header, ...rows])
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
  console.log(
    ' (! = not every target held every object in time; actions/obj from every history of the run (bench/actions.ts);',
  );
  console.log(
    '  heartbeats are not in a history: at most one per 8 s of each chunk, plus its first; ratios: same round)',
  );
  for (const r of results)
    console.log(
      `  ${r.mode} round ${r.round}: actions ${JSON.stringify(r.actions)}; counts ${JSON.stringify(r.counts)}`,
    );
}
