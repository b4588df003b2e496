// The one place the engine is assembled. Every process (`npm run worker`, `npm run ingest`, `npm start`), the
// integration tests and the bench call startEngine with the loaded settings and the parts they want, so a test
// engine cannot drift from the real one. It owns, in order of opening: the targets (one shared connection each),
// the state store (rules, target state, sent log), the gate, admission control, the Temporal connection, the
// metrics server, the HTTP ingest with the status page, the Kafka source, what backfills run on (S3 access, their
// publisher), the workers and the health server;
// `close` stops the intake first, lets the workers drain, then closes the rest in reverse. A start that fails
// closes what it opened and reports its own error (a cleanup error is logged, never hides it).
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { describeTargets, loadTargetsConfig } from '../config';
import { MEMO_WARN_BYTES } from '../delivery/batch-index';
import { messageWithCause, withTimeout } from '../errors';
import { runIngest } from '../http/server';
import { DeliveryAdmission } from '../publish/admission';
import type { BucketflowClient } from '../publish/publisher';
import type { Settings } from '../settings';
import { describeTemporalConnection } from '../settings/temporal';
import { startKafkaSource, type KafkaSource } from '../sources/kafka';
import { DeliveredRecorder, openStateStore, type StateStore } from '../state';
import type { ScanDeps } from '../../activities';
import { loadS3Settings } from '../settings/s3';
import { openS3 } from '../s3/client';
import { MAX_BATCH_EVENTS } from '../settings';
import type { BatchEvent } from '../delivery/types';
import { TargetGate, gateMetrics } from '../targets/gate';
import { TargetPool } from '../targets/pool';
import { log } from '../telemetry/log';
import { serveMetrics } from '../telemetry/metrics';
import { RecentSends } from '../telemetry/recent-sends';
import { shutdownTracing } from '../telemetry/tracing';
import { connectTemporal } from '../temporal/connection';
import { SearchAttributesError, checkSearchAttributes } from '../temporal/register-search-attributes';
import { engineBackfill } from './backfill';
import { serveHealth } from './health';
import { ingestPublisher, sourcePublisher, workerPublisher } from './publishers';
import { createWorker } from './worker';

/** Said once at start when no target is enabled, with the line that fixes it (README, "Quick start"). */
export const NO_TARGETS =
  'no targets configured, so every event ends as no-targets: point BUCKETFLOW_CONFIG at a MinIO config.json, e.g. BUCKETFLOW_CONFIG=examples/config.json npm start';

export interface EngineDeps {
  targets: TargetPool;
  state: StateStore;
  gate: TargetGate;
  /** Deliveries this process holds (admission control): fed by its workflows' sink, consulted by its ingest and Kafka
   * source. */
  admission: DeliveryAdmission;
  /** This worker's last hour of sends (the status page's send times when the ingest runs in the worker). */
  sends: RecentSends;
  /** Notes what targets received, for reconciliation's delivered states (written in bulk to the state store). */
  delivered: DeliveredRecorder;
  /** What the scan sources' activity uses: S3 access and publishing through admission control (role worker). */
  scans?: ScanDeps;
}

export interface EngineParts {
  /**
   * `worker` (default): targets, workers polling the task queue, and the intake asked for below, on one
   * NativeConnection. `ingest`: the HTTP ingest alone on a connection of its own (no targets, no worker; the
   * workflow matches the rules itself), started even while Temporal is down.
   */
  role?: 'worker' | 'ingest';
  /** Workers to start in this process (role worker; default 1). 0 leaves polling to other processes. */
  workers?: number;
  /** Serve the HTTP ingest and the status page (role worker; default settings.ingestInWorker). */
  ingest?: boolean;
  /** Run the Kafka source when settings.kafkaSource names a topic (role worker; default true). */
  kafkaSource?: boolean;
  /** Serve /metrics and the health probes on the ports the settings name (default true). */
  serve?: boolean;
  /** Options for every worker (tests: a workflow bundle built once per process). */
  workerOptions?: Partial<WorkerOptions>;
  /** Where `${VAR}` references of the targets config and the AWS_* settings of backfills and scans are read (default
   * process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface Engine {
  readonly settings: Settings;
  /** The targets, state, gate and admission (role ingest: only `state` and `admission` are real; see `role`). */
  readonly deps: EngineDeps;
  readonly role: 'worker' | 'ingest';
  /** The publisher the ingest and the Kafka source use (role worker: matches the rules and starts eagerly here). */
  readonly publisher: BucketflowClient;
  /** The worker's NativeConnection (role worker). */
  readonly connection: NativeConnection | undefined;
  readonly ingest: FastifyInstance | undefined;
  readonly workers: readonly Worker[];
  /** Starts one more worker on the same task queue and connection (role worker). */
  addWorker(): Promise<Worker>;
  /** Stops taking new events (the ingest and the Kafka source); what was accepted is already durable in Temporal. */
  stopIntake(): Promise<void>;
  /**
   * Resolves once the engine stopped: its workers drained (after close(), or the SDK's own SIGINT/SIGTERM handling)
   * and everything it opened closed; role ingest: once close() is called. Rejects with a worker's failure.
   */
  run(): Promise<void>;
  /** Stops the intake, shuts the workers down, waits for them to drain and closes everything (idempotent). */
  close(): Promise<void>;
}

/** Assembles and starts the engine: see the opening comment. */
export async function startEngine(settings: Settings, parts: EngineParts = {}): Promise<Engine> {
  const role = parts.role ?? 'worker';
  const closers: Array<{ what: string; close: () => Promise<unknown> }> = [];
  const opened = <T>(what: string, value: T, close: (value: T) => Promise<unknown>): T => {
    closers.push({ what, close: () => close(value) });
    return value;
  };
  const closeOpened = async () => {
    for (const { what, close } of closers.splice(0).reverse()) {
      await close().catch((err: unknown) =>
        log('WARN', `closing the ${what} failed`, { error: messageWithCause(err) }),
      );
    }
  };
  try {
    return role === 'ingest'
      ? await startIngestOnly(settings, parts, opened, closeOpened)
      : await startWorkerEngine(settings, parts, opened, closeOpened);
  } catch (err) {
    await closeOpened();
    throw err;
  }
}

type Opened = <T>(what: string, value: T, close: (value: T) => Promise<unknown>) => T;

async function startWorkerEngine(
  settings: Settings,
  parts: EngineParts,
  opened: Opened,
  closeOpened: () => Promise<void>,
): Promise<Engine> {
  const deps = openEngineDeps(settings, parts.env ?? process.env, opened);
  opened('tracing', undefined, () => shutdownTracing());
  // A batch's memo lists its events, bounded by design (src/delivery/batch-index.ts): the SDK warns past that bound,
  // not at its 2 KB default.
  const connect = (options: Parameters<typeof NativeConnection.connect>[0]) =>
    NativeConnection.connect({ ...options, payloadLimits: { memoWarnSize: MEMO_WARN_BYTES } });
  const connection = opened('Temporal connection', await connectTemporal(settings, connect), (c) => c.close());
  await checkSearchAttributes(connection, settings.namespace);
  if (parts.serve ?? true)
    opened('metrics server', await serveMetrics(settings.metrics, { sdk: true }), (close) => close());
  const publisher = workerPublisher(connection, settings, deps);
  deps.scans = scanDeps(settings, deps.admission, publisher, parts.env ?? process.env);
  const intake = new Intake();
  if (parts.ingest ?? settings.ingestInWorker) {
    intake.ingest = await runIngest(publisher, settings.ingest, { settings, ...deps }, deps.admission);
  }
  if ((parts.kafkaSource ?? true) && settings.kafkaSource) {
    // In the background: a topic not created yet, or brokers down, never holds the workers back (run() reports a fatal
    // error).
    intake.kafka = startKafkaSource(settings.kafkaSource, sourcePublisher(deps.admission, publisher));
  }
  opened('intake', intake, (i) => i.stop()); // stopped before anything else is closed

  const backfill = opened(
    'backfill S3 access',
    engineBackfill(connection, settings, deps.admission, parts.env ?? process.env),
    (b) => b.close(),
  );
  const workers: Worker[] = [];
  const running: Array<Promise<void>> = [];
  // Open before the workers and closed after they drained: ready only while the first worker polls, alive throughout.
  if (parts.serve ?? true) {
    const health = await serveHealth(() => workers[0]?.getState() ?? 'INITIALIZED', settings.health);
    if (health) opened('health server', health, (h) => h.close());
    intake.healthUrl = health?.url;
  }
  const addWorker = async () => {
    const worker = await createWorker(connection, settings, { ...deps, backfill }, parts.workerOptions);
    workers.push(worker);
    const done = worker.run();
    done.catch(() => {}); // reported by run()
    running.push(done);
    return worker;
  };
  // Created workers hold the connection: from here on they are shut down and drained before it closes.
  opened('workers', workers, async () => {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.allSettled(running);
  });
  for (let i = 0; i < (parts.workers ?? 1); i++) await addWorker();
  log('INFO', 'worker started', {
    ...describeTemporalConnection(settings),
    taskQueue: settings.taskQueue,
    fastPath: settings.fastPath,
    batchMaxEvents: settings.batch.maxEvents,
    ingest: Boolean(intake.ingest),
    kafkaSource: intake.kafka ? settings.kafkaSource?.topic : undefined,
    health: intake.healthUrl,
  });
  return engineOf({
    settings,
    deps,
    role: 'worker',
    publisher,
    connection,
    intake,
    workers,
    addWorker,
    closeOpened,
    running,
  });
}

async function startIngestOnly(
  settings: Settings,
  parts: EngineParts,
  opened: Opened,
  closeOpened: () => Promise<void>,
): Promise<Engine> {
  const publisher = opened('publisher', ingestPublisher(settings), (p) => p.close());
  opened('tracing', undefined, () => shutdownTracing());
  // Any Temporal server: add bucketflow's search attributes if missing. The ingest also starts while Temporal
  // is down (answering 503): then the check is left to the worker.
  await withTimeout(
    checkSearchAttributes(publisher.temporal.connection, settings.namespace),
    5_000,
    'search attribute check',
  ).catch((err: unknown) => {
    if (err instanceof SearchAttributesError) throw err;
    log('WARN', 'could not check the search attributes (Temporal unreachable?)', { error: messageWithCause(err) });
  });
  const state = opened('state store', openStateStore(settings), (r) => r.close());
  // No worker here to report deliveries back: only the starts under way count against the bound.
  const admission = new DeliveryAdmission(settings.maxInFlightDeliveries, false);
  if (parts.serve ?? true) opened('metrics server', await serveMetrics(settings.metrics), (close) => close());
  const intake = opened('intake', new Intake(), (i) => i.stop());
  intake.ingest = await runIngest(publisher, settings.ingest, { settings, state }, admission);
  const deps = { state, admission } as Partial<EngineDeps> as EngineDeps; // no targets, gate or sends in an ingest-only process
  const addWorker = () => Promise.reject(new Error('an ingest-only engine runs no worker'));
  return engineOf({
    settings,
    deps,
    role: 'ingest',
    publisher,
    connection: undefined,
    intake,
    workers: [],
    addWorker,
    closeOpened,
    running: [],
  });
}

/** The targets config loaded (a bad config throws naming the ARN and field) and the state every send consults. */
function openEngineDeps(settings: Settings, env: NodeJS.ProcessEnv, opened: Opened): EngineDeps {
  const config = loadTargetsConfig({ file: settings.configFile, env });
  log('INFO', 'targets loaded', { targets: describeTargets(config.targets) });
  if (!config.targets.some((t) => t.enabled)) log('WARN', NO_TARGETS);
  const state = opened('state store', openStateStore(settings), (r) => r.close());
  // Closed before the store: its sent record's last writes go to the store's sent log.
  const targets = opened('targets', new TargetPool(config.targets), (t) => t.close());
  targets.sent.share(state.sentLog()); // a task re-run on another worker does not send again what this one sent
  const enabled = config.targets.filter((t) => t.enabled);
  const gate = opened('gate', new TargetGate(state, enabled, (arn) => targets.get(arn)!.health(), gateMetrics), (g) =>
    g.close(),
  );
  const admission = opened('admission', new DeliveryAdmission(settings.maxInFlightDeliveries), async (a) => a.close());
  // Closed after the workers drained (their last notes written), before the store.
  const delivered = opened('delivered states', new DeliveredRecorder(state.scans()), (d) => d.close());
  return { targets, state, gate, sends: new RecentSends(), admission, delivered };
}

/**
 * The scan sources' S3 access (settings read at each round: a bad one fails that run with one line naming it, the
 * worker runs on) and their publishing: batch workflows (of the high-volume mode's size, or the most a batch takes
 * when that mode is off), held by admission control like every other intake.
 */
function scanDeps(
  settings: Settings,
  admission: DeliveryAdmission,
  publisher: BucketflowClient,
  env: NodeJS.ProcessEnv,
): ScanDeps {
  const maxEvents = settings.batch.maxEvents > 1 ? settings.batch.maxEvents : MAX_BATCH_EVENTS;
  return {
    openS3: (endpoint) =>
      openS3(loadS3Settings(env, endpoint ? { endpoint, endpointField: "the scan's endpoint" } : {})),
    publish: (events, wait) =>
      admission.publishWhenRoom(events, (part) => publisher.publishListed(part as BatchEvent[], maxEvents), wait),
    pageSize: settings.scanPageSize,
  };
}

/** What takes events in: stopped first on close, each once. */
class Intake {
  ingest: FastifyInstance | undefined;
  kafka: KafkaSource | undefined;
  healthUrl: string | undefined;
  private stopping: Promise<void> | undefined;
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      await this.kafka?.stop();
      await this.ingest?.close();
    })());
  }
}

function engineOf(e: {
  settings: Settings;
  deps: EngineDeps;
  role: 'worker' | 'ingest';
  publisher: BucketflowClient;
  connection: NativeConnection | undefined;
  intake: Intake;
  workers: Worker[];
  addWorker: () => Promise<Worker>;
  closeOpened: () => Promise<void>;
  running: Array<Promise<void>>;
}): Engine {
  let closing: Promise<void> | undefined;
  let closeCalled: () => void = () => {};
  const closeRequested = new Promise<void>((resolve) => (closeCalled = resolve));
  const close = () => {
    closeCalled();
    // The intake stops first, so nothing new arrives while the workers drain.
    return (closing ??= e.intake
      .stop()
      .catch(() => {})
      .then(e.closeOpened));
  };
  return {
    settings: e.settings,
    deps: e.deps,
    role: e.role,
    publisher: e.publisher,
    connection: e.connection,
    get ingest() {
      return e.intake.ingest;
    },
    workers: e.workers,
    addWorker: e.addWorker,
    stopIntake: () => e.intake.stop(),
    async run() {
      if (e.role === 'ingest') await closeRequested;
      else {
        // A worker that fails rejects at once; one that stops (drained) waits for the others. A Kafka source that
        // stopped for good (a fatal error: an invalid topic, a refused authorization) stops the engine with its error.
        const sourceFailed = e.intake.kafka?.failed.catch((err: unknown): PromiseSettledResult<void>[] => [
          { status: 'rejected', reason: err },
        ]);
        const results = await Promise.race([Promise.allSettled(e.running), ...(sourceFailed ? [sourceFailed] : [])]);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        await close();
        if (failed) throw failed.reason;
        log('INFO', 'worker stopped');
        return;
      }
      await close();
    },
    close,
  };
}
