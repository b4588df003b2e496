// Figures from one run: throughput, latency percentiles and the CPU each process spent.
import { readdirSync, readFileSync } from 'node:fs';

/** Wall-clock ms since the epoch with sub-ms precision (comparable with Redis's MONITOR times). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

export function latencyOf(publishedAt: Map<string, number>, receivedAt: Map<string, number>): Latency {
  const samples: number[] = [];
  for (const [id, at] of receivedAt) {
    const published = publishedAt.get(id);
    if (published !== undefined) samples.push(at - published);
  }
  samples.sort((a, b) => a - b);
  const pick = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))] ?? NaN;
  const mean = samples.reduce((sum, x) => sum + x, 0) / samples.length;
  return { p50: pick(50), p95: pick(95), p99: pick(99), mean };
}

// Linux's /proc: CPU seconds (user + system) and peak resident set size per process.
const TICKS_PER_SECOND = 100;

export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
  } catch {
    return 0; // the process is gone
  }
}

export function peakRssMbOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** The stack's servers, found by command line, so the CPU they spend during a run can be charged to them. */
const SERVERS: Record<string, RegExp> = {
  temporal: /server\0start-dev/,
  // The self-hosted cluster's services (scripts/stack/services/temporal-cluster.ts), one process each.
  frontend: /\0start\0--service\0frontend/,
  history: /\0start\0--service\0history/,
  matching: /\0start\0--service\0matching/,
  'temporal-worker': /\0start\0--service\0worker/,
  redis: /^redis-server/,
  postgres: /^postgres/,
  mariadb: /mariadbd|mysqld/,
  rabbitmq: /beam\.smp/,
  nats: /nats-server/,
  mosquitto: /mosquitto/,
  kafka: /kafka\.Kafka/,
  elasticsearch: /org\.elasticsearch\.bootstrap\.Elasticsearch/,
};

export type CpuSnapshot = Record<string, number>;

export function serverCpu(): CpuSnapshot {
  const totals: CpuSnapshot = Object.fromEntries(Object.keys(SERVERS).map((name) => [name, 0]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    for (const [name, pattern] of Object.entries(SERVERS)) {
      if (pattern.test(cmdline)) {
        totals[name] += cpuSecondsOf(Number(entry));
        break;
      }
    }
  }
  return totals;
}

export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  const spent: CpuSnapshot = {};
  for (const name of Object.keys(after)) {
    const seconds = after[name] - (before[name] ?? 0);
    if (seconds > 0.005) spent[name] = Math.round(seconds * 100) / 100;
  }
  return spent;
}
