// Admission control under a burst (`npx tsx bench/admission.ts`): the real `npm start` process (worker and
// ingest in one, on the stack's Temporal) gets N events from C concurrent senders, one event per POST, each
// sender retrying a 503 after its Retry-After as MinIO does with queue_dir. Reports the process's peak RSS
// (VmHWM), how many 503s the senders met, the time until every event reached the webhook receiver, the CPU
// seconds the process spent from ready until then (steadier than the time on a shared machine), and
// whether every event arrived (exactly the N event ids). BENCH_ADMISSION_EVENTS (2000), _CONCURRENCY (64),
// and BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES passed through to the process (unset: its default; 0: no bound).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/dev-server';
import { benchEvents, prepareRun } from './events';
import { startEntry } from './processes';
import { cpuSecondsOf, peakRssMbOf } from './stats';
import { watchTargets } from '../test/helpers/guide-targets';

const EVENTS = Number(process.env.BENCH_ADMISSION_EVENTS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_ADMISSION_CONCURRENCY ?? 64);
const TIMEOUT_MS = 10 * 60_000;

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bucketflow-admission-'));
  const bucket = `admission-${randomUUID().slice(0, 8)}`;
  const watch = await watchTargets('webhook');
  const configFile = await prepareRun(dataDir, bucket, watch.notify);
  const port = await freePort();
  const child = startEntry('start', {
    BUCKETFLOW_CONFIG: configFile,
    BUCKETFLOW_DATA_DIR: dataDir,
    BUCKETFLOW_TASK_QUEUE: `bench-admission-${randomUUID()}`,
    BUCKETFLOW_INGEST_PORT: String(port),
  });
  try {
    await child.waitFor('"ingest listening"');
    const cpuAtReady = cpuSecondsOf(child.pid);
    const url = `http://127.0.0.1:${port}/`;
    const events = benchEvents(bucket, EVENTS, Date.now());
    let next = 0;
    let refused = 0;
    let failed = 0;
    const started = Date.now();
    const sender = async () => {
      while (next < events.length) {
        const body = JSON.stringify({ Records: [events[next++].record] });
        for (;;) {
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await response.arrayBuffer();
          if (response.status === 202) break;
          if (response.status !== 503) {
            failed++;
            break;
          }
          refused++;
          await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get('retry-after') ?? 1) * 1000));
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, sender));
    const acceptedMs = Date.now() - started;
    while (watch.arrivals.size < EVENTS && Date.now() - started < TIMEOUT_MS)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const deliveredMs = Date.now() - started;
    const cpuSeconds = Math.round((cpuSecondsOf(child.pid) - cpuAtReady) * 100) / 100;
    const expected = new Set(events.map((e) => e.eventId));
    const missing = [...expected].filter((id) => !watch.arrivals.has(id)).length;
    const report = {
      events: EVENTS,
      concurrency: CONCURRENCY,
      maxInFlightDeliveries: process.env.BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES ?? 'default',
      peakRssMb: Math.round(peakRssMbOf(child.pid)),
      refused503: refused,
      otherFailures: failed,
      acceptedAllAfterS: acceptedMs / 1000,
      deliveredAllAfterS: deliveredMs / 1000,
      cpuSeconds,
      delivered: watch.arrivals.size,
      missing,
    };
    console.log(JSON.stringify(report));
    if (missing > 0 || failed > 0) process.exitCode = 1;
  } finally {
    await child.stop();
    await watch.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
