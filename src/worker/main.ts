// `npm run worker`: polls the task queue and runs the delivery workflows and their activities. With
// BUCKETFLOW_INGEST=on (and always under `npm start`) it also serves the HTTP ingest, which then matches
// the rules itself and starts each delivery eagerly on this worker.
import { Client } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, resolveTargets } from '../../activities';
import { BucketflowClient, workflowIdFor } from '../client';
import { loadTargetsConfig, describeTargets } from '../config';
import { checkSearchAttributes } from '../temporal/register-search-attributes';
import { exitOnStartError } from '../fatal';
import { serveHealth, type HealthServer } from './health';
import { startKafkaSource, type PublishEvents } from '../ingest/kafka-source';
import { runIngest } from '../ingest/server';
import { DeliveryAdmission } from '../ingest/admission';
import type { DeliverInput, DeliverySinks } from '../../workflows/types';
import type { InjectedSinks } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import { DELIVER_BATCH } from '../delivery/workflow-types';
import { childLogger, log, setLogLevel } from '../telemetry/log';
import { gateMetrics, serveMetrics } from '../telemetry/metrics';
import { openRulesStore, type RulesStore } from '../rules';
import { loadSettings, type Settings } from '../settings';
import { TargetGate } from '../targets/gate';
import { describeTemporalConnection } from '../config/temporal-settings';
import { connectTemporal } from '../temporal/connection';
import { TemporalOutageLog } from '../temporal/outage-log';
import { clientTracingInterceptors, shutdownTracing, tracingEnabled, workerTracingOptions } from '../telemetry/tracing';
import { TargetPool } from '../targets/pool';
import { RecentSends } from '../telemetry/recent-sends';
import { loadWorkflowBundle } from './workflow-bundle';

export interface EngineDeps {
  targets: TargetPool;
  rules: RulesStore;
  gate: TargetGate;
  /** Deliveries this worker holds (admission control): fed by its workflows' sink, consulted by its ingest. */
  admission: DeliveryAdmission;
  /** This worker's last hour of sends (the status page's send times when the ingest runs in the worker). */
  sends: RecentSends;
}

/** Said once at start when no target is enabled, with the line that fixes it (README, "Quick start"). */
export const NO_TARGETS = 'no targets configured, so every event ends as no-targets: point BUCKETFLOW_CONFIG at a MinIO config.json, e.g. BUCKETFLOW_CONFIG=examples/config.json npm start';

/** Loads the targets config and opens the rules store; a bad config throws naming the ARN and field. */
export async function openEngineDeps(settings: Settings, env: NodeJS.ProcessEnv = process.env): Promise<EngineDeps> {
  const config = loadTargetsConfig({ file: settings.configFile, env });
  log('INFO', 'targets loaded', { targets: describeTargets(config.targets) });
  if (!config.targets.some((t) => t.enabled)) log('WARN', NO_TARGETS);
  const targets = new TargetPool(config.targets);
  const rules = openRulesStore(settings);
  targets.sent.share(rules.sentLog()); // a task re-run on another worker does not send again what this one sent
  const gate = new TargetGate(rules, config.targets.filter((t) => t.enabled), (arn) => targets.get(arn)!.health(), gateMetrics);
  return { targets, rules, gate, sends: new RecentSends(), admission: new DeliveryAdmission(settings.maxInFlightDeliveries) };
}

export async function closeEngineDeps(deps: EngineDeps): Promise<void> {
  deps.admission.close();
  await deps.gate.close();
  await deps.targets.close().catch(() => {}); // first: its sent record's last writes go to the rules store
  await deps.rules.close().catch(() => {});
}

export async function createWorker(
  connection: NativeConnection,
  settings: Settings,
  deps: EngineDeps,
  extra: Partial<WorkerOptions> = {},
): Promise<Worker> {
  // Events a batch could not deliver everywhere continue as per-event deliveries, started eagerly on this worker.
  const continuer = new BucketflowClient(new Client({ connection, namespace: settings.namespace, interceptors: clientTracingInterceptors() }), {
    taskQueue: settings.taskQueue,
    eagerStart: true,
  });
  return Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities: createActivities({ ...deps, continueDelivery: (input) => continueCounted(continuer, deps.admission, input) }),
    sinks: deliverySinks(deps.admission),
    workflowBundle: extra.workflowBundle ?? (await loadWorkflowBundle({ traced: tracingEnabled() })),
    ...settings.tuning,
    ...workerTracingOptions(),
    ...extra,
  });
}

/**
 * An event a batch continues in its own delivery counts against admission from before that delivery's start
 * until its fast path is over (its own sink call), like any per-event delivery; not when it existed already.
 */
async function continueCounted(continuer: BucketflowClient, admission: DeliveryAdmission, input: DeliverInput): Promise<string> {
  const workflowId = workflowIdFor(input.eventId);
  admission.hold(workflowId);
  const started = await continuer.continueFromBatch(input).catch((err: unknown) => {
    admission.released(workflowId);
    throw err;
  });
  if (started.duplicate) admission.released(workflowId);
  return started.workflowId;
}

/**
 * The Kafka source's publish in a worker: bound like the ingest, but a full worker makes the fetch wait (the backlog
 * stays in Kafka) instead of refusing it, and a fetch larger than the bound goes in parts of the bound.
 */
export function sourcePublisher(admission: DeliveryAdmission, publisher: BucketflowClient): PublishEvents {
  return async (events, waitForRoom) => (await admission.publishWhenRoom(events, (part) => publisher.publishParsed([...part]), waitForRoom)) !== undefined;
}

/**
 * Where the delivery workflows' sink calls land: a fast path that ended (a batch's first task, for a batch) no
 * longer counts against admission. Also for replays (no admission).
 */
export function deliverySinks(admission?: DeliveryAdmission): InjectedSinks<DeliverySinks> {
  const fastPathOver = (info: WorkflowInfo) => (info.workflowType === DELIVER_BATCH ? admission?.batchOver(info.workflowId) : admission?.released(info.workflowId));
  return { deliveries: { fastPathOver: { fn: fastPathOver, callDuringReplay: false } } };
}

/**
 * A publisher sharing the worker's connection: it matches the rules where the event is accepted and asks
 * for eager start, so the server hands the first workflow task straight back to this worker.
 */
export function workerPublisher(connection: NativeConnection, settings: Settings, deps: EngineDeps): BucketflowClient {
  return new BucketflowClient(new Client({ connection, namespace: settings.namespace, interceptors: clientTracingInterceptors() }), {
    taskQueue: settings.taskQueue,
    fastPath: settings.fastPath,
    batch: settings.batch,
    resolveTargets: (record) => resolveTargets(deps, record),
    eagerStart: true,
  });
}

/** Runs a worker (and the ingest, when asked) until SIGINT/SIGTERM; in-flight work drains before the targets close. */
export async function runWorker(settings: Settings = loadSettings(), options: { ingest?: boolean } = {}): Promise<void> {
  const deps = await openEngineDeps(settings);
  const connection = await connectTemporal(settings, NativeConnection.connect.bind(NativeConnection));
  let closeIngest: (() => Promise<void>) | undefined;
  let stopKafkaSource: (() => Promise<void>) | undefined;
  let closeMetrics: (() => Promise<void>) | undefined;
  let healthServer: HealthServer | undefined;
  try {
    closeMetrics = await serveMetrics(settings.metrics, { sdk: runtimeMetrics });
    await checkSearchAttributes(connection, settings.namespace);
    const worker = await createWorker(connection, settings, deps);
    healthServer = await serveHealth(() => worker.getState(), settings.health);
    if (options.ingest ?? settings.ingestInWorker) {
      const ingest = await runIngest(workerPublisher(connection, settings, deps), settings.ingest, { settings, ...deps }, deps.admission);
      let closing: Promise<void> | undefined;
      closeIngest = () => (closing ??= ingest.close());
      // Stop accepting as soon as draining begins; what was accepted is already durable in Temporal.
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void closeIngest?.());
    }
    if (settings.kafkaSource) {
      const publisher = workerPublisher(connection, settings, deps);
      const source = await startKafkaSource(settings.kafkaSource, sourcePublisher(deps.admission, publisher));
      let stopping: Promise<void> | undefined;
      stopKafkaSource = () => (stopping ??= source.stop());
      // Stop consuming as soon as draining begins: what was committed is already durable in Temporal.
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stopKafkaSource?.());
    }
    log('INFO', 'worker started', {
      ...describeTemporalConnection(settings), taskQueue: settings.taskQueue,
      fastPath: settings.fastPath, batchMaxEvents: settings.batch.maxEvents, ingest: Boolean(closeIngest),
      kafkaSource: settings.kafkaSource?.topic, health: healthServer?.url,
    });
    await worker.run();
    log('INFO', 'worker stopped');
  } finally {
    await stopKafkaSource?.();
    await closeIngest?.();
    await closeMetrics?.();
    await healthServer?.close();
    await closeEngineDeps(deps);
    await connection.close();
    await shutdownTracing();
  }
}

/** Whether the Runtime exports the SDK's metrics (set by installRuntimeLogger when a metrics port is set). */
let runtimeMetrics = false;

/**
 * The SDK's lines, its native core's included (forwarded, not printed by the core itself), through our logger:
 * while Temporal is unreachable its retry warnings become two lines, the outage and its end (TemporalOutageLog);
 * and its Prometheus exporter when BUCKETFLOW_METRICS_PORT is set. Call before any connection.
 */
export function installRuntimeLogger(settings: Pick<Settings, 'metrics' | 'logLevel' | 'temporalAddress'>): void {
  setLogLevel(settings.logLevel);
  const { sdkAddress } = settings.metrics;
  runtimeMetrics = sdkAddress !== undefined;
  const sdkLog = childLogger({ source: 'temporal' });
  const outage = new TemporalOutageLog(settings.temporalAddress, sdkLog);
  Runtime.install({
    logger: new DefaultLogger(settings.logLevel, (entry) => {
      if (!outage.observe(entry)) log(entry.level, entry.message, entry.meta, sdkLog);
    }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
      ...(sdkAddress ? { metrics: { prometheus: { bindAddress: sdkAddress } } } : {}),
    },
  });
}

if (require.main === module) {
  (async () => {
    const settings = loadSettings();
    installRuntimeLogger(settings);
    await runWorker(settings);
  })().catch(exitOnStartError('worker'));
}
