// Inputs and outputs of the delivery workflow: shared by the workflow, its activities and the client.
import type { S3EventRecord } from '../src/events/types';
import type { DeliveryStatus } from '../src/search-attributes';

export interface DeliverInput {
  eventId: string;
  record: S3EventRecord;
}

/** A target's retry schedule, from its config (`retry_*` parameters). */
export interface RetrySettings {
  initialIntervalMs: number;
  maxIntervalMs: number;
  backoff: number;
  maxDurationMs: number;
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

export interface DeliveryResult {
  eventId: string;
  status: DeliveryStatus;
  targets: TargetOutcome[];
}

/** Error types the deliver activity throws; the first is never retried. */
export const PERMANENT_FAILURE = 'PermanentDeliveryError';
export const RETRYABLE_FAILURE = 'DeliveryError';
/** The workflow fails with this type when any target failed, so the delivery shows red in the Web UI. */
export const DELIVERY_FAILED = 'DeliveryFailed';
