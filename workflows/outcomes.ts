// How per-target outcomes become the delivery's result, status and failure: shared by both workflow versions.
import { ActivityFailure, ApplicationFailure, TimeoutFailure, type TemporalFailure } from '@temporalio/workflow';
import { DELIVERY_FAILED, PERMANENT_FAILURE, type DeliveryResult, type DeliveryStatus, type TargetAttempt, type TargetOutcome } from './types';

export function statusOf(outcomes: TargetOutcome[]): DeliveryStatus {
  if (outcomes.length === 0) return 'no-targets';
  const failed = outcomes.filter((o) => o.status === 'failed').length;
  return failed === 0 ? 'delivered' : failed === outcomes.length ? 'failed' : 'partial';
}

export function failedArns(outcomes: TargetOutcome[]): string[] {
  return outcomes.filter((o) => o.status === 'failed').map((o) => o.arn);
}

/** A delivery with a failed target ends the workflow as failed (red in the Web UI), the result in its details. */
export function deliveryFailure(result: DeliveryResult): ApplicationFailure {
  return ApplicationFailure.create({
    type: DELIVERY_FAILED,
    message: `delivery ${result.status}: ${failedArns(result.targets).join(', ')}`,
    nonRetryable: true,
    details: [result],
  });
}

/**
 * The failure of a deliver activity, or undefined for anything else (e.g. the workflow being cancelled).
 * Regular activities fail with an ActivityFailure wrapping the cause; local ones fail with the cause itself.
 */
export function deliverFailureOf(err: unknown): TemporalFailure | undefined {
  if (err instanceof ActivityFailure || err instanceof ApplicationFailure || err instanceof TimeoutFailure) return err;
  return undefined;
}

/** The failure's own causes: an ActivityFailure's message only says that an activity failed. */
function* causes(err: TemporalFailure): Generator<Error> {
  for (let cause: Error | undefined = err instanceof ActivityFailure ? err.cause : err; cause; cause = (cause as TemporalFailure).cause) {
    yield cause;
  }
}

/** The deliver activity puts its attempt number in its failure details; timeouts wrap that failure. */
export function attemptsOf(err: TemporalFailure): number | undefined {
  for (const cause of causes(err)) {
    if (cause instanceof ApplicationFailure) {
      const detail = cause.details?.[0] as { attempt?: number } | undefined;
      if (typeof detail?.attempt === 'number') return detail.attempt;
    }
  }
  return undefined;
}

/** Each target's outcome, from the failure of a first attempt at several targets (deliverToTargets). */
export function firstAttemptOutcomes(err: TemporalFailure): TargetAttempt[] | undefined {
  for (const cause of causes(err)) {
    if (cause instanceof ApplicationFailure) {
      const detail = cause.details?.[0] as { outcomes?: TargetAttempt[] } | undefined;
      if (Array.isArray(detail?.outcomes)) return detail.outcomes;
    }
  }
  return undefined;
}

export function isPermanent(err: TemporalFailure): boolean {
  return [...causes(err)].some((cause) => cause instanceof ApplicationFailure && cause.type === PERMANENT_FAILURE);
}

export function describe(err: TemporalFailure): string {
  return [...causes(err)].map((cause) => cause.message).join(': ') || err.message;
}
