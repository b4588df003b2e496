// Inputs and outputs of the delivery workflows: shared by the workflows, their activities and the client.
import type { Sinks } from '@temporalio/workflow';
// How a failed attempt or delivery travels (its types and details) is src/delivery/failure.ts.
import type { RetrySettings } from '../config/retry';
import type { DeliverySource, ParsedEvent } from '../events/sources';
import type { S3EventRecord } from '../events/types';

export type { RetrySettings } from '../config/retry';

/** One target's outcome in the fast path's first attempt (deliverToTargets): its result, or its failure's details. */
export interface TargetAttempt {
  arn: string;
  delivered: boolean;
  /** No retry can help (PermanentDeliveryError). */
  permanent?: boolean;
  error?: string;
}

export interface DeliverInput {
  eventId: string;
  record: S3EventRecord;
  /** The server that sent the event, or the listing that found it (absent in deliveries started before sources other
   * than MinIO's). */
  source?: DeliverySource;
  /**
   * The targets the bucket's rules matched where the event was accepted (the ingest inside a worker sees the
   * rules). Absent when the publisher cannot see them: the workflow then resolves them itself.
   */
  targets?: ResolvedTarget[];
  /**
   * Attempt 1 was already made elsewhere: a batch (workflows/deliver-batch.ts) tried these targets and the
   * event continues here for them (deliverEventV3 only). Its fast path goes on from attempt 2.
   */
  firstAttempt?: TargetAttempt[];
  /** The batch workflow this delivery continues (deliverEventV3 only). */
  batch?: string;
  /** Per-key order's workflow only (workflows/key-order.ts): passed to the sends as their sentKey. */
  sentKey?: string;
  /** Targets with `order: key` the publisher already handed the event to (not in `targets`): where each went. */
  handedOff?: HandedOff[];
}

/** An ordered target's share of an event, handed to its per-(target, object) workflow (workflows/key-order.ts). */
export interface HandedOff {
  arn: string;
  workflowId: string;
}

/** One event of a batch workflow. */
export interface BatchEvent {
  eventId: string;
  record: S3EventRecord;
  source?: DeliverySource;
  /** As in DeliverInput: absent when the publisher cannot see the rules (the batch's activity resolves them). */
  targets?: ResolvedTarget[];
}

export interface DeliverBatchInput {
  events: BatchEvent[];
}

/** What one event's attempt in a batch came to: each target's outcome, and where it continues if one failed. */
export interface BatchEventOutcome {
  eventId: string;
  /** `<bucket>/<raw key>`, for people reading the result in the Web UI. */
  object: string;
  targets: TargetAttempt[];
  /** The per-event delivery (workflow id) that took over the targets this batch did not deliver. */
  continuedIn?: string;
  /** Targets with `order: key`: the event went to their per-(target, object) workflows instead. */
  handedOff?: HandedOff[];
}

/** The batch workflow's result: readable in the Web UI, read by `bucketflow deliveries show`. */
export interface BatchResult {
  events: number;
  /** Events every target of which took them in the batch. */
  delivered: number;
  /** Events that continue in a per-event delivery of their own. */
  continued: number;
  outcomes: BatchEventOutcome[];
}

export interface ResolvedTarget {
  arn: string;
  retry: RetrySettings;
}

export interface TargetOutcome {
  arn: string;
  /** `handed-off`: a target with `order: key`, delivered by its per-(target, object) workflow (`workflowId`). */
  status: 'delivered' | 'failed' | 'handed-off';
  workflowId?: string;
  /** Attempts made; absent only when the failure carried no attempt count (e.g. a timeout). */
  attempts?: number;
  error?: string;
  /** A failed target with a dead letter: the hand-off of the event and its failure to it (workflows/dead-letter.ts). */
  deadLetter?: DeadLetterOutcome;
}

/**
 * Why and how a delivery to one target failed for good: what its dead-letter target receives beside the event
 * (the `deadLetter` member of a message target's body; docs/targets.md#dead-letters).
 */
export interface DeadLetterFailure {
  /** The target that failed for good. */
  target: string;
  /** The event's id (the dead letter itself travels under an id of its own: deadLetterEventId). */
  eventId: string;
  /** PermanentDeliveryError (refused: no retry can help), DeliveryError (retries ran out), TargetHeld or Timeout. */
  errorType: string;
  /** The last attempt's error, naming the target. */
  error: string;
  /** Attempts made; absent when the failure carried no count (a timeout). */
  attempts?: number;
  /** ISO times: the delivery's start (attempt 1), and when its last attempt failed. */
  firstAttemptAt: string;
  lastAttemptAt: string;
  /** The delivery's workflow, where `bucketflow deliveries show` and `redeliver` find it. */
  workflowId: string;
  runId: string;
}

/** The hand-off to a dead letter: its target, and whether it took the event (its own retries ran out: failed). */
export interface DeadLetterOutcome {
  arn: string;
  status: 'delivered' | 'failed';
  attempts?: number;
  error?: string;
}

/** Values of the BucketflowStatus search attribute over a delivery's life. */
export type DeliveryStatus = 'pending' | 'delivering' | 'delivered' | 'partial' | 'failed' | 'no-targets';

export interface DeliveryResult {
  eventId: string;
  status: DeliveryStatus;
  targets: TargetOutcome[];
}

/** The bucket rules could not be looked up within the lookup's bounded attempts: the workflow fails, nothing was sent.
 * */
export const RULES_LOOKUP_FAILED = 'RulesLookupFailed';

/**
 * What the delivery workflows tell the worker running them (a sink: no command, nothing in the history, not
 * called on replay): `fastPathOver` once the delivery no longer needs this worker's memory (it completed, or
 * its failed targets were handed to their durable retries; for a batch, its first task's activity ended). The
 * ingest's admission control counts on it.
 */
export interface DeliverySinks extends Sinks {
  deliveries: { fastPathOver(): void };
}

export interface PublishedEvent {
  eventId: string;
  workflowId: string;
  /** The event was already published before (same identity): no second delivery was started. */
  duplicate: boolean;
  /**
   * Every target of the event keeps per-key order: it went only to their per-(target, object) workflows (whose
   * first one `workflowId` names); no delivery of its own was started, so admission control holds nothing for it.
   */
  inOrderOnly?: boolean;
}

/**
 * An event to publish: as parsed, or with its targets already matched (a backfill matches a bucket's rules once per
 * page, or sends to the one target it was told to): those travel as they are, the publisher's own matching skipped.
 */
export type PublishableEvent = ParsedEvent & { targets?: ResolvedTarget[] };
