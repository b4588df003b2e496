// `npm start`: the embedded default. Starts a local Temporal dev server (through the stack manager) when
// none answers at TEMPORAL_ADDRESS, then runs a worker and the ingest server in this one process (the
// ingest starts deliveries eagerly on this worker).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { exitOnStartError } from './fatal';
import { log } from './log';
import { loadSettings } from './settings';
import { installRuntimeLogger, runWorker } from './worker';

async function temporalAnswers(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 2_000 });
    await connection.workflowService.getSystemInfo({});
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

function startLocalTemporal(): void {
  log('INFO', 'no Temporal server answers: starting the local dev server (npm run stack -- up temporal)');
  const repo = path.resolve(__dirname, '..');
  const result = spawnSync('npm', ['run', '--silent', 'stack', '--', 'up', 'temporal'], { cwd: repo, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('could not start the local Temporal dev server (see the output above)');
}

async function main(): Promise<void> {
  installRuntimeLogger();
  const settings = loadSettings();
  if (!(await temporalAnswers(settings.temporalAddress))) startLocalTemporal();
  await runWorker(settings, { ingest: true }); // returns after SIGINT/SIGTERM, once in-flight work drained
}

main().catch(exitOnStartError('bucketflow'));
