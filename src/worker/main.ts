// `npm run worker`: polls the task queue and runs the delivery workflows and their activities. With
// BUCKETFLOW_INGEST=on it also serves the HTTP ingest (which then matches the rules itself and starts each
// delivery eagerly on this worker), and with BUCKETFLOW_SOURCE_KAFKA_TOPIC it consumes the Kafka source.
// Runs until SIGINT/SIGTERM: the intake stops at once, in-flight work drains, then the targets close.
import { startEngine } from '../engine/engine';
import { installRuntimeLogger } from '../engine/runtime';
import { exitOnStartError } from '../fatal';
import { loadSettings } from '../settings';

(async () => {
  const settings = loadSettings();
  installRuntimeLogger(settings);
  const engine = await startEngine(settings);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void engine.close());
  await engine.run();
})().catch(exitOnStartError('worker'));
