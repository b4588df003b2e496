// `npm run bench:startup`: how long a worker takes to start and how much memory it holds idle, as
// `npm run worker` runs it, once per runtime: the TypeScript through tsx and the build in dist/ (run
// `npm run build` first, else that row is skipped). Each run: spawn, time until "worker started" (wall clock,
// and the CPU the process spent, which a busy machine disturbs less), wait idle, read VmRSS and VmHWM (peak)
// from /proc, then SIGTERM and time the drain. The runtimes take turns, so load from elsewhere hits both alike.
// Prints medians.
// Settings (env): STARTUP_RUNS (default 5), STARTUP_IDLE_MS (default 5000), STARTUP_RUNTIMES (default "tsx,dist").
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { endpoints } from '../scripts/stack/endpoints';
import { startEntry } from './processes';
import { cpuSecondsOf } from './stats';

interface Sample {
  startMs: number;
  startCpuMs: number;
  idleRssMb: number;
  idlePeakMb: number;
  stopMs: number;
}

async function memoryMb(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

async function once(runtime: string, idleMs: number): Promise<Sample> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bucketflow-startup-'));
  const began = performance.now();
  // A task queue of its own: an idle worker must not pick up anyone else's deliveries.
  const worker = startEntry('worker', {
    BUCKETFLOW_RUNTIME: runtime,
    BUCKETFLOW_DATA_DIR: dataDir,
    BUCKETFLOW_TASK_QUEUE: `startup-${randomUUID()}`,
    BUCKETFLOW_CONFIG: '',
    TEMPORAL_ADDRESS: endpoints.temporal,
  });
  try {
    await worker.waitFor('worker started', 60_000);
    const startMs = performance.now() - began;
    const startCpuMs = cpuSecondsOf(worker.pid) * 1000;
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const { rss, peak } = await memoryMb(worker.pid);
    const stopping = performance.now();
    await worker.stop();
    return { startMs, startCpuMs, idleRssMb: rss, idlePeakMb: peak, stopMs: performance.now() - stopping };
  } finally {
    await worker.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const runs = Number(process.env.STARTUP_RUNS ?? 5);
  const idleMs = Number(process.env.STARTUP_IDLE_MS ?? 5_000);
  const runtimes = (process.env.STARTUP_RUNTIMES ?? 'tsx,dist').split(',');
  console.log(
    `runtime  start-up ms  start-up CPU ms  idle RSS MB  idle peak MB  SIGTERM->exit ms   (median of ${runs}, idle ${idleMs} ms)`,
  );
  const samples = new Map<string, Sample[]>(runtimes.map((runtime) => [runtime, []]));
  const skipped = new Map<string, string>();
  for (let i = 0; i < runs; i++) {
    for (const runtime of runtimes.filter((r) => !skipped.has(r))) {
      try {
        samples.get(runtime)!.push(await once(runtime, idleMs));
      } catch (err) {
        skipped.set(runtime, (err as Error).message.split('\n').slice(0, 2).join(' '));
      }
    }
  }
  for (const runtime of runtimes) {
    if (skipped.has(runtime)) {
      console.log(`${runtime.padEnd(8)} skipped: ${skipped.get(runtime)}`);
      continue;
    }
    const m = (pick: (s: Sample) => number) => median(samples.get(runtime)!.map(pick)).toFixed(0);
    console.log(
      `${runtime.padEnd(8)} ${m((s) => s.startMs).padStart(11)}  ${m((s) => s.startCpuMs).padStart(15)}  ${m((s) => s.idleRssMb).padStart(11)}  ` +
        `${m((s) => s.idlePeakMb).padStart(12)}  ${m((s) => s.stopMs).padStart(16)}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
