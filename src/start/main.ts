// `npm start`: the embedded default. Starts a local Temporal dev server (through the stack manager) when
// none answers at TEMPORAL_ADDRESS, then runs a worker and the ingest server in this one process (the
// ingest starts deliveries eagerly on this worker).
import { spawnSync } from 'node:child_process';
import { exitOnStartError } from '../fatal';
import { log } from '../telemetry/log';
import { packageRoot } from '../runtime-paths';
import { loadSettings } from '../settings';
import { DEFAULT_TEMPORAL_ADDRESS } from '../settings/temporal';
import { temporalAnswers } from '../temporal/connection';
import { startEngine } from '../engine/engine';
import { installRuntimeLogger } from '../engine/runtime';

function startLocalTemporal(): void {
  log('INFO', 'no Temporal server answers: starting the local dev server (npm run stack -- up temporal)');
  const result = spawnSync('npm', ['run', '--silent', 'stack', '--', 'up', 'temporal'], {
    cwd: packageRoot,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error('could not start the local Temporal dev server (see the output above)');
}

async function main(): Promise<void> {
  const settings = loadSettings();
  installRuntimeLogger(settings);
  // Only the local default is ours to start; a configured cluster that does not answer is the worker's error to report.
  const local = settings.temporalAddress === DEFAULT_TEMPORAL_ADDRESS && !settings.temporalTls;
  if (local && !(await temporalAnswers(settings))) startLocalTemporal();
  const engine = await startEngine(settings, { ingest: true });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void engine.close());
  await engine.run(); // returns after SIGINT/SIGTERM, once in-flight work drained
}

main().catch(exitOnStartError('bucketflow'));
