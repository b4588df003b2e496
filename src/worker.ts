// `npm run worker`: polls the task queue, runs delivery workflows and one activity per target.
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadTargetsConfig, describeTargets } from './config';
import { log } from './log';
import { openRulesStore, type RulesStore } from './rules';
import { loadSettings, type Settings } from './settings';
import { TargetPool } from './targets/pool';

export interface EngineDeps {
  targets: TargetPool;
  rules: RulesStore;
}

/** Loads the targets config and opens the rules store; a bad config throws naming the ARN and field. */
export async function openEngineDeps(settings: Settings, env: NodeJS.ProcessEnv = process.env): Promise<EngineDeps> {
  const config = await loadTargetsConfig({ file: settings.configFile, env });
  log('INFO', 'targets loaded', { targets: describeTargets(config.targets) });
  return { targets: new TargetPool(config.targets), rules: openRulesStore(settings) };
}

export async function closeEngineDeps(deps: EngineDeps): Promise<void> {
  await Promise.allSettled([deps.targets.close(), deps.rules.close()]);
}

export type WorkerTuning = Pick<
  WorkerOptions,
  'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows'
>;

export function tuningFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerTuning {
  const int = (name: string) => (env[name] ? Number.parseInt(env[name]!, 10) : undefined);
  return {
    maxConcurrentActivityTaskExecutions: int('BUCKETFLOW_MAX_CONCURRENT_ACTIVITIES') ?? 200,
    maxConcurrentWorkflowTaskExecutions: int('BUCKETFLOW_MAX_CONCURRENT_WORKFLOW_TASKS') ?? 100,
    maxCachedWorkflows: int('BUCKETFLOW_MAX_CACHED_WORKFLOWS'),
  };
}

export async function createWorker(
  connection: NativeConnection,
  settings: Settings,
  deps: EngineDeps,
  extra: Partial<WorkerOptions> = {},
): Promise<Worker> {
  const workflowSource = extra.workflowBundle ? {} : { workflowsPath: require.resolve('../workflows') };
  return Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    activities: createActivities(deps),
    ...workflowSource,
    ...tuningFromEnv(),
    ...extra,
  });
}

/** Runs a worker until SIGINT/SIGTERM; in-flight activities drain before the targets are closed. */
export async function runWorker(settings: Settings = loadSettings()): Promise<void> {
  const deps = await openEngineDeps(settings);
  const connection = await NativeConnection.connect({ address: settings.temporalAddress });
  try {
    const worker = await createWorker(connection, settings, deps);
    log('INFO', 'worker started', { address: settings.temporalAddress, namespace: settings.namespace, taskQueue: settings.taskQueue });
    await worker.run();
    log('INFO', 'worker stopped');
  } finally {
    await closeEngineDeps(deps);
    await connection.close();
  }
}

export function installRuntimeLogger(): void {
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) =>
      log(entry.level, entry.message, { ...entry.meta, source: 'temporal' }),
    ),
  });
}

if (require.main === module) {
  installRuntimeLogger();
  runWorker().catch((err) => {
    log('ERROR', 'worker failed', { error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
}
