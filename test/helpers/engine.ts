// The real engine for integration tests: src/engine/engine.ts's startEngine, as every entry point assembles it, on the
// stack's Temporal server (TEMPORAL_ADDRESS) with its own task queue, data dir and targets config, and the client a
// storage server would use.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Worker } from '@temporalio/worker';
import { endpoints } from '../../scripts/stack/endpoints';
import { BucketflowClient } from '../../src/publish/publisher';
import type { NotificationRule } from '../../src/rules';
import { FileStateStore } from '../../src/state';
import { loadSettings, type BatchSettings, type Settings } from '../../src/settings';
import type { TemporalConnectionSettings } from '../../src/settings/temporal';
import { startEngine as startRealEngine, type EngineDeps } from '../../src/engine/engine';
import { loadWorkflowBundle } from '../../src/engine/workflow-bundle';

let bundle: ReturnType<typeof loadWorkflowBundle> | undefined;

/** The cached bundle (built once per version of the sources), loaded once per test process. */
export function workflowBundle() {
  bundle ??= loadWorkflowBundle();
  return bundle;
}

export interface EngineOptions {
  /** The `notify` section of a MinIO config.json. */
  notify: Record<string, unknown>;
  rules: Record<string, NotificationRule[]>;
  /** In-process workers to start now (default 1); 0 leaves polling to workers started later. */
  workers?: number;
  /** Another Temporal connection than the stack's plaintext one (e.g. the stack's TLS proxy). */
  temporal?: Partial<TemporalConnectionSettings>;
  /** The high-volume mode's settings for both publishers (default: per-event mode). */
  batch?: Partial<BatchSettings>;
  /** Other settings than the defaults (e.g. maxInFlightDeliveries). */
  settings?: Partial<Settings>;
  /** The engine's environment: `${VAR}` references of the config, the AWS_* settings backfills and scans list buckets
   * with (default none). */
  env?: NodeJS.ProcessEnv;
}

export interface Engine {
  settings: Settings;
  /** The publisher `npm start`'s ingest uses: it matches the rules and starts eagerly on this process's workers. */
  client: BucketflowClient;
  /** A publisher on a connection of its own, as a storage-side service or a separate ingest: the workflow matches the
   * rules. */
  plainClient: BucketflowClient;
  deps: EngineDeps;
  /** Starts another worker on the same task queue (for failover tests); stopped with the engine. */
  addWorker(): Promise<Worker>;
  stop(): Promise<void>;
}

export async function startEngine(options: EngineOptions): Promise<Engine> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bucketflow-test-'));
  const configFile = path.join(dataDir, 'config.json');
  await writeFile(configFile, JSON.stringify({ region: 'us-east-1', notify: options.notify }));
  // The stack's dev server, or the Temporal server TEMPORAL_ADDRESS names (npm run test:cluster: the stack's cluster).
  const defaults = loadSettings({ TEMPORAL_ADDRESS: endpoints.temporal });
  const settings: Settings = {
    ...defaults,
    ...options.temporal,
    ...options.settings,
    dataDir,
    configFile,
    taskQueue: `test-${randomUUID()}`,
    batch: { ...defaults.batch, ...options.batch },
  };

  const store = new FileStateStore(dataDir);
  for (const [bucket, rules] of Object.entries(options.rules)) await store.put(bucket, rules);
  await store.close();

  // The settings here name no metrics or health port, no ingest and no Kafka source unless a test's options do.
  const engine = await startRealEngine(settings, {
    workers: options.workers ?? 1,
    workerOptions: { workflowBundle: await workflowBundle() },
    env: options.env ?? {},
  });
  const plainClient = await BucketflowClient.connect(settings);

  return {
    settings,
    client: engine.publisher,
    plainClient,
    deps: engine.deps,
    addWorker: engine.addWorker,
    async stop() {
      await engine.close();
      await plainClient.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The real `src/worker/main.ts` as its own process, on the engine's task queue, data dir and config; stderr piped. */
export function spawnWorker(settings: Settings, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawnEntryPoint('worker', settings, env);
}

/** spawnWorker, resolved once the worker logged that it started (rejects, with its output, if it exits first). */
export async function spawnStartedWorker(settings: Settings, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const worker = spawnWorker(settings, env);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    worker.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"worker started"')) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before it started:\n${output}`)));
  });
  return worker;
}

/** An entry point (`npm run worker` or `npm run ingest`) as its own process, on these settings; stderr piped. */
export function spawnEntryPoint(
  entry: 'worker' | 'ingest',
  settings: Settings,
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  // As `npm run <entry>` runs it: the build when current, else the sources (entry.sh execs node: same pid).
  return spawn('bash', ['scripts/entry.sh', entry], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: settings.temporalAddress,
      BUCKETFLOW_TASK_QUEUE: settings.taskQueue,
      BUCKETFLOW_CONFIG: settings.configFile,
      BUCKETFLOW_DATA_DIR: settings.dataDir,
      ...env,
    },
  });
}

/** The ARN of `oneWebhook`'s target. */
export const ONE_WEBHOOK_ARN = 'arn:minio:sqs:us-east-1:1:webhook';

/** The engine's config and rules for one webhook target (id 1) at `endpoint`, sent every object the bucket creates. */
export function oneWebhook(endpoint: string, bucket: string): Pick<EngineOptions, 'notify' | 'rules'> {
  return {
    notify: { webhook: { '1': { enable: true, endpoint } } },
    rules: { [bucket]: [{ id: '1', arn: ONE_WEBHOOK_ARN, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
  };
}

/** A fresh bucket name per test, so tests never see each other's workflows in visibility queries. */
export function uniqueBucket(prefix = 'bucket'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
