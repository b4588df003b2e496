// The last hour of this worker's sends, per target and minute: how many succeeded and failed, and how long
// they took. The status page shows each target's send success rate and p50/p95 send time from it without a
// Prometheus (which has the same across workers, over any window: bucketflow_delivery_attempt_seconds).
// Bounded: at most 60 minutes per target, and at most MAX_DURATIONS durations kept per target and minute.
const MINUTE_MS = 60_000;
const WINDOW_MINUTES = 60;
const MAX_DURATIONS = 1_000;

interface Minute {
  ok: number;
  failed: number;
  durationsMs: number[];
}

export interface SendSummary {
  sends: number;
  failed: number;
  /** Undefined when there was no send in the window. */
  p50Ms?: number;
  p95Ms?: number;
}

export class RecentSends {
  private readonly byTarget = new Map<string, Map<number, Minute>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** One send that reached the target (not one held by the gate): whether it succeeded, and its time. */
  record(arn: string, ok: boolean, durationMs: number): void {
    const minute = Math.floor(this.now() / MINUTE_MS);
    const minutes = this.byTarget.get(arn) ?? new Map<number, Minute>();
    this.byTarget.set(arn, minutes);
    for (const old of minutes.keys()) if (old <= minute - WINDOW_MINUTES) minutes.delete(old);
    const counts = minutes.get(minute) ?? { ok: 0, failed: 0, durationsMs: [] };
    minutes.set(minute, counts);
    if (ok) counts.ok++;
    else counts.failed++;
    if (counts.durationsMs.length < MAX_DURATIONS) counts.durationsMs.push(durationMs);
  }

  /** The target's sends over the last hour (nearest-rank quantiles of the kept durations). */
  summary(arn: string): SendSummary {
    const from = Math.floor(this.now() / MINUTE_MS) - WINDOW_MINUTES;
    const minutes = [...(this.byTarget.get(arn)?.entries() ?? [])]
      .filter(([minute]) => minute > from)
      .map(([, counts]) => counts);
    const durations = minutes.flatMap((m) => m.durationsMs).sort((a, b) => a - b);
    const quantile = (q: number) =>
      durations.length ? durations[Math.max(0, Math.ceil(q * durations.length) - 1)] : undefined;
    return {
      sends: minutes.reduce((n, m) => n + m.ok + m.failed, 0),
      failed: minutes.reduce((n, m) => n + m.failed, 0),
      p50Ms: quantile(0.5),
      p95Ms: quantile(0.95),
    };
  }
}
