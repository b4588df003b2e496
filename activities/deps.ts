// What the activities are built over (dependency injection, as in Temporal's samples): the worker's long-lived
// state store, one shared connection per target, the gate asked before every send, the per-event continuation,
// and what the scan sources need (S3 access, publishing held by admission control).
import type { StateStore } from '../src/state';
import type { TargetGate } from '../src/targets/gate';
import type { RecentSends } from '../src/telemetry/recent-sends';
import type { TargetPool } from '../src/targets/pool';
import type { BatchEvent, DeliverInput } from '../src/delivery/types';
import type { ParsedEvent } from '../src/events/sources';
import type { PublishedEvent } from '../src/publish/publisher';
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
  /** This worker's last hour of sends, for the status page (unset: not recorded). */
  sends?: RecentSends;
  /** Scan sources (activities/scan.ts); absent: this worker runs no scans. */
  scans?: ScanDeps;
  /** Told of each event some target received, for reconciliation's delivered states (noted in memory, written in bulk). */
  delivered?: { note(record: S3EventRecord): void };
}

export interface ScanDeps {
  /** S3 access to a scan's endpoint (undefined: the worker's AWS_ENDPOINT_URL(_S3)), credentials from its AWS_* environment. */
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
