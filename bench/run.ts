// `npm run bench`: the real stack, in one run, side by side:
//   engine   - bucketflow as `npm start` runs it: HTTP ingest inside the worker process, rules matched at
//              the ingest, eager start, the fast path (deliverEventV3);
//   batch-N  - the same with BUCKETFLOW_BATCH_MAX_EVENTS=N: group commit into batch workflows (deliverBatch);
//              `batch` in BENCH_MODES runs one per value of BENCH_BATCH_SWEEP (default "1,10,50,200");
//   classic  - the same process with BUCKETFLOW_FAST_PATH=off: the first workflow version (resolve, then one
//              regular activity per target, three search-attribute writes), started without eager start;
//   ceiling  - the same Temporal server with nothing to deliver: an empty workflow started eagerly by a
//              worker in the same process behind the same kind of HTTP endpoint (bench/ceiling.ts);
//   baseline - a plain in-process loop over the same target code, no Temporal.
// Events are POSTed as MinIO posts them. Prints a table (ratios against the ceiling and the baseline) and
// writes JSON under bench-results/. Settings (env): BENCH_EVENTS (default "1000"), BENCH_GUIDE_EVENTS (the
// guide's eight targets, default 500), BENCH_LATENCY_EVENTS (one event in flight, default 200),
// BENCH_INFLIGHT (default "1,8,32,128") and BENCH_INFLIGHT_EVENTS (default 400) for the inflight group,
// BENCH_ONLY (comma-separated groups; default "webhook,latency,guide"; also redis, all, workers, inflight,
// cluster, kafka),
// BENCH_MODES (default "ceiling,engine,batch,classic,baseline"; batch = batch-N for each N of BENCH_BATCH_SWEEP,
// default 1,10,50,200), BENCH_ROUNDS (default 2: each group runs its modes
// in turn, round after round, and the medians of same-round ratios are reported). Worker tuning: the usual
// BUCKETFLOW_* env vars. Each engine run also counts the billable Temporal actions per delivered event from
// the histories of every workflow it started (bench/actions.ts).
// The cluster group (opt-in; `npm run stack -- up temporal-cluster` builds it once) runs the webhook set on the
// dev server and on the stack's self-hosted cluster side by side, 1 and 2 worker processes on the cluster, and
// reports CPU seconds per 1,000 events for each Temporal service process, PostgreSQL, Elasticsearch and the
// workers (BENCH_CLUSTER_EVENTS, default 1000).
// The kafka group (opt-in) feeds the worker through its Kafka source instead of HTTP: BENCH_KAFKA_EVENTS records
// (default 2000) written beforehand to a fresh topic (BENCH_KAFKA_PARTITIONS, default 1) as MinIO's Kafka target
// writes them, read by a fresh consumer group; `engine` is the per-event mode, `batch` one run per N of
// BENCH_KAFKA_BATCH (default 200). Events/s from the first delivery to the last (bench/kafka-backlog.ts).
// The scan group (opt-in; it brings up the stack's MinIO): scans of an unchanged bucket of BENCH_SCAN_OBJECTS
// objects per BENCH_SCAN_MODES: seconds, objects/s, billable actions per listed object, RSS (bench/scan.ts).
// The backfill group (opt-in; it brings up the stack's MinIO): `bucketflow backfill` of a bucket of
// BENCH_BACKFILL_OBJECTS objects into the guide's eight targets, per BENCH_BACKFILL_MODES (bench/backfill.ts).
// The order group (opt-in): a webhook with `order: key` beside the same webhook unordered, per mode, same run:
// events/s, actions per event, objects whose events arrived in sequencer order (bench/key-order.ts).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { endpoints } from '../scripts/stack/endpoints';
import { services } from '../scripts/stack/services';
import { Client, Connection } from '@temporalio/client';
import { workflowIdFor } from '../src/publish/publisher';
import { toEnvelope } from '../src/events';
import { freePort } from '../test/helpers/target-config';
import { loadSettings } from '../src/settings';
import { benchEvents, prepareRun, type BenchEvent } from './events';
import { countActions } from './actions';
import { workflowsOnTaskQueue, writeBacklog } from './kafka-backlog';
import { samplePhases, type Phases } from './history';
import { startChild, startEntry, type Child } from './processes';
import { cpuSecondsOf, cpuSpent, latencyOf, nowMs, peakRssMbOf, serverCpu, type Latency } from './stats';
import { watchTargets, type TargetSet, type Watch } from '../test/helpers/guide-targets';
import { runScanGroup } from './scan';
import { runBackfillGroup } from './backfill';
import { runKeyOrderGroup } from './key-order';

const root = path.resolve(__dirname, '..');
const PUBLISHERS = 16; // concurrent POSTs, as a busy MinIO's webhook target sends them
const BASELINE_CONCURRENCY = loadSettings().tuning.maxConcurrentActivityTaskExecutions ?? 200; // the worker's activity slots
const COMPLETION_TIMEOUT_MS = 15 * 60_000;
/** The kafka group: a backlog with no delivery for this long has stopped (a source stuck on a fetch), not slowed. */
const KAFKA_STALL_MS = 60_000;

/** `batch-<N>`: the engine with BUCKETFLOW_BATCH_MAX_EVENTS=N. */
type Mode = 'ceiling' | 'engine' | 'classic' | 'baseline' | `batch-${number}`;
const batchSizeOf = (mode: Mode) => (mode.startsWith('batch-') ? Number(mode.slice('batch-'.length)) : undefined);
/** Which Temporal server a run uses: the stack's dev server or its self-hosted cluster (opt-in service). */
type Server = 'dev' | 'cluster';
/** The modes the cluster group compares on both servers (`batch-<N>`: the high-volume mode). */
const CLUSTER_MODES: Mode[] = ['ceiling', 'engine', 'batch-50'];

interface RunSpec {
  mode: Mode;
  set: TargetSet;
  events: number;
  workers: number;
  /** The dev server unless the group says otherwise. */
  server?: Server;
  /** At most this many events published but not yet arrived; unset = as fast as publishing goes. */
  inFlight?: number;
  /** Runs of one group alternate their modes round after round, so a noisy spell hits all of them. */
  round: number;
  /** `kafka`: the events reach the worker through its Kafka source (a backlog on a topic), not HTTP POSTs. */
  source?: 'kafka';
}

interface RunResult extends RunSpec {
  seconds: number;
  eventsPerSecond: number;
  msPerEvent: number;
  latencyMs: Latency;
  delivered: Record<string, number>;
  complete: boolean;
  /** Peak RSS of each worker process (engine) or of the baseline process. */
  peakRssMb: number[];
  /** CPU seconds spent during the run, per process kind. */
  cpuSeconds: Record<string, number>;
  /** CPU seconds of each worker process on its own (the sum is cpuSeconds.worker). */
  workerCpuSeconds: number[];
  failures: number;
  /** 503s answered by the ingest (admission control) and posted again. */
  refusals?: number;
  phasesMs?: Phases;
  /** Billable Temporal actions per delivered event (bench/actions.ts), and by kind over the run. */
  actionsPerEvent?: number;
  actions?: Record<string, number>;
  /** The kafka group: its events/s run from the first delivery to the last; these are the other clocks. */
  kafka?: KafkaFigures;
}

interface KafkaFigures {
  partitions: number;
  /** Spawning the worker to the last delivery: start-up, group join and the whole backlog. */
  secondsFromSpawn: number;
  /** The source's "consuming" log line (group joined) to the first delivery and to the last. */
  firstDeliveryAfterConsumingS: number;
  secondsFromConsuming: number;
  /** Workflows the run started (batches and per-event deliveries), and events per workflow. */
  workflows: number;
  eventsPerWorkflow: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const int = (value: string | undefined, fallback: number[]) => (value ? value.split(',').map(Number) : fallback);

async function main() {
  const sizes = int(process.env.BENCH_EVENTS, [1000]);
  const guideSize = int(process.env.BENCH_GUIDE_EVENTS, [500])[0];
  const latencyEvents = int(process.env.BENCH_LATENCY_EVENTS, [200])[0];
  const windows = int(process.env.BENCH_INFLIGHT, [1, 8, 32, 128]);
  const windowEvents = int(process.env.BENCH_INFLIGHT_EVENTS, [400])[0];
  const only = (process.env.BENCH_ONLY ?? 'webhook,latency,guide').split(',');
  const sweep = int(process.env.BENCH_BATCH_SWEEP, [1, 10, 50, 200]);
  const modes = (process.env.BENCH_MODES ?? 'ceiling,engine,batch,classic,baseline')
    .split(',')
    .flatMap((mode) => (mode === 'batch' ? sweep.map((n) => `batch-${n}`) : [mode])) as Mode[];
  const rounds = int(process.env.BENCH_ROUNDS, [2])[0];
  const clusterEvents = int(process.env.BENCH_CLUSTER_EVENTS, [1000])[0];
  const kafkaEvents = int(process.env.BENCH_KAFKA_EVENTS, [2000])[0];
  const kafkaSweep = int(process.env.BENCH_KAFKA_BATCH, [200]);
  const wanted = (group: string) => only.includes(group);

  console.log('bench: stack up');
  // Every server but the TLS proxy in front of Temporal, which no run uses; the opt-in cluster for its group.
  const needed = services
    .filter(
      (s) =>
        s.name !== 'temporal-tls' &&
        (!s.optIn ||
          (s.name === 'temporal-cluster' && wanted('cluster')) ||
          (s.name === 'minio' && (wanted('scan') || wanted('backfill')))),
    )
    .map((s) => s.name);
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/stack/cli.ts', 'up', ...needed], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const plan: RunSpec[] = [];
  // The ceiling only means something for one webhook (nothing else to deliver).
  const each = (spec: Omit<RunSpec, 'mode' | 'round'>) => {
    for (let round = 1; round <= rounds; round++) {
      for (const mode of modes) if (mode !== 'ceiling' || spec.set === 'webhook') plan.push({ mode, round, ...spec });
    }
  };
  for (const events of sizes) {
    if (wanted('webhook')) each({ set: 'webhook', events, workers: 1 });
    if (wanted('redis')) each({ set: 'redis', events, workers: 1 });
  }
  if (wanted('latency')) each({ set: 'webhook', events: latencyEvents, workers: 1, inFlight: 1 });
  if (wanted('guide')) each({ set: 'guide', events: guideSize, workers: 1 });
  if (wanted('all')) each({ set: 'all', events: guideSize, workers: 1 });
  if (wanted('workers')) plan.push({ mode: 'engine', set: 'webhook', events: sizes[0], workers: 2, round: 1 });
  if (wanted('inflight'))
    for (const inFlight of windows) each({ set: 'webhook', events: windowEvents, workers: 1, inFlight });
  if (wanted('kafka')) {
    // Only the engine's two modes read a topic: per event (`engine`) and batch-N for each N of BENCH_KAFKA_BATCH.
    const kafkaModes: Mode[] = [
      ...(modes.includes('engine') ? ['engine' as const] : []),
      ...(modes.some((m) => batchSizeOf(m)) ? kafkaSweep.map((n) => `batch-${n}` as const) : []),
    ];
    for (let round = 1; round <= rounds; round++) {
      for (const mode of kafkaModes)
        plan.push({ mode, set: 'webhook', events: kafkaEvents, workers: 1, round, source: 'kafka' });
    }
  }
  if (wanted('cluster')) {
    for (let round = 1; round <= rounds; round++) {
      for (const mode of CLUSTER_MODES.filter((m) => modes.includes(m))) {
        for (const [server, workers] of [
          ['dev', 1],
          ['cluster', 1],
          ['cluster', 2],
        ] as const) {
          if (mode !== 'ceiling' || workers === 1)
            plan.push({ mode, set: 'webhook', events: clusterEvents, workers, server, round });
        }
      }
    }
  }

  const dataDir = await mkdtemp(path.join(tmpdir(), 'bucketflow-bench-'));
  const results: RunResult[] = [];
  let scan: Awaited<ReturnType<typeof runScanGroup>> = [];
  let backfill: Awaited<ReturnType<typeof runBackfillGroup>> = [];
  let order: Awaited<ReturnType<typeof runKeyOrderGroup>> = [];
  try {
    for (const spec of plan) {
      const label = `${spec.mode}${spec.source === 'kafka' ? ' from kafka' : ''} ${spec.set} n=${spec.events} workers=${spec.workers}${spec.inFlight ? ` in-flight=${spec.inFlight}` : ''}${spec.server === 'cluster' ? ' on the cluster' : ''} round ${spec.round}`;
      console.log(`bench: ${label} ...`);
      const result = await run(spec, dataDir);
      results.push(result);
      console.log(
        `bench: ${label}: ${result.eventsPerSecond} events/s, p50 ${result.latencyMs.p50} ms${result.complete ? '' : ' (INCOMPLETE)'}`,
      );
    }
    if (wanted('scan')) scan = await runScanGroup(dataDir, rounds);
    if (wanted('backfill')) backfill = await runBackfillGroup(dataDir, rounds);
    if (wanted('order')) order = await runKeyOrderGroup(dataDir, rounds);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }

  if (results.length > 0) printTable(results);
  const file = path.join(root, 'bench-results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: machine(),
        tuning: loadSettings().tuning,
        results,
        scan,
        backfill,
        order,
      },
      null,
      2,
    ),
  );
  console.log(`bench: results written to ${path.relative(root, file)}`);
}

async function run(spec: RunSpec, dataDir: string): Promise<RunResult> {
  const watch = await watchTargets(spec.set);
  const bucket = `bench-${randomUUID().slice(0, 8)}`;
  try {
    const configFile = await prepareRun(dataDir, bucket, watch.notify);
    const events = benchEvents(bucket, spec.events, Date.now());
    if (spec.mode === 'baseline') return await runBaseline(spec, watch, configFile, dataDir, bucket, events);
    return spec.source === 'kafka'
      ? await runKafka(spec, watch, configFile, dataDir, events)
      : await runEngine(spec, watch, configFile, dataDir, events);
  } finally {
    await watch.close();
  }
}

/** The engine, the classic path or the ceiling: worker processes, events POSTed to the first one's HTTP endpoint. */
async function runEngine(
  spec: RunSpec,
  watch: Watch,
  configFile: string,
  dataDir: string,
  events: BenchEvent[],
): Promise<RunResult> {
  const taskQueue = `bench-${randomUUID()}`;
  const port = await freePort();
  const address = spec.server === 'cluster' ? endpoints.temporalCluster : endpoints.temporal;
  const workers = Array.from({ length: spec.workers }, (_, i) => {
    if (spec.mode === 'ceiling') {
      const receiverUrl = String(watch.notify.webhook['1'].endpoint);
      return startChild('bench/ceiling.ts', {
        TEMPORAL_ADDRESS: address,
        BENCH_TASK_QUEUE: taskQueue,
        BENCH_PORT: String(port),
        BENCH_RECEIVER_URL: receiverUrl,
      });
    }
    return startEntry('worker', {
      BUCKETFLOW_CONFIG: configFile,
      BUCKETFLOW_DATA_DIR: dataDir,
      BUCKETFLOW_TASK_QUEUE: taskQueue,
      TEMPORAL_ADDRESS: address,
      BUCKETFLOW_FAST_PATH: spec.mode === 'classic' ? 'off' : 'on',
      BUCKETFLOW_BATCH_MAX_EVENTS: String(batchSizeOf(spec.mode) ?? 1),
      // The first worker serves the ingest, as `npm start` does.
      BUCKETFLOW_INGEST: i === 0 ? 'on' : 'off',
      BUCKETFLOW_INGEST_PORT: String(port),
    });
  });
  const temporal = new Client({ connection: await Connection.connect({ address }) });
  const url = `http://127.0.0.1:${port}/minio/events`;
  try {
    await Promise.all(workers.map((w) => w.waitFor(spec.mode === 'ceiling' ? 'ceiling ready' : 'worker started')));
    const before = snapshot(workers);
    const publishedAt = new Map<string, number>();
    /** Each workflow the ingest answered with, and when its first event was posted. */
    const started = new Map<string, number>();
    let failures = 0;
    let refusals = 0;
    let next = 0;
    const publisher = async () => {
      while (next < events.length) {
        while (spec.inFlight && next - watch.arrivals.size >= spec.inFlight) await sleep(1);
        if (next >= events.length) return;
        const { eventId, record } = events[next++];
        const postedAt = nowMs();
        publishedAt.set(eventId, postedAt);
        // As MinIO with queue_dir does: a 503 (admission control, Temporal unreachable) is posted again after
        // Retry-After.
        let response: Response | undefined;
        for (let tries = 0; tries < 600; tries++) {
          response = await fetch(url, { method: 'POST', body: JSON.stringify(toEnvelope(record)) }).catch(
            () => undefined,
          );
          if (response?.status !== 503) break;
          refusals++;
          await response.arrayBuffer();
          await sleep(Number(response.headers.get('retry-after') ?? 1) * 1000);
        }
        if (response?.status !== 202) failures++;
        const body = (await response?.json().catch(() => undefined)) as
          { accepted?: Array<{ workflowId: string }> } | undefined;
        for (const { workflowId } of body?.accepted ?? [])
          if (!started.has(workflowId)) started.set(workflowId, postedAt);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUBLISHERS, spec.inFlight ?? PUBLISHERS) }, publisher));
    const { end, delivered, complete } = await waitForDelivery(spec, watch);
    const result = figures(
      spec,
      publishedAt,
      watch,
      end,
      delivered,
      complete,
      failures,
      before,
      snapshot(workers),
      workers.map((w) => peakRssMbOf(w.pid)),
    );
    result.workerCpuSeconds = workers.map((w) => round(cpuSecondsOf(w.pid) - (before.each[w.pid] ?? 0)));
    result.refusals = refusals;
    const workflows =
      spec.mode === 'ceiling' || started.size === 0
        ? events.map(({ eventId }) => ({ workflowId: workflowIdFor(eventId), publishedAt: publishedAt.get(eventId)! }))
        : [...started].map(([workflowId, at]) => ({ workflowId, publishedAt: at }));
    result.phasesMs = await samplePhases(temporal, workflows);
    if (spec.mode !== 'ceiling') {
      const actions = await countActions(
        temporal,
        workflows.map((w) => w.workflowId),
      );
      result.actionsPerEvent = Math.round((actions.total / spec.events) * 1000) / 1000;
      result.actions = actions.byKind;
    }
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await temporal.connection.close();
  }
}

/**
 * The kafka group: the events written to a fresh topic first, then one worker (`npm run worker`, no ingest) whose
 * Kafka source reads that backlog with a fresh group. CPU counts from the source's "consuming" line (start-up
 * excluded, as in the other modes); events/s from the first delivery to the last.
 */
async function runKafka(
  spec: RunSpec,
  watch: Watch,
  configFile: string,
  dataDir: string,
  events: BenchEvent[],
): Promise<RunResult> {
  const partitions = int(process.env.BENCH_KAFKA_PARTITIONS, [1])[0];
  const backlog = await writeBacklog(events, partitions);
  const taskQueue = `bench-${randomUUID()}`;
  const address = endpoints.temporal;
  const temporal = new Client({ connection: await Connection.connect({ address }) });
  const spawnedAt = nowMs();
  const worker = startEntry('worker', {
    BUCKETFLOW_CONFIG: configFile,
    BUCKETFLOW_DATA_DIR: dataDir,
    BUCKETFLOW_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: address,
    BUCKETFLOW_FAST_PATH: 'on',
    BUCKETFLOW_BATCH_MAX_EVENTS: String(batchSizeOf(spec.mode) ?? 1),
    BUCKETFLOW_INGEST: 'off',
    BUCKETFLOW_SOURCE_KAFKA_BROKERS: backlog.brokers.join(','),
    BUCKETFLOW_SOURCE_KAFKA_TOPIC: backlog.topic,
    BUCKETFLOW_SOURCE_KAFKA_GROUP: backlog.group,
  });
  try {
    await worker.waitFor('kafka source consuming');
    const before = snapshot([worker]);
    const consumingAt = before.at;
    const { end, delivered, complete } = await waitForDelivery(spec, watch);
    const after = snapshot([worker]);
    // Latency here is from the group's start of consumption to each arrival: how long an event waited in the backlog.
    const publishedAt = new Map(events.map(({ eventId }) => [eventId, consumingAt]));
    const result = figures(spec, publishedAt, watch, end, delivered, complete, 0, before, after, [
      peakRssMbOf(worker.pid),
    ]);
    const first = Math.min(...watch.arrivals.values());
    const seconds = (end - first) / 1000;
    Object.assign(result, {
      seconds: round(seconds),
      eventsPerSecond: round(spec.events / seconds),
      msPerEvent: round((seconds * 1000) / spec.events),
    });
    result.workerCpuSeconds = [round(cpuSecondsOf(worker.pid) - before.each[worker.pid])];
    const workflowIds = await workflowsOnTaskQueue(
      temporal,
      taskQueue,
      Math.ceil(spec.events / (batchSizeOf(spec.mode) ?? 1)),
    );
    result.phasesMs = await samplePhases(
      temporal,
      workflowIds.map((workflowId) => ({ workflowId, publishedAt: consumingAt })),
    );
    const actions = await countActions(temporal, workflowIds);
    result.actionsPerEvent = Math.round((actions.total / spec.events) * 1000) / 1000;
    result.actions = actions.byKind;
    result.kafka = {
      partitions,
      secondsFromSpawn: round((end - spawnedAt) / 1000),
      firstDeliveryAfterConsumingS: round((first - consumingAt) / 1000),
      secondsFromConsuming: round((end - consumingAt) / 1000),
      workflows: workflowIds.length,
      eventsPerWorkflow: round(spec.events / workflowIds.length),
    };
    return result;
  } finally {
    await worker.stop();
    await temporal.connection.close();
    await backlog.close();
  }
}

async function runBaseline(
  spec: RunSpec,
  watch: Watch,
  configFile: string,
  dataDir: string,
  bucket: string,
  events: BenchEvent[],
): Promise<RunResult> {
  const out = path.join(dataDir, `baseline-${bucket}.json`);
  const child = startChild('bench/baseline.ts', {
    BENCH_CONFIG: configFile,
    BENCH_DATA_DIR: dataDir,
    BENCH_BUCKET: bucket,
    BENCH_N: String(events.length),
    BENCH_BASE_TIME: String(Date.parse(events[0].record.eventTime)),
    BENCH_CONCURRENCY: String(spec.inFlight ?? BASELINE_CONCURRENCY),
    BENCH_IN_FLIGHT: spec.inFlight ? String(spec.inFlight) : '',
    BENCH_OUT: out,
  });
  try {
    await child.waitFor('baseline ready');
    const before = snapshot([child]);
    child.process.stdin!.write('go\n');
    await child.waitFor('baseline done', COMPLETION_TIMEOUT_MS);
    const { end, delivered, complete } = await waitForDelivery(spec, watch);
    const after = snapshot([child]);
    const { publishedAt, failures } = JSON.parse(await readFile(out, 'utf8')) as {
      publishedAt: Record<string, number>;
      failures: number;
    };
    const byId = new Map(Object.entries(publishedAt));
    if (byId.size !== events.length || !events.every((e) => byId.has(e.eventId)))
      throw new Error("baseline: its events differ from the engine's");
    return figures(spec, byId, watch, end, delivered, complete, failures, before, after, [peakRssMbOf(child.pid)]);
  } finally {
    await child.stop();
  }
}

/** Waits until every watched server holds all events; the end is the last stamped arrival, or when the counts were
 * complete. */
async function waitForDelivery(spec: RunSpec, watch: Watch) {
  const deadline = Date.now() + COMPLETION_TIMEOUT_MS;
  let delivered = await watch.counts();
  let end = nowMs();
  let arrived = 0;
  let movedAt = Date.now();
  while (Date.now() < deadline) {
    if (spec.set === 'guide' || spec.set === 'all') {
      delivered = await watch.counts();
      end = nowMs();
      if (Object.values(delivered).every((n) => n >= spec.events)) return { end, delivered, complete: true };
      await sleep(250);
    } else {
      if (watch.arrivals.size >= spec.events) break;
      if (watch.arrivals.size !== arrived) [arrived, movedAt] = [watch.arrivals.size, Date.now()];
      else if (spec.source === 'kafka' && Date.now() - movedAt > KAFKA_STALL_MS) {
        console.log(
          `bench: no delivery for ${KAFKA_STALL_MS / 1000} s with ${arrived} of ${spec.events} arrived: the source stopped`,
        );
        break;
      }
      await sleep(20);
    }
  }
  if (spec.set === 'guide' || spec.set === 'all') return { end, delivered, complete: false };
  delivered = await watch.counts();
  const complete = watch.arrivals.size >= spec.events;
  return { end: Math.max(...watch.arrivals.values()), delivered, complete };
}

interface Snapshot {
  at: number;
  servers: Record<string, number>;
  processes: number;
  /** CPU seconds of each child by pid. */
  each: Record<number, number>;
  bench: NodeJS.CpuUsage;
}

function snapshot(children: Child[]): Snapshot {
  const each = Object.fromEntries(children.map((c) => [c.pid, cpuSecondsOf(c.pid)]));
  return {
    at: nowMs(),
    servers: serverCpu(),
    processes: Object.values(each).reduce((sum, s) => sum + s, 0),
    each,
    bench: process.cpuUsage(),
  };
}

function figures(
  spec: RunSpec,
  publishedAt: Map<string, number>,
  watch: Watch,
  end: number,
  delivered: Record<string, number>,
  complete: boolean,
  failures: number,
  before: Snapshot,
  after: Snapshot,
  peakRssMb: number[],
): RunResult {
  const start = Math.min(...publishedAt.values());
  const seconds = (end - start) / 1000;
  const bench = process.cpuUsage(before.bench);
  const cpuSeconds = {
    [spec.mode === 'baseline' ? 'baseline' : spec.mode === 'ceiling' ? 'ceiling' : 'worker']: round(
      after.processes - before.processes,
    ),
    'bench (client, watchers)': round((bench.user + bench.system) / 1e6),
    ...cpuSpent(before.servers, after.servers),
  };
  return {
    ...spec,
    seconds: round(seconds),
    eventsPerSecond: round(spec.events / seconds),
    msPerEvent: round((seconds * 1000) / spec.events),
    latencyMs: roundAll(latencyOf(publishedAt, watch.arrivals)),
    delivered,
    complete,
    peakRssMb: peakRssMb.map(round),
    cpuSeconds,
    workerCpuSeconds: [],
    failures,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
const roundAll = (l: Latency): Latency => ({
  p50: round(l.p50),
  p95: round(l.p95),
  p99: round(l.p99),
  mean: round(l.mean),
});

function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

const sameGroup = (a: RunSpec, b: RunSpec) =>
  a.source === b.source &&
  a.set === b.set &&
  a.events === b.events &&
  a.inFlight === b.inFlight &&
  a.workers === b.workers &&
  (a.server ?? 'dev') === (b.server ?? 'dev');

function printTable(results: RunResult[]) {
  const twin = (r: RunResult, mode: Mode) =>
    results.find((o) => o.mode === mode && o.round === r.round && sameGroup(o, r));
  const ratios = (r: RunResult, mode: Mode) => {
    const other = twin(r, mode);
    return r.mode !== mode && other && r.mode !== 'baseline'
      ? { throughput: r.eventsPerSecond / other.eventsPerSecond, p50: r.latencyMs.p50 / other.latencyMs.p50 }
      : undefined;
  };
  const shown = (ratio?: { throughput: number; p50: number }) =>
    ratio ? `${round(ratio.throughput)}x / ${round(ratio.p50)}x` : '';
  const rows = results.map((r) => {
    const cpu = Object.entries(r.cpuSeconds)
      .filter(([, s]) => s >= 0.5)
      .map(([name, s]) => `${name.split(' ')[0]} ${s}`)
      .join(', ');
    return [
      `${r.mode}${r.source === 'kafka' ? ' (kafka)' : ''}`,
      r.server ?? 'dev',
      r.set,
      String(r.events),
      String(r.workers),
      r.inFlight ? String(r.inFlight) : '-',
      String(r.round),
      `${r.eventsPerSecond}${r.complete ? '' : '!'}`,
      String(r.latencyMs.p50),
      String(r.latencyMs.p95),
      String(r.latencyMs.p99),
      r.phasesMs ? String(r.phasesMs.historyEvents) : '-',
      r.actionsPerEvent === undefined ? '-' : String(r.actionsPerEvent),
      r.peakRssMb.join('+'),
      shown(ratios(r, 'ceiling')),
      shown(ratios(r, 'engine')),
      shown(ratios(r, 'classic')),
      shown(ratios(r, 'baseline')),
      cpu,
    ];
  });
  const header = [
    'mode',
    'server',
    'targets',
    'events',
    'workers',
    'in-flight',
    'round',
    'events/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'history',
    'actions/ev',
    'peak RSS MB',
    'vs ceiling (ev/s, p50)',
    'vs engine',
    'vs classic',
    'vs baseline',
    'CPU s',
  ];
  printColumns(header, rows);
  console.log('(! = not every event arrived within the time limit; history = median history events per workflow;');
  console.log(
    ' actions/ev = billable Temporal actions per event, counted from every history of the run (bench/actions.ts);',
  );
  console.log(' ratios compare runs of the same round)');

  // Per group, the median over the rounds of each same-round ratio: the figure to quote.
  console.log('medians over rounds:');
  for (const r of results.filter((x) => x.round === 1 && x.mode !== 'baseline')) {
    const mine = results.filter((o) => o.mode === r.mode && sameGroup(o, r));
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
    const against = (mode: Mode) => {
      const all = mine
        .map((o) => ratios(o, mode))
        .filter((x): x is { throughput: number; p50: number } => x !== undefined);
      return all.length
        ? ` vs ${mode} ${round(median(all.map((x) => x.throughput)))}x ev/s, ${round(median(all.map((x) => x.p50)))}x p50;`
        : '';
    };
    console.log(
      `  ${r.mode}${r.server === 'cluster' ? ' (cluster)' : ''}${r.source === 'kafka' ? ' (kafka)' : ''} ${r.set} n=${r.events} workers=${r.workers}${r.inFlight ? ` in-flight=${r.inFlight}` : ''}: ${round(median(mine.map((o) => o.eventsPerSecond)))} events/s, ` +
        `p50 ${round(median(mine.map((o) => o.latencyMs.p50)))} ms, peak RSS ${round(Math.max(...mine.flatMap((o) => o.peakRssMb)))} MB;` +
        `${mine[0].actionsPerEvent === undefined ? '' : ` ${median(mine.map((o) => o.actionsPerEvent ?? 0))} actions/event;`}` +
        `${against('ceiling')}${against('engine')}${against('classic')}${against('baseline')}`,
    );
  }
  printCpuPerThousand(results.filter((r) => r.server !== undefined));
  printKafka(
    results.filter((r) => r.kafka),
    twin,
  );
  for (const r of results.filter((x) => x.phasesMs)) {
    console.log(
      `phases (median ms) ${r.mode} ${r.set} n=${r.events} workers=${r.workers}${r.inFlight ? ` in-flight=${r.inFlight}` : ''} round ${r.round}: ${JSON.stringify(r.phasesMs)}`,
    );
  }
}

function printColumns(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  for (const row of [header, ...rows])
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
}

/** The kafka group: each run's clocks and costs, and the same-round ratios of each batch size against per event. */
function printKafka(results: RunResult[], twin: (r: RunResult, mode: Mode) => RunResult | undefined) {
  if (results.length === 0) return;
  const ratio = (r: RunResult, pick: (x: RunResult) => number | undefined) => {
    const perEvent = twin(r, 'engine');
    const mine = pick(r);
    const theirs = perEvent && pick(perEvent);
    return r.mode !== 'engine' && mine !== undefined && theirs ? `${round(mine / theirs)}x` : '';
  };
  const cpu = (r: RunResult) => r.workerCpuSeconds[0];
  const rss = (r: RunResult) => r.peakRssMb[0];
  const drain = (r: RunResult) => round(r.events / r.kafka!.secondsFromConsuming);
  const rows = results.map((r) => [
    r.mode === 'engine' ? 'per-event' : r.mode,
    String(r.round),
    String(r.events),
    String(r.kafka!.partitions),
    `${r.eventsPerSecond}${r.complete ? '' : '!'}`,
    String(drain(r)),
    String(r.kafka!.secondsFromSpawn),
    String(r.kafka!.firstDeliveryAfterConsumingS),
    String(r.kafka!.workflows),
    String(r.kafka!.eventsPerWorkflow),
    String(r.actionsPerEvent),
    String(cpu(r)),
    String(r.cpuSeconds.temporal ?? 0),
    String(rss(r)),
    ratio(r, (x) => x.eventsPerSecond),
    ratio(r, drain),
    ratio(r, (x) => x.actionsPerEvent),
    ratio(r, cpu),
    ratio(r, rss),
  ]);
  console.log('kafka source (a backlog on a fresh topic, one worker, one webhook):');
  printColumns(
    [
      'mode',
      'round',
      'events',
      'partitions',
      'events/s',
      'drain ev/s',
      's from spawn',
      'first delivery s',
      'workflows',
      'events/workflow',
      'actions/ev',
      'worker CPU s',
      'Temporal CPU s',
      'peak RSS MB',
      'ev/s vs per-event',
      'drain vs',
      'actions vs',
      'CPU vs',
      'RSS vs',
    ],
    rows,
  );
  console.log(
    ' (events/s: first delivery to last; drain ev/s: from the source\'s "consuming" line (group joined) to the last delivery;',
  );
  console.log(
    '  first delivery s: from that line; s from spawn: worker spawned to the last delivery; worker and Temporal CPU from',
  );
  console.log(
    "  that line to the last delivery (Temporal's includes whatever else the shared server ran); ratios: batch / per-event,",
  );
  console.log('  same round)');
}

/** The processes that serve each kind of server: the dev server is one process with SQLite inside. */
const SERVER_PROCESSES: Record<Server, string[]> = {
  dev: ['temporal'],
  cluster: ['frontend', 'history', 'matching', 'temporal-worker', 'postgres', 'elasticsearch'],
};

/** The cluster group's figure for sizing: CPU seconds each process spent per 1,000 delivered events. Processes
 * of the other server (idle, or busy with someone else's work) are left out of the totals. */
function printCpuPerThousand(results: RunResult[]) {
  if (results.length === 0) return;
  const kinds = [...SERVER_PROCESSES.dev, ...SERVER_PROCESSES.cluster];
  const header = ['mode', 'server', 'workers', 'round', 'events/s', ...kinds, 'server total', 'worker', 'each worker'];
  const rows = results.map((r) => {
    const server = r.server ?? 'dev';
    const per = (seconds = 0) => round((seconds * 1000) / r.events);
    const mine = SERVER_PROCESSES[server];
    const serverTotal = mine.reduce((sum, kind) => sum + (r.cpuSeconds[kind] ?? 0), 0);
    const worker = r.cpuSeconds.worker ?? r.cpuSeconds.ceiling ?? 0;
    return [
      r.mode,
      server,
      String(r.workers),
      String(r.round),
      String(r.eventsPerSecond),
      ...kinds.map((kind) => (mine.includes(kind) ? String(per(r.cpuSeconds[kind])) : '-')),
      String(per(serverTotal)),
      String(per(worker)),
      r.workerCpuSeconds.map((s) => per(s)).join('+'),
    ];
  });
  console.log(
    "CPU seconds per 1,000 events (temporal = the dev server; frontend, history, matching, temporal-worker = the cluster's services;",
  );
  console.log(" worker = bucketflow's worker processes, or the ceiling's):");
  printColumns(header, rows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
