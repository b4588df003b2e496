// What a target driver is (one ARN's send, health check and close) and what it is given (a Delivery);
// drivers report a failure no retry can fix as the contract's PermanentDeliveryError (src/delivery/failure.ts).
import { PermanentDeliveryError } from '../delivery/failure';
import { errorMessage } from '../errors';
import type { EventEnvelope, S3EventRecord } from '../events/types';

/** One event on its way to one target. */
export interface Delivery {
  /** Stable event identity (see src/events): receivers and idempotent writes dedupe on it. */
  eventId: string;
  record: S3EventRecord;
  envelope: EventEnvelope;
}

export interface Health {
  online: boolean;
  detail?: string;
}

/** One configured target (one ARN) with its shared connection; MinIO's internal/event/target shape. */
export interface Target {
  readonly arn: string;
  /** Resolves once the target has durably accepted the event; throws PermanentDeliveryError when a retry cannot help. */
  send(delivery: Delivery): Promise<void>;
  health(): Promise<Health>;
  close(): Promise<void>;
}

/** `<context>: <cause>`, as PermanentDeliveryError when no retry can help, else a retryable Error. */
export function deliveryError(context: string, err: unknown, permanent: boolean): Error {
  const message = `${context}: ${errorMessage(err)}`;
  return permanent ? new PermanentDeliveryError(message, { cause: err }) : new Error(message, { cause: err });
}
