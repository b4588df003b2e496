// What a target driver is (one ARN's send, health check and close) and what it is given (a Delivery);
// drivers report a failure no retry can fix as the contract's PermanentDeliveryError (src/delivery/failure.ts).
import { PermanentDeliveryError } from '../delivery/failure';
import { errorMessage } from '../errors';
import type { EventEnvelope, S3EventRecord } from '../events/types';
import type { DeadLetterFailure } from '../delivery/types';

/** One event on its way to one target. */
export interface Delivery {
  /** Stable event identity (see src/events): receivers and idempotent writes dedupe on it. */
  eventId: string;
  record: S3EventRecord;
  envelope: EventEnvelope;
  /** A dead letter (workflows/dead-letter.ts): the event failed for good at another target, and why. */
  deadLetter?: DeadLetterFailure;
}

export interface Health {
  online: boolean;
  detail?: string;
}

/**
 * One delivery's outcome in a batch: delivered, or the error (naming the ARN) and whether it is permanent,
 * i.e. `error` is a PermanentDeliveryError and no retry can help.
 */
export type BatchSendResult = { ok: true } | { ok: false; error: Error; permanent: boolean };

/** One configured target (one ARN) with its shared connection; MinIO's internal/event/target shape. */
export interface Target {
  readonly arn: string;
  /**
   * True when an event sent again changes nothing at the target: its writes are keyed by event id or object key
   * (the store targets). The high-volume path sends such a target a batch in one bulk; any other target in slices,
   * each recorded as sent once it succeeds, so a worker killed mid-batch sends again at most the slice in flight.
   */
  readonly keyedWrites?: boolean;
  /** Resolves once the target has durably accepted the event; throws PermanentDeliveryError when a retry cannot help.
   * */
  send(delivery: Delivery): Promise<void>;
  /**
   * Sends many events through the target's bulk path (one Kafka send, one `_bulk`, one SQL transaction,
   * one Redis pipeline, confirms/acks awaited together, concurrent webhook POSTs). Never rejects: resolves
   * with one result per delivery, in input order. Events of one object (bucket/key) are sent in sequencer
   * order; an event id given twice is sent once and both get its result. See src/targets/send.ts.
   */
  sendBatch(deliveries: Delivery[]): Promise<BatchSendResult[]>;
  health(): Promise<Health>;
  close(): Promise<void>;
}

/** `<context>: <cause>`, as PermanentDeliveryError when no retry can help, else a retryable Error. */
export function deliveryError(context: string, err: unknown, permanent: boolean): Error {
  const message = `${context}: ${errorMessage(err)}`;
  return permanent ? new PermanentDeliveryError(message, { cause: err }) : new Error(message, { cause: err });
}
