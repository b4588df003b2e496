// The baseline: the same events through the same code the activities run (rules lookup, then each
// target's `send`), in a plain in-process loop with no Temporal. Run as a child process by bench/run.ts
// so its CPU and peak RSS are its own. Env: BENCH_CONFIG, BENCH_DATA_DIR, BENCH_BUCKET, BENCH_N,
// BENCH_BASE_TIME, BENCH_CONCURRENCY, BENCH_IN_FLIGHT (empty: unbounded), BENCH_OUT.
//
// Latency starts where the engine's does: when the event is handed over. The engine's publishers hand
// every event to Temporal without waiting for delivery capacity, so in an unbounded run all events are
// handed over at the start and their wait for a loop slot counts, as queueing in Temporal does for the
// engine. With an in-flight window the engine hands an event over only once the window admits it, and
// here the window is the loop slots: the event is handed over when a slot takes it.
import { writeFile } from 'node:fs/promises';
import { resolveTargets } from '../src/rules/resolve';
import { loadTargetsConfig } from '../src/config';
import { toEnvelope } from '../src/events';
import { FileStateStore } from '../src/state';
import { TargetPool } from '../src/targets/pool';
import { benchEvents } from './events';
import { nowMs } from './stats';

async function main() {
  const env = process.env;
  const events = benchEvents(env.BENCH_BUCKET!, Number(env.BENCH_N), Number(env.BENCH_BASE_TIME));
  const deps = {
    rules: new FileStateStore(env.BENCH_DATA_DIR!),
    targets: new TargetPool(loadTargetsConfig({ file: env.BENCH_CONFIG }).targets),
  };
  const publishedAt: Record<string, number> = {};
  let failures = 0;

  console.log('baseline ready');
  await new Promise((resolve) => process.stdin.once('data', resolve));

  const windowed = Boolean(env.BENCH_IN_FLIGHT);
  if (!windowed) {
    const handedOver = nowMs();
    for (const { eventId } of events) publishedAt[eventId] = handedOver;
  }
  let next = 0;
  const loop = async () => {
    while (next < events.length) {
      const { eventId, record } = events[next++];
      if (windowed) publishedAt[eventId] = nowMs();
      const targets = await resolveTargets(deps.rules, (arn) => deps.targets.retryFor(arn), record);
      const sends = targets.map(({ arn }) =>
        deps.targets.get(arn)!.send({ eventId, record, envelope: toEnvelope(record) }),
      );
      for (const result of await Promise.allSettled(sends)) if (result.status === 'rejected') failures++;
    }
  };
  await Promise.all(Array.from({ length: Number(env.BENCH_CONCURRENCY) }, loop));
  await writeFile(env.BENCH_OUT!, JSON.stringify({ publishedAt, failures }));
  console.log('baseline done');

  process.once('SIGTERM', () => {
    void deps.targets.close().finally(() => process.exit(0));
  });
}

void main();
