// `npm run ingest`: the HTTP ingest on a connection of its own (no worker in this process), so the workflow
// matches the bucket rules itself and no start is eager. It starts even while Temporal is down, answering 503
// until Temporal is back. Runs until SIGINT/SIGTERM.
import { startEngine } from '../engine/engine';
import { exitOnStartError } from '../fatal';
import { loadSettings } from '../settings';
import { setLogLevel } from '../telemetry/log';

(async () => {
  const settings = loadSettings();
  setLogLevel(settings.logLevel);
  const engine = await startEngine(settings, { role: 'ingest' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void engine.close());
  await engine.run();
})().catch(exitOnStartError('ingest'));
