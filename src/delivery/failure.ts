// The delivery-failure contract, its one home: the errors a delivery attempt reports (PermanentDeliveryError,
// TargetHeld), the failure types they travel as through Temporal, the details each failure carries, and both
// directions: activities encode their failures here, the workflows (workflows/outcomes.ts, deliver-v*.ts)
// decode the SDK's failures here, and `bucketflow deliveries show` decodes a history's recorded failures here.
// Recorded histories must keep decoding (test/unit/delivery-failure.test.ts): change a shape only by adding
// optional fields. Sandbox-safe: imports only @temporalio/common, so workflow code may import it.
import {
  ActivityFailure,
  ApplicationFailure,
  DefaultFailureConverter,
  defaultPayloadConverter,
  TemporalFailure,
  type ProtoFailure,
} from '@temporalio/common';
import type { DeliveryResult, TargetAttempt } from './types';

/** A deliver activity's failure when no retry can help: never retried (the durable activity's nonRetryableErrorTypes).
 * */
export const PERMANENT_FAILURE = 'PermanentDeliveryError';
/** A deliver activity's failure that a later attempt may not have. */
export const RETRYABLE_FAILURE = 'DeliveryError';
/** The target is paused, its circuit is open, or its rate limit is reached: retried without counting an attempt. */
export const TARGET_HELD = 'TargetHeld';
/** The workflow fails with this type when any target failed, so the delivery shows red in the Web UI; the result is its
 * details. */
export const DELIVERY_FAILED = 'DeliveryFailed';

/** A failure no retry can fix (bad config, auth refused, payload rejected): the activity fails fast. */
export class PermanentDeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentDeliveryError';
  }
}

export type HoldReason = 'paused' | 'circuit open' | 'rate limited';

/** The target may not be sent to now (src/targets/gate.ts throws it); retryable, and not a failure of the target
 * itself. */
export class TargetHeld extends Error {
  constructor(
    readonly arn: string,
    readonly reason: HoldReason,
  ) {
    super(`${arn}: ${reason}`);
    this.name = 'TargetHeld';
  }
}

/** The details of a failed attempt at one target (deliverToTarget). */
export interface AttemptDetails {
  /** The attempt's number counted over the fast path and the durable activity together. */
  attempt: number;
  /** The target (absent in histories recorded before it was added: their messages start with it). */
  arn?: string;
  /** Why a held target was not sent to (TARGET_HELD only). */
  held?: HoldReason;
}

/** The details of a failed first attempt at several targets (deliverToTargets): every target's outcome. */
export interface FirstAttemptDetails {
  attempt: 1;
  outcomes: TargetAttempt[];
}

// Encoding: what the activities and the workflows throw.

/**
 * The failure of one attempt at one target: TARGET_HELD (retried in a second, not on the backoff schedule),
 * PERMANENT_FAILURE (never retried) or RETRYABLE_FAILURE, as the error says. `message` names the target.
 */
export function attemptFailure(
  err: unknown,
  attempt: { arn: string; attempt: number },
  message: string,
): ApplicationFailure {
  if (err instanceof TargetHeld) {
    const details: AttemptDetails = { attempt: attempt.attempt, arn: attempt.arn, held: err.reason };
    return ApplicationFailure.create({ type: TARGET_HELD, message, nextRetryDelay: '1s', details: [details] });
  }
  const permanent = err instanceof PermanentDeliveryError;
  const details: AttemptDetails = { attempt: attempt.attempt, arn: attempt.arn };
  return ApplicationFailure.create({
    type: permanent ? PERMANENT_FAILURE : RETRYABLE_FAILURE,
    message,
    nonRetryable: permanent,
    details: [details],
  });
}

/** The failure of a first attempt at several targets in which any failed: the workflow retries only those. */
export function firstAttemptFailure(outcomes: TargetAttempt[]): ApplicationFailure {
  const failed = outcomes.filter((o) => !o.delivered);
  const details: FirstAttemptDetails = { attempt: 1, outcomes };
  return ApplicationFailure.create({
    type: RETRYABLE_FAILURE,
    message: `${failed.length} of ${outcomes.length} targets failed: ${failed.map((o) => o.error).join('; ')}`,
    details: [details],
  });
}

/** A delivery with a failed target ends its workflow as failed (red in the Web UI), the result in the details. */
export function deliveryFailure(result: DeliveryResult): ApplicationFailure {
  const failed = result.targets.filter((t) => t.status === 'failed').map((t) => t.arn);
  return ApplicationFailure.create({
    type: DELIVERY_FAILED,
    message: `delivery ${result.status}: ${failed.join(', ')}`,
    nonRetryable: true,
    details: [result],
  });
}

// Decoding: from the failures the SDK hands a workflow or a client, or from a history's recorded (proto) failures.

const failureConverter = new DefaultFailureConverter();

/** A failure recorded in a history (an event's, a marker's, a pending activity's), as the SDK hands it to a workflow.
 * */
export function failureFromHistory(failure: ProtoFailure | null | undefined): TemporalFailure | undefined {
  if (!failure) return undefined;
  const err = failureConverter.failureToError(failure, defaultPayloadConverter);
  return err instanceof TemporalFailure ? err : undefined;
}

/**
 * The failure and its causes, outermost first, skipping an ActivityFailure (its message only says that an
 * activity failed): regular activities fail with an ActivityFailure wrapping the cause, local ones with the
 * cause itself, and a timeout wraps the last attempt's failure.
 */
export function* causesOf(err: Error | undefined): Generator<Error> {
  for (
    let cause = err instanceof ActivityFailure ? err.cause : err;
    cause;
    cause = cause instanceof TemporalFailure ? cause.cause : undefined
  ) {
    yield cause;
  }
}

function* detailsOf(err: Error | undefined): Generator<unknown> {
  for (const cause of causesOf(err)) {
    if (cause instanceof ApplicationFailure && cause.details?.length) yield cause.details[0];
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const HOLD_REASONS: readonly HoldReason[] = ['paused', 'circuit open', 'rate limited'];
const isHoldReason = (value: unknown): value is HoldReason => HOLD_REASONS.some((reason) => reason === value);

function isTargetAttempt(value: unknown): value is TargetAttempt {
  return (
    isRecord(value) &&
    typeof value.arn === 'string' &&
    typeof value.delivered === 'boolean' &&
    (value.permanent === undefined || typeof value.permanent === 'boolean') &&
    (value.error === undefined || typeof value.error === 'string')
  );
}

/** The attempt details a deliver activity's failure carries (a first attempt's count as attempt 1), if any. */
export function attemptDetailsOf(err: Error | undefined): AttemptDetails | undefined {
  for (const details of detailsOf(err)) {
    if (!isRecord(details) || typeof details.attempt !== 'number') continue;
    return {
      attempt: details.attempt,
      ...(typeof details.arn === 'string' ? { arn: details.arn } : {}),
      ...(isHoldReason(details.held) ? { held: details.held } : {}),
    };
  }
  return undefined;
}

/** Each target's outcome, from the failure of a first attempt at several targets (deliverToTargets). */
export function firstAttemptOutcomesOf(err: Error | undefined): TargetAttempt[] | undefined {
  for (const details of detailsOf(err)) {
    if (isRecord(details) && Array.isArray(details.outcomes) && details.outcomes.every(isTargetAttempt))
      return details.outcomes;
  }
  return undefined;
}

/** Whether no retry can help: the failure, or a failure it wraps, is a PERMANENT_FAILURE. */
export function isPermanentFailure(err: Error | undefined): boolean {
  return [...causesOf(err)].some((cause) => cause instanceof ApplicationFailure && cause.type === PERMANENT_FAILURE);
}

/** The delivery's result, from the DELIVERY_FAILED failure its workflow ended with. */
export function deliveryResultOf(err: Error | undefined): DeliveryResult | undefined {
  if (!(err instanceof ApplicationFailure) || err.type !== DELIVERY_FAILED) return undefined;
  const result: unknown = err.details?.[0];
  return isDeliveryResult(result) ? result : undefined;
}

function isDeliveryResult(value: unknown): value is DeliveryResult {
  return (
    isRecord(value) &&
    typeof value.eventId === 'string' &&
    typeof value.status === 'string' &&
    Array.isArray(value.targets) &&
    value.targets.every(
      (t) => isRecord(t) && typeof t.arn === 'string' && (t.status === 'delivered' || t.status === 'failed'),
    )
  );
}
