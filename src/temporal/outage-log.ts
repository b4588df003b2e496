// What a worker's log says while Temporal is unreachable: one line when the outage begins, with its cause
// (taken from the SDK core's first connection warning), and one when it ends (a TCP probe of the frontend
// answers again), with how long it lasted and how many SDK warnings it replaced. Without this, the core
// writes a warning for every retried gRPC call: thousands of lines in a 20 s outage.
import type { LogEntry } from '@temporalio/worker';
import { log, type Logger } from '../telemetry/log';
import { dial } from './reachability';

/** A core warning that a gRPC call could not reach the server (tonic's `Status { code: Unavailable, ... }`, or its
 * text). */
const UNREACHABLE =
  /code: (?:Unavailable|DeadlineExceeded)\b|service is currently unavailable|tcp connect error|transport error/;
const PROBE_EVERY_MS = 1_000;
/** Connection warnings right after the server returned are the tail of the outage, not a new one. */
const SETTLE_MS = 5_000;

export class TemporalOutageLog {
  private since: number | undefined;
  private warnings = 0;
  private settledAt = 0;
  private closed = false;

  constructor(
    private readonly address: string,
    private readonly out?: Logger,
  ) {}

  /** Takes an SDK log entry; true when it belongs to an outage (it is counted, not written). */
  observe(entry: Pick<LogEntry, 'level' | 'message' | 'meta'>): boolean {
    const error = typeof entry.meta?.error === 'string' ? entry.meta.error : '';
    if (entry.level !== 'WARN' || !UNREACHABLE.test(error)) return false;
    this.warnings++;
    if (this.since === undefined && Date.now() >= this.settledAt) {
      this.since = Date.now();
      this.warnings = 1;
      log(
        'WARN',
        'Temporal unreachable',
        { address: this.address, cause: causeOf(error), call: entry.message },
        this.out,
      );
      void this.probe();
    }
    return true;
  }

  close(): void {
    this.closed = true;
  }

  private async probe(): Promise<void> {
    while (!this.closed && (await dial(this.address, PROBE_EVERY_MS)) !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS).unref());
    }
    if (this.closed || this.since === undefined) return;
    log(
      'INFO',
      'Temporal reachable again',
      {
        address: this.address,
        downSeconds: Math.round((Date.now() - this.since) / 100) / 10,
        sdkWarnings: this.warnings,
      },
      this.out,
    );
    this.since = undefined;
    this.settledAt = Date.now() + SETTLE_MS;
  }
}

/** `Unavailable: tcp connect error (Connection refused)` out of tonic's Debug rendering of the status. */
export function causeOf(error: string): string {
  const code = /code: '?([^,']+)'?/.exec(error)?.[1] ?? 'error';
  const messages = [...error.matchAll(/message: \\?"([^"\\]*)\\?"/g)].map((m) => m[1]);
  const unique = [...new Set(messages)];
  return unique.length ? `${code}: ${unique[0]}${unique.length > 1 ? ` (${unique.at(-1)})` : ''}` : error.slice(0, 200);
}
