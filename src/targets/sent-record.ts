// Which sends this worker has already made, so it does not make them twice. When Temporal is unreachable
// just after a fast attempt sent an event, the workflow task's completion (with the attempt's marker) is
// lost; once Temporal answers again the task runs again and would send again. Every send asks this record
// first (the fast attempts, a re-run task, the durable retries): a target that already accepted the event
// for this delivery (workflow run) counts as delivered without a second send.
// Per worker and in memory, bounded (oldest forgotten first): another worker, or this one after a restart
// (SIGKILL), does not know these sends, and a target's own dedupe on the event id covers that case.
// An operator's redelivery is a new workflow run, so it does send again.

/** Sends remembered per worker: at ~150 bytes each, some 15 MB; minutes of sends at thousands per second. */
export const SENT_RECORD_SIZE = 100_000;

export class SentRecord {
  private readonly sent = new Set<string>();

  constructor(private readonly size = SENT_RECORD_SIZE) {}

  has(run: string, arn: string): boolean {
    return this.sent.has(`${run} ${arn}`);
  }

  add(run: string, arn: string): void {
    this.sent.add(`${run} ${arn}`);
    // A Set iterates in insertion order: the first entry is the oldest.
    if (this.sent.size > this.size) this.sent.delete(this.sent.values().next().value!);
  }
}
