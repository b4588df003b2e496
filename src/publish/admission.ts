// Admission control: how many deliveries a worker holds at once. The ingest inside a worker admits a body only
// while the deliveries it started and whose fast path has not ended yet (plus the starts under way) stay under
// BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES; above it the sender gets 503 with Retry-After and sends again later
// (MinIO with queue_dir, RGW persistent topics and SNS all retry), so a burst waits at the sender instead of
// growing this process's memory, and nothing is lost. The workflow says when its fast path is over through a
// sink (src/delivery/types.ts DeliverySinks), which the worker routes to `released`; a delivery whose workflow
// task ran on another worker is let go after a lease. A standalone ingest (no worker) counts its starts only.
// In the high-volume mode a body's events are held by the batch workflow that carries them (handed over when
// the publish returns: `leave`) until the batch's first task, its one local activity, is over (`batchOver`,
// the same sink); an event that batch continues per event is held by its own workflow from before that
// workflow's start (`hold`), so every event counts from its acceptance until its fast path ends.
// The worker's Kafka source goes through the same bound but waits for room instead of refusing
// (`publishWhenRoom`): while the worker is full the backlog stays in Kafka, not in the worker or in Temporal.
import { workflowIdFor, type PublishedEvent } from './publisher';
import { eventIdentity, type ParsedEvent } from '../events';

/** A held delivery no workflow reported on (its task ran elsewhere) is let go after this. */
const LEASE_MS = 60_000;

interface Held {
  /** Events it holds: 1 for an event's own delivery, the events handed to it for a batch. */
  events: number;
  lease: NodeJS.Timeout;
}

export class DeliveryAdmission {
  private readonly held = new Map<string, Held>();
  private total = 0;
  /** Batches whose first task ended (workflow id -> when), oldest first: an event handed to one later is not held. */
  private readonly over = new Map<string, number>();
  /** Callers waiting for room (nextRelease), woken when deliveries are let go. */
  private readonly waiting = new Set<() => void>();

  /** `max` 0 = no bound. `tracksDeliveries` false: a delivery counts only while its start is under way (no worker
   * reports back). */
  constructor(
    readonly max: number,
    private readonly tracksDeliveries = true,
    private readonly leaseMs = LEASE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Deliveries (events) held now: being started, or started and not yet reported over. */
  get count(): number {
    return this.total;
  }

  /**
   * Holds a body's deliveries (by workflow id, known before the start, so a workflow that ends before its start
   * call returns is released all the same), or returns false when that would go over the bound. A body is never
   * refused while nothing is held, so a body larger than the bound is still accepted, alone.
   */
  tryEnter(workflowIds: readonly string[]): boolean {
    if (this.max > 0 && this.count > 0 && this.count + workflowIds.length > this.max) return false;
    for (const workflowId of workflowIds) this.hold(workflowId);
    return true;
  }

  /**
   * The starts ended. An event whose own workflow started stays held by it; one carried by a batch (`carriedBy`:
   * event workflow id -> batch workflow id) is held by that batch from now on; the rest (duplicates, failed
   * starts) are let go, and without a worker reporting back, all.
   */
  leave(workflowIds: readonly string[], carriedBy: ReadonlyMap<string, string> = new Map()): void {
    this.forget();
    for (const workflowId of new Set(workflowIds)) {
      const carrier = this.tracksDeliveries ? carriedBy.get(workflowId) : undefined;
      if (carrier === workflowId) continue;
      this.released(workflowId);
      if (carrier !== undefined && !this.over.has(carrier)) this.add(carrier, 1);
    }
  }

  /**
   * Publishes `events` held against the bound: refused (undefined, nothing started) when there is no room now;
   * once the starts end, each started event stays held by the workflow carrying it (its own, or its batch).
   */
  async publish(
    events: readonly ParsedEvent[],
    start: () => Promise<PublishedEvent[]>,
  ): Promise<PublishedEvent[] | undefined> {
    const workflowIds = events.map((event) => workflowIdFor(eventIdentity(event.record)));
    if (!this.tryEnter(workflowIds)) return undefined;
    let accepted: PublishedEvent[] = [];
    try {
      accepted = await start();
      return accepted;
    } finally {
      this.leave(
        workflowIds,
        new Map(
          accepted
            .filter((event) => !event.duplicate && !event.inOrderOnly)
            .map((event) => [workflowIdFor(event.eventId), event.workflowId]),
        ),
      );
    }
  }

  /**
   * `publish`, waiting for room instead of refusing, in parts of at most the bound (a Kafka fetch may hold more
   * events than the bound): `wait` runs between tries (the Kafka source heartbeats its group there) and answers
   * false to give up (the source lost its partition); then the parts not yet started never are.
   */
  async publishWhenRoom(
    events: readonly ParsedEvent[],
    start: (part: readonly ParsedEvent[]) => Promise<PublishedEvent[]>,
    wait: () => Promise<boolean>,
  ): Promise<PublishedEvent[] | undefined> {
    const size = this.max > 0 ? this.max : events.length;
    const accepted: PublishedEvent[] = [];
    for (let from = 0; from < events.length; from += size) {
      const part = events.slice(from, from + size);
      for (;;) {
        const started = await this.publish(part, () => start(part));
        if (started) {
          accepted.push(...started);
          break;
        }
        if (!(await wait())) return undefined;
      }
    }
    return accepted;
  }

  /** Holds one delivery whatever the bound (an event a batch continues in its own workflow); held already: kept. */
  hold(workflowId: string): void {
    if (!this.held.has(workflowId)) this.add(workflowId, 1);
  }

  /** A workflow's fast path is over (delivered, failed, or handed to its durable retries): it no longer counts. */
  released(workflowId: string): void {
    const held = this.held.get(workflowId);
    if (!held) return;
    clearTimeout(held.lease);
    this.held.delete(workflowId);
    this.total -= held.events;
    for (const wake of [...this.waiting]) wake();
  }

  /**
   * Resolves when held deliveries are next let go, or after `maxMs` (whichever comes first): a caller waiting for
   * room (publishWhenRoom's `wait`) tries again the moment there may be some, instead of polling.
   */
  nextRelease(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, maxMs);
      this.waiting.add(wake);
    });
  }

  /** A batch's first task is over: its events no longer count (those it continued are held by their own workflows). */
  batchOver(workflowId: string): void {
    this.released(workflowId);
    this.forget();
    if (this.tracksDeliveries) this.over.set(workflowId, this.now());
  }

  close(): void {
    for (const wake of [...this.waiting]) wake();
    for (const { lease } of this.held.values()) clearTimeout(lease);
    this.held.clear();
    this.over.clear();
    this.total = 0;
  }

  private add(workflowId: string, events: number): void {
    const held = this.held.get(workflowId);
    if (held) clearTimeout(held.lease);
    const lease = setTimeout(() => this.released(workflowId), this.leaseMs).unref();
    this.held.set(workflowId, { events: (held?.events ?? 0) + events, lease });
    this.total += events;
  }

  /** Ended batches are remembered for a lease: far longer than the moment between a batch's start and its hand-over. */
  private forget(): void {
    const oldest = this.now() - this.leaseMs;
    for (const [workflowId, at] of this.over) {
      if (at > oldest) break;
      this.over.delete(workflowId);
    }
  }
}
