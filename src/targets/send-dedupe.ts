// Which sends were already made, so none is made twice for one delivery. When a workflow task's completion
// never reaches Temporal (Temporal unreachable just after a fast attempt sent an event, or the worker
// SIGKILLed), the task runs again once Temporal answers, on this worker or another, and would send again.
// Every send asks this record first (the fast attempts, a re-run task, the durable retries, a batch): a
// target that already accepted the event for this delivery (workflow run) counts as delivered without a
// second send. An operator's redelivery is a new workflow run, so it does send again.
// The record is in memory, bounded (oldest forgotten first). Shared through the rules store's sent log
// (src/state/sent-log.ts): this worker's sends are written there as they succeed, and the other workers'
// are read from there every second, so a task re-run on another worker (seconds later at the earliest:
// a workflow task's timeout, an outage's end) knows them. What the log cannot cover: a send a SIGKILLed
// worker had in flight (the target got it, the worker never learned it did): a target's own dedupe on the
// event id covers that.
import type { SentLog } from '../state/sent-log';
import { errorMessage } from '../errors';
import { log } from '../telemetry/log';

/** Sends remembered per worker (its own and the others'): at ~150 bytes each, some 15 MB. */
export const SENT_RECORD_SIZE = 100_000;
/** How often the other workers' sends are read from the shared log. */
export const SENT_SHARE_EVERY_MS = 1_000;
/** A failing shared log is reported at most this often (with the count of failures since). */
const REPORT_EVERY_MS = 60_000;

export class SendDedupe {
  private readonly sent = new Set<string>();
  private shared: { log: SentLog; poll: NodeJS.Timeout; reading?: Promise<void> } | undefined;
  private failures = { count: 0, reportedAt: 0 };

  constructor(private readonly size = SENT_RECORD_SIZE) {}

  /** Writes this worker's sends to the shared log from now on, and learns the other workers' from it every second. */
  share(log: SentLog): void {
    const poll = setInterval(() => void this.learn(), SENT_SHARE_EVERY_MS);
    poll.unref();
    this.shared = { log, poll };
  }

  /** Reads the other workers' new sends from the shared log now (also done every second once shared). */
  async learn(): Promise<void> {
    const shared = this.shared;
    if (!shared) return;
    shared.reading ??= shared.log
      .readNew()
      .then(
        (keys) => keys.forEach((key) => this.remember(key)),
        (err: unknown) => this.failed('read', err),
      )
      .finally(() => {
        shared.reading = undefined;
      });
    await shared.reading;
  }

  has(run: string, arn: string): boolean {
    return this.sent.has(keyOf(run, arn));
  }

  add(run: string, arn: string): void {
    this.addAll([[run, arn]]);
  }

  /** Several sends at once (a batch's): one write to the shared log. Never throws: the sends did happen. */
  addAll(sends: Array<[run: string, arn: string]>): void {
    const keys = sends.map(([run, arn]) => keyOf(run, arn));
    keys.forEach((key) => this.remember(key));
    try {
      this.shared?.log.append(keys);
    } catch (err) {
      this.failed('write', err);
    }
  }

  async close(): Promise<void> {
    if (!this.shared) return;
    clearInterval(this.shared.poll);
    await this.shared.reading;
    await this.shared.log.close();
    this.shared = undefined;
  }

  private remember(key: string): void {
    this.sent.add(key);
    // A Set iterates in insertion order: the first entry is the oldest.
    if (this.sent.size > this.size) this.sent.delete(this.sent.values().next().value!);
  }

  /** Without the shared log a re-run on another worker may send again: said in the log, not thrown at a send. */
  private failed(what: 'read' | 'write', err: unknown): void {
    this.failures.count += 1;
    if (Date.now() - this.failures.reportedAt < REPORT_EVERY_MS) return;
    log('WARN', 'shared sent log failing: a task re-run on another worker may send again', {
      during: what,
      error: errorMessage(err),
      failures: this.failures.count,
    });
    this.failures = { count: 0, reportedAt: Date.now() };
  }
}

/** Run ids and ARNs hold no spaces or newlines. */
function keyOf(run: string, arn: string): string {
  return `${run} ${arn}`;
}
