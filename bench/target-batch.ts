// `npx tsx bench/target-batch.ts`: each target's bulk path (sendBatch) against its single send, on the real
// stack, in one run, with no Temporal: the target code alone, as a batch workflow's first task would call it.
//   single - BENCH_BATCH_EVENTS events (default 1,000), one `send()` each, BENCH_SINGLE_CONCURRENCY (default 16) at
// once;
//   batch  - the same number of events as consecutive `sendBatch` calls of BENCH_BATCH_SIZE (default 100).
// Targets as `npm run bench`'s `all` set (bench/targets.ts): webhook (a local receiver), Redis `access`,
// PostgreSQL/MySQL/Elasticsearch `namespace`, AMQP, NATS JetStream, Kafka, MQTT QoS 1; fresh tables,
// indices, topics and streams for every run. Each run first sends one event (the table or index is created
// then, outside the timing), and ends by checking every server holds every event. Each target runs its two
// modes back to back, which goes first alternating round after round (BENCH_ROUNDS, default 2;
// `BENCH_TARGETS=kafka,redis` narrows); the ratio batch/single is taken within a round and the summary
// quotes the median. Writes JSON to bench-results/.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadTargetsConfig, type TargetEntry } from '../src/config';
import { buildEvent, eventIdentity, toEnvelope } from '../src/events';
import { forEachBounded } from '../src/targets/send';
import { createTarget } from '../src/targets/registry';
import type { Delivery, Target } from '../src/targets/target';
import { nowMs } from './stats';
import { watchTargets, type Watch } from '../test/helpers/guide-targets';

type Mode = 'single' | 'batch';

const env = process.env;
const EVENTS = Number(env.BENCH_BATCH_EVENTS ?? 1000);
const BATCH_SIZE = Number(env.BENCH_BATCH_SIZE ?? 100);
const CONCURRENCY = Number(env.BENCH_SINGLE_CONCURRENCY ?? 16);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 2);
const ONLY = env.BENCH_TARGETS ? new Set(env.BENCH_TARGETS.split(',').map((s) => s.trim())) : undefined;
const ARRIVAL_TIMEOUT_MS = 60_000;

interface RunResult {
  target: string;
  mode: Mode;
  round: number;
  seconds: number;
  eventsPerSecond: number;
  failed: number;
  /** Events the server holds after the run (warm-up event included). */
  held: number;
}

let sequence = 0;
/** `count` puts of distinct objects (MinIO's records), never repeated within the process. */
function events(count: number): Delivery[] {
  const base = Date.now();
  return Array.from({ length: count }, (_, n) => {
    const record = buildEvent({
      eventName: 's3:ObjectCreated:Put',
      bucket: 'bench',
      key: `photos/${String(sequence++).padStart(7, '0')}.jpg`,
      size: 56060,
      eTag: '1d97bf45ecb37f7a7b699418070df08f',
      contentType: 'image/jpeg',
      eventTime: new Date(base + n),
    });
    return { eventId: eventIdentity(record), record, envelope: toEnvelope(record) };
  });
}

/** Sends `deliveries` the mode's way; returns how many failed. */
async function sendAll(target: Target, mode: Mode, deliveries: Delivery[]): Promise<number> {
  let failed = 0;
  if (mode === 'single') {
    await forEachBounded(deliveries, CONCURRENCY, (delivery) => target.send(delivery).catch(() => void failed++));
    return failed;
  }
  for (let start = 0; start < deliveries.length; start += BATCH_SIZE) {
    const results = await target.sendBatch(deliveries.slice(start, start + BATCH_SIZE));
    failed += results.filter((r) => !r.ok).length;
  }
  return failed;
}

/** Waits until the server holds `expected` events (Elasticsearch shows them within its refresh interval). */
async function heldBy(watch: Watch, name: string, expected: number): Promise<number> {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  for (;;) {
    const held = (await watch.counts())[name] ?? 0;
    if (held >= expected || Date.now() > deadline) return held;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** One target's run in one mode, on that mode's fresh resources. */
async function runOne(watch: Watch, entry: TargetEntry, mode: Mode, round: number): Promise<RunResult> {
  const target = createTarget(entry);
  try {
    await target.send(events(1)[0]); // connects, creates the table or index: not timed
    const deliveries = events(EVENTS);
    const began = nowMs();
    const failed = await sendAll(target, mode, deliveries);
    const seconds = (nowMs() - began) / 1000;
    const held = await heldBy(watch, entry.type, EVENTS + 1);
    console.log(
      `round ${round} ${entry.type.padEnd(13)} ${mode.padEnd(6)} ${(EVENTS / seconds).toFixed(0).padStart(7)} events/s  failed ${failed}  held ${held}/${EVENTS + 1}`,
    );
    return { target: entry.type, mode, round, seconds, eventsPerSecond: EVENTS / seconds, failed, held };
  } finally {
    await target.close();
  }
}

/** A round: fresh resources per mode; each target runs its two modes back to back, so they meet the same load. */
async function runRound(round: number): Promise<RunResult[]> {
  const modes: Mode[] = round % 2 ? ['single', 'batch'] : ['batch', 'single'];
  const watches = new Map<Mode, Watch>();
  const results: RunResult[] = [];
  try {
    for (const mode of modes) watches.set(mode, await watchTargets('all'));
    const entriesOf = (mode: Mode) =>
      loadTargetsConfig({ text: JSON.stringify({ notify: watches.get(mode)!.notify }), env: {}, region: 'us-east-1' })
        .targets;
    const perMode = new Map(modes.map((mode) => [mode, entriesOf(mode)] as const));
    for (const type of perMode.get(modes[0])!.map((entry) => entry.type)) {
      if (ONLY && !ONLY.has(type)) continue;
      for (const mode of modes)
        results.push(
          await runOne(
            watches.get(mode)!,
            perMode.get(mode)!.find((e) => e.type === type)!,
            mode,
            round,
          ),
        );
    }
  } finally {
    for (const watch of watches.values()) await watch.close();
  }
  return results;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  console.log(
    `${EVENTS} events per target: single = send() x ${CONCURRENCY} concurrent, batch = sendBatch of ${BATCH_SIZE}; ${ROUNDS} round(s)`,
  );
  const all: RunResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) all.push(...(await runRound(round)));

  const incomplete = all.filter((r) => r.failed > 0 || r.held < EVENTS + 1);
  console.log('\ntarget         single ev/s   batch ev/s   batch/single (median of same-round ratios; per round)');
  const summary = [...new Set(all.map((r) => r.target))].map((target) => {
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const single = all.find((r) => r.target === target && r.round === round && r.mode === 'single');
      const batch = all.find((r) => r.target === target && r.round === round && r.mode === 'batch');
      if (single && batch) ratios.push(batch.eventsPerSecond / single.eventsPerSecond);
    }
    const single = median(all.filter((r) => r.target === target && r.mode === 'single').map((r) => r.eventsPerSecond));
    const batch = median(all.filter((r) => r.target === target && r.mode === 'batch').map((r) => r.eventsPerSecond));
    const ratio = median(ratios);
    console.log(
      `${target.padEnd(14)} ${single.toFixed(0).padStart(11)} ${batch.toFixed(0).padStart(12)}   ${ratio.toFixed(1)}x  (${ratios.map((x) => `${x.toFixed(1)}x`).join(', ')})`,
    );
    return { target, singleEventsPerSecond: single, batchEventsPerSecond: batch, ratio, ratios };
  });
  if (incomplete.length)
    console.log(
      `\nINCOMPLETE runs (failed sends or events missing at the server): ${incomplete.map((r) => `${r.target}/${r.mode}/round ${r.round}`).join(', ')}`,
    );

  const dir = path.resolve(__dirname, '..', 'bench-results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `target-batch-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    JSON.stringify(
      { events: EVENTS, batchSize: BATCH_SIZE, concurrency: CONCURRENCY, rounds: ROUNDS, summary, runs: all },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${file}`);
  process.exitCode = incomplete.length ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
