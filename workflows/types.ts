// Inputs and outputs of the delivery workflows: shared by the workflows, their activities and the client.
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
