// Group commit for the high-volume mode (BUCKETFLOW_BATCH_MAX_EVENTS > 1): events published while a batch
// start is in flight wait for it and go together into the next batch workflow, so under load one start
// carries many events, and a lone event never waits (unless BUCKETFLOW_BATCH_MAX_WAIT lets a batch fill for
// that long). A batch closes at maxEvents, at MAX_BATCH_BYTES of input (Temporal refuses payloads over 2 MB)
// or when its search-attribute index is full (src/delivery/batch-index.ts). A publish resolves once every
// batch carrying its events is durably started, and rejects if one is not (the ingest answers 503; what was
// started is remembered, so the sender's retry is answered as a duplicate, never delivered twice).
// Dedupe: an event id accepted within dedupeWindowMs (or waiting for its batch) is not started again (an item may
// name another key: a backfill's event is the same again only for the same targets).
// Lanes: a publish call with a lane (a backfill's chunk of a listing) makes batches of its own, never joined to
// another call's items, and is complete as published, so the same chunk published again makes the same batches
// (whose ids the publisher derives from the lane and their events): a batch that exists already is reported
// `existed`, its events as duplicates.
import { BatchIndex } from '../delivery/batch-index';

/** Input bytes per batch: well under Temporal's 2 MB blob limit, with room for the memo and search attributes. */
export const MAX_BATCH_BYTES = 512 * 1024;
/** Full batches may start side by side up to this many; a batch that is not full waits for the one in flight. */
const MAX_STARTS_IN_FLIGHT = 4;
/** The dedupe window remembers at most this many event ids (oldest forgotten first). */
const DEDUPE_CAPACITY = 100_000;

export interface GroupCommitOptions {
  maxEvents: number;
  maxWaitMs: number;
  dedupeWindowMs: number;
}

/** An event ready to go into a batch. */
export interface BatchItem<E> {
  eventId: string;
  bucket: string;
  key: string;
  /** The batch input entry. */
  entry: E;
  /** Items of one lane go into batches of their own (see the opening comment); absent = the shared lane. */
  lane?: string;
  /** What the dedupe window remembers of it (default its event id). */
  dedupeKey?: string;
}

/** A batch the start function settled: started now, or found already started (the same lane's batch, published again).
 * */
export interface StartedBatch {
  workflowId: string;
  existed?: boolean;
}

export interface GroupResult {
  eventId: string;
  /** The batch workflow carrying the event. */
  workflowId: string;
  duplicate: boolean;
}

interface Waiting<E> {
  item: BatchItem<E>;
  bytes: number;
  /** The publish call it came with: a call's events go into one batch when they fit. */
  group: number;
  resolve(started: StartedBatch): void;
  reject(err: unknown): void;
}

export class GroupCommit<E> {
  private queue: Array<Waiting<E>> = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private groups = 0;
  /** Dedupe keys (event ids) waiting or in flight: the same event published meanwhile shares its batch's outcome. */
  private pending = new Map<string, Promise<StartedBatch>>();
  /** Dedupe keys (event ids) started, oldest first: the dedupe window. */
  private recent = new Map<string, { workflowId: string; at: number }>();

  constructor(
    private readonly options: GroupCommitOptions,
    /** Starts one batch workflow durably; resolves with its workflow id (and whether it existed already). */
    private readonly startBatch: (items: Array<BatchItem<E>>) => Promise<StartedBatch>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once every event is in a durably started batch (or was already, within the window). */
  publish(items: Array<BatchItem<E>>): Promise<GroupResult[]> {
    const group = this.groups++;
    const results = items.map((item) => this.enqueue(item, group));
    this.pump();
    return Promise.all(results);
  }

  private enqueue(item: BatchItem<E>, group: number): Promise<GroupResult> {
    const { eventId } = item;
    const key = item.dedupeKey ?? eventId;
    const seen = this.seen(key);
    if (seen) return Promise.resolve({ eventId, workflowId: seen, duplicate: true });
    const waiting = this.pending.get(key);
    if (waiting) return waiting.then(({ workflowId }) => ({ eventId, workflowId, duplicate: true }));
    const started = new Promise<StartedBatch>((resolve, reject) => {
      this.queue.push({ item, bytes: Buffer.byteLength(JSON.stringify(item.entry)), group, resolve, reject });
    });
    this.pending.set(key, started);
    // The entry leaves `pending` once settled; a started id moves to the window first.
    started.then(
      ({ workflowId }) => {
        this.pending.delete(key);
        this.remember(key, workflowId);
      },
      () => this.pending.delete(key),
    );
    return started.then(({ workflowId, existed }) => ({ eventId, workflowId, duplicate: existed === true }));
  }

  private seen(key: string): string | undefined {
    const entry = this.recent.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.at <= this.options.dedupeWindowMs) return entry.workflowId;
    this.recent.delete(key);
    return undefined;
  }

  private remember(key: string, workflowId: string): void {
    if (this.options.dedupeWindowMs <= 0) return;
    const at = this.now();
    this.recent.delete(key);
    this.recent.set(key, { workflowId, at });
    // Oldest first: drop what fell out of the window, and the oldest beyond capacity.
    for (const [id, entry] of this.recent) {
      if (this.recent.size <= DEDUPE_CAPACITY && at - entry.at <= this.options.dedupeWindowMs) break;
      this.recent.delete(id);
    }
  }

  /** Starts a batch when none is in flight (or a full one is ready); otherwise events wait for the next. */
  private pump(): void {
    while (this.queue.length > 0) {
      // Taken only when it can start now: a batch taken off the queue and not launched would never settle.
      const full = this.inFlight < MAX_STARTS_IN_FLIGHT ? this.takeBatch(true) : undefined;
      if (full) {
        this.launch(full);
        continue;
      }
      if (this.inFlight > 0) return;
      if (this.options.maxWaitMs > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          if (this.inFlight === 0 && this.queue.length > 0) this.launch(this.takeBatch(false)!);
        }, this.options.maxWaitMs);
        return;
      }
      this.launch(this.takeBatch(false)!);
      return;
    }
  }

  /**
   * The next batch from the head of the queue: whole publish calls while they fit, a call bigger than a
   * batch split across batches. With `onlyFull`, undefined unless the batch is closed by a limit.
   */
  private takeBatch(onlyFull: boolean): Array<Waiting<E>> | undefined {
    const index = new BatchIndex();
    let bytes = 0;
    let count = 0;
    let full = false;
    let lastWholeGroupEnd = 0;
    const head = this.queue[0];
    const lane = head?.item.lane;
    // A lane's publish call is a batch of its own (or several, when it passes a limit): never joined to another call.
    const sameBatch = (waiting: Waiting<E> | undefined) =>
      waiting !== undefined && waiting.item.lane === lane && (lane === undefined || waiting.group === head.group);
    for (const waiting of this.queue) {
      if (
        count >= this.options.maxEvents ||
        (count > 0 && (bytes + waiting.bytes > MAX_BATCH_BYTES || !sameBatch(waiting))) ||
        !index.add(waiting.item.eventId, waiting.item.bucket, waiting.item.key)
      ) {
        full = true;
        break;
      }
      bytes += waiting.bytes;
      count++;
      const next = this.queue[count];
      if (!next || next.group !== waiting.group) lastWholeGroupEnd = count;
    }
    // A lane's call is queued whole at once: reaching its end closes the batch as a limit does.
    if (count >= this.options.maxEvents || (lane !== undefined && count > 0 && !sameBatch(this.queue[count])))
      full = true;
    if (count === 0 || (onlyFull && !full)) return undefined;
    // Keep a publish call's events together unless the call alone fills a batch.
    const take = full && lastWholeGroupEnd > 0 ? lastWholeGroupEnd : count;
    return this.queue.splice(0, take);
  }

  private launch(batch: Array<Waiting<E>>): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.inFlight++;
    this.startBatch(batch.map((w) => w.item))
      .then(
        (started) => {
          for (const waiting of batch) waiting.resolve(started);
        },
        (err: unknown) => {
          for (const waiting of batch) waiting.reject(err);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
  }
}
