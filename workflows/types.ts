// Inputs and outputs of the delivery workflows: shared by the workflows, their activities and the client.
import type { Sinks } from '@temporalio/workflow';
// How a failed attempt or delivery travels (its types and details) is src/delivery/failure.ts.
import type { RetrySettings } from '../src/config/retry';
import type { EventSource } from '../src/events/sources';
import type { S3EventRecord } from '../src/events/types';

export type { RetrySettings } from '../src/config/retry';

export interface DeliverInput {
  eventId: string;
  record: S3EventRecord;
  /** The server that sent the event (absent in deliveries started before sources other than MinIO's). */
  source?: EventSource;
  /**
   * The targets the bucket's rules matched where the event was accepted (the ingest inside a worker sees the
   * rules). Absent when the publisher cannot see them: the workflow then resolves them itself.
   */
  targets?: ResolvedTarget[];
}

export interface ResolvedTarget {
  arn: string;
  retry: RetrySettings;
}

export interface TargetOutcome {
  arn: string;
  status: 'delivered' | 'failed';
  /** Attempts made; absent only when the failure carried no attempt count (e.g. a timeout). */
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

/** The bucket rules could not be looked up within the lookup's bounded attempts: the workflow fails, nothing was sent. */
export const RULES_LOOKUP_FAILED = 'RulesLookupFailed';

/**
 * What the delivery workflows tell the worker running them (a sink: no command, nothing in the history, not
 * called on replay): `fastPathOver` once the delivery no longer needs this worker's memory (it completed, or
 * its failed targets were handed to their durable retries). The ingest's admission control counts on it.
 */
export interface DeliverySinks extends Sinks {
  deliveries: { fastPathOver(): void };
}
