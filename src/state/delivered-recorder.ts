// The delivery path's record of what it delivered, for reconciliation (`bucketflow scan add --reconcile`): each
// object-created or object-removed event a target received becomes the object's latest delivered state, kept in
// the state store (src/state/scans.ts recordDelivered). A send only notes it in memory (the newest state per object);
// the notes are written in bulk, one write every second or every MAX_PENDING objects, never one per event. Only
// buckets with a reconciliation are recorded (the list is re-read every few seconds). A SIGKILL loses at most the
// last second's notes: those objects are delivered once more by the next reconciliation.
import { errorMessage } from '../errors';
import { decodeObjectKey, isRemoval, orderingKey } from '../events/record';
import type { S3EventRecord } from '../events/types';
import { log } from '../telemetry/log';
import { metrics } from '../telemetry/metrics';
import type { DeliveredState, ScanStore } from './scans';

const FLUSH_EVERY_MS = 1_000;
/** Objects noted before a write starts without waiting for the second. */
const MAX_PENDING = 5_000;
/** How often the buckets under reconciliation are re-read. */
const REFRESH_EVERY_MS = 2_000;

export class DeliveredRecorder {
  private pending = new Map<string, DeliveredState>();
  /** Buckets with a reconciliation; undefined until first read (notes are kept meanwhile, filtered at the write). */
  private buckets: Set<string> | undefined;
  private refreshedAt = 0;
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: ScanStore,
    private readonly flushEveryMs = FLUSH_EVERY_MS,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs).unref();
  }

  /** A target received this event: its object's state is noted (object-created and object-removed events only). */
  note(record: S3EventRecord): void {
    if (this.closed) return;
    const removed = isRemoval(record.eventName);
    if (!removed && !record.eventName.startsWith('s3:ObjectCreated:')) return;
    const bucket = record.s3.bucket.name;
    if (this.buckets && !this.buckets.has(bucket)) return;
    const key = decodeObjectKey(record.s3.object.key);
    const state: DeliveredState = {
      bucket,
      key,
      etag: removed ? '' : (record.s3.object.eTag ?? ''),
      size: removed ? 0 : (record.s3.object.size ?? 0),
      ...(record.s3.object.versionId ? { versionId: record.s3.object.versionId } : {}),
      sequencer: orderingKey(record),
      removed,
      at: Date.now(),
    };
    const id = `${bucket}\0${key}`;
    const known = this.pending.get(id);
    if (!known || state.sequencer >= known.sequencer) this.pending.set(id, state);
    if (this.pending.size >= MAX_PENDING) void this.flush();
  }

  /** Writes what was noted (one write); resolves once it is written. Never rejects: a failed write is logged. */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }

  private async write(): Promise<void> {
    try {
      await this.refresh();
    } catch (err) {
      log('WARN', 'could not read which buckets are reconciled', { error: errorMessage(err) });
    }
    if (this.pending.size === 0) return;
    const states = [...this.pending.values()].filter((state) => !this.buckets || this.buckets.has(state.bucket));
    this.pending = new Map();
    if (states.length === 0) return;
    try {
      await this.store.recordDelivered(states);
      metrics.deliveredStatesRecorded.inc({ outcome: 'recorded' }, states.length);
    } catch (err) {
      metrics.deliveredStatesRecorded.inc({ outcome: 'failed' }, states.length);
      log('WARN', 'recording delivered states failed (the next reconciliation delivers those objects again)', {
        write: 'delivered states',
        objects: states.length,
        error: errorMessage(err),
      });
    }
  }

  private async refresh(): Promise<void> {
    if (this.buckets && Date.now() - this.refreshedAt < REFRESH_EVERY_MS) return;
    this.refreshedAt = Date.now();
    this.buckets = new Set((await this.store.list()).filter((scan) => scan.reconcile).map((scan) => scan.bucket));
  }
}
