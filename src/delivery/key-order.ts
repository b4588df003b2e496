// Per-key order's shared facts (docs/ordering.md): what the per-(target, object) workflow (workflows/key-order.ts)
// is started with and fed, what it carries across continue-as-new, and how two sequencers compare. The workflow,
// the publisher and the activities that hand events to it all read these. Sandbox-safe: no I/O, no Node modules.
import type { DeliverySource } from '../events/sources';
import type { S3EventRecord } from '../events/types';
import type { ResolvedTarget } from './types';

/** The signal an event is handed over with (signal-with-start: it starts the workflow when none runs). */
export const KEY_ORDER_ENQUEUE_SIGNAL = 'enqueue';
/** The query answering the workflow's queue, counts and failures (`KeyOrderProgress`). */
export const KEY_ORDER_PROGRESS_QUERY = 'progress';

/** Idle this long with nothing queued, the workflow completes (a later event starts a new run). */
export const KEY_ORDER_IDLE_MS = 60_000;
/** Events delivered before the workflow continues as new (its history stays short), carrying its queue. */
export const KEY_ORDER_EVENTS_PER_RUN = 500;
/** Event ids remembered (carried across continue-as-new) so an event handed over twice is delivered once. */
export const KEY_ORDER_REMEMBERED_IDS = 1_000;

/** Failed events listed in the workflow's state and result (the latest); each is also in the history. */
export const KEY_ORDER_REMEMBERED_FAILURES = 100;

/** One event handed to the workflow of its (target, object). */
export interface OrderedEvent {
  eventId: string;
  record: S3EventRecord;
  source?: DeliverySource;
  /**
   * What a repeat is recognized by (default the event id): an operator's redelivery hands the event over again
   * under its own workflow's id, so it is sent again rather than dropped as a repeat.
   */
  handOffId?: string;
}

/** An event waiting in the queue: when it arrived (workflow time, ms) decides how long it is held. */
export interface QueuedEvent extends OrderedEvent {
  arrivedAtMs: number;
}

/** An event whose delivery failed for good (its retry schedule ran out, or a permanent failure): the queue went on. */
export interface FailedOrderedEvent {
  eventId: string;
  sequencer: string;
  error: string;
}

/** What a run hands to the next (continue-as-new). */
export interface KeyOrderCarried {
  queue: QueuedEvent[];
  /** The newest first: ids delivered (or failed) lately, so a second hand-over of one is dropped. */
  recentIds: string[];
  /** The sequencer of the last event delivered, to tell a late arrival (logged and counted, still delivered). */
  lastSequencer?: string;
  delivered: number;
  late: number;
  failed: FailedOrderedEvent[];
}

export interface KeyOrderInput {
  target: ResolvedTarget;
  bucket: string;
  /** The object's key, decoded. */
  key: string;
  carried?: KeyOrderCarried;
  /** Tests only: KEY_ORDER_IDLE_MS and KEY_ORDER_EVENTS_PER_RUN, shorter. */
  idleMs?: number;
  eventsPerRun?: number;
}

/** The query's answer, and the workflow's result when it completes idle. */
export interface KeyOrderProgress {
  queued: string[];
  delivered: number;
  /** Events that arrived after a newer one of the object had been delivered: delivered after it, in arrival order. */
  late: number;
  failed: FailedOrderedEvent[];
}

const HEX = /^[0-9A-Fa-f]{1,32}$/;

/**
 * Where an event sorts among its object's events: its sequencer (hex) left-padded to 32 digits, so longer is later;
 * an event without one sorts by its eventTime as MinIO would have written it (ns in hex). The same order as
 * src/events/record.ts's orderingKey (test/unit/key-order.test.ts holds the two together), spelled here for the
 * workflow sandbox.
 */
export function sequencerOrder(record: S3EventRecord): string {
  const sequencer = record.s3.object.sequencer;
  const hex = HEX.test(sequencer ?? '')
    ? sequencer
    : (BigInt(Date.parse(record.eventTime) || 0) * 1_000_000n).toString(16);
  return hex.toUpperCase().padStart(32, '0');
}

/** Whether the target's events go through the workflow of their (target, object). */
export function isKeyOrdered(target: ResolvedTarget): boolean {
  return target.retry.keyOrder !== undefined;
}
