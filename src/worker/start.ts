// `npm start`: the embedded default. Starts a local Temporal dev server (through the stack manager) when
// none answers at TEMPORAL_ADDRESS, then runs a worker and the ingest server in this one process (the
// ingest starts deliveries eagerly on this worker).
import { spawnSync } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { exitOnStartError } from '../fatal';
import { log } from '../telemetry/log';
import { packageRoot } from '../runtime-paths';
import { loadSettings, type Settings } from '../settings';
import { DEFAULT_TEMPORAL_ADDRESS } from '../config/temporal-settings';
import { connectionOptions } from '../temporal/connection';
import { installRuntimeLogger, runWorker } from './main';

async function temporalAnswers(settings: Settings): Promise<boolean> {
  try {
    const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: 2_000 });
    await connection.workflowService.getSystemInfo({});
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

function startLocalTemporal(): void {
  log('INFO', 'no Temporal server answers: starting the local dev server (npm run stack -- up temporal)');
  const result = spawnSync('npm', ['run', '--silent', 'stack', '--', 'up', 'temporal'], { cwd: packageRoot, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('could not start the local Temporal dev server (see the output above)');
}

async function main(): Promise<void> {
  const settings = loadSettings();
  installRuntimeLogger(settings);
  // Only the local default is ours to start; a configured cluster that does not answer is the worker's error to report.
  const local = settings.temporalAddress === DEFAULT_TEMPORAL_ADDRESS && !settings.temporalTls;
  if (local && !(await temporalAnswers(settings))) startLocalTemporal();
  await runWorker(settings, { ingest: true }); // returns after SIGINT/SIGTERM, once in-flight work drained
}

main().catch(exitOnStartError('bucketflow'));
