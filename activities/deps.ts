// What the activities are built over (dependency injection, as in Temporal's samples): the worker's long-lived
// state store, one shared connection per target, the gate asked before every send, the per-event continuation, the
// hand-off to per-key order's workflows, what the scan sources need (S3 access, publishing held by admission
// control) and what a backfill lists and publishes through (src/engine/backfill.ts).
import type { StateStore } from '../src/state';
import type { TargetGate } from '../src/targets/gate';
import type { RecentSends } from '../src/telemetry/recent-sends';
import type { TargetPool } from '../src/targets/pool';
import type { BatchEvent, BatchResult, DeliverInput, ResolvedTarget } from '../src/delivery/types';
import type { OrderedEvent } from '../src/delivery/key-order';
import type { ParsedEvent } from '../src/events/sources';
import type { PublishableEvent, PublishedEvent } from '../src/delivery/types';
import type { S3Access } from '../src/s3/client';
import type { S3EventRecord } from '../src/events/types';

export interface ActivityDeps {
  state: StateStore;
  targets: TargetPool;
  /** Pause, circuit breaker and rate limit, asked before every send. */
  gate: TargetGate;
  /**
   * Starts an event's own per-event delivery (deliverEventV3) when a batch could not deliver it to every
   * target; resolves with its workflow id (also when it was already started). Absent: batches cannot run here.
   */
  continueDelivery?: (input: DeliverInput) => Promise<string>;
  /**
   * Hands an event to the per-(target, object) workflow of a target with `order: key` (signal-with-start);
   * resolves with that workflow's id. Absent: this worker cannot hand events over (the activity fails, retried).
   */
  handOffOrdered?: (target: ResolvedTarget, event: OrderedEvent) => Promise<string>;
  /** This worker's last hour of sends, for the status page (unset: not recorded). */
  sends?: RecentSends;
  /** Scan sources (activities/scan.ts); absent: this worker runs no scans. */
  scans?: ScanDeps;
  /** Told of each event some target received, for reconciliation's delivered states (noted in memory, written in bulk).
   * */
  delivered?: { note(record: S3EventRecord): void };
  /** What `bucketflow backfill` runs on (activities/backfill.ts); absent: this worker runs no backfill. */
  backfill?: BackfillDeps;
}

export interface BackfillDeps {
  /**
   * S3 access to the endpoint (undefined = the worker's AWS_* settings), opened once per endpoint and kept; the
   * region goes into the records. Throws a ConfigError naming the setting when the endpoint or a setting is bad.
   */
  s3(endpoint: string | undefined): { access: S3Access; region: string };
  /**
   * Publishes a chunk's events in the lane, in the high-volume mode, held against the worker's admission bound:
   * waits for room, asking keepWaiting now and then (false gives up: undefined, nothing of the part started).
   */
  publish(events: PublishableEvent[], lane: string, keepWaiting: () => boolean): Promise<PublishedEvent[] | undefined>;
  /** A batch's result, once its first task is over (the workflow completed). */
  batchResult(workflowId: string): Promise<BatchResult>;
  /** Events per batch: BUCKETFLOW_BACKFILL_BATCH_EVENTS, at most the admission bound. */
  batchEvents: number;
}

export interface ScanDeps {
  /** S3 access to a scan's endpoint (undefined: the worker's AWS_ENDPOINT_URL(_S3)), credentials from its AWS_*
   * environment. */
  openS3(endpoint: string | undefined): S3Access;
  /**
   * Publishes listed events (targets matched) in batch workflows held by admission control; `wait` runs while the
   * worker is full and answers false to give up (then undefined: what was not started never is).
   */
  publish(events: ListedEvent[], wait: () => Promise<boolean>): Promise<PublishedEvent[] | undefined>;
  /** Objects per listing request. */
  pageSize: number;
}

/** An event made from a listing, its targets matched: a batch's entry, with its origin as its source. */
export type ListedEvent = BatchEvent & ParsedEvent;
