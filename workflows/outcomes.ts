// How per-target outcomes become the delivery's status, and a deliver activity's failure its error text:
// shared by both workflow versions. The failures' types and details are decoded by src/delivery/failure.ts.
import { ActivityFailure, ApplicationFailure, TimeoutFailure, type TemporalFailure } from '@temporalio/workflow';
import { causesOf } from '../src/delivery/failure';
import type { DeliveryStatus, TargetOutcome } from '../src/delivery/types';

export function statusOf(outcomes: TargetOutcome[]): DeliveryStatus {
  if (outcomes.length === 0) return 'no-targets';
  const failed = outcomes.filter((o) => o.status === 'failed').length;
  return failed === 0 ? 'delivered' : failed === outcomes.length ? 'failed' : 'partial';
}

export function failedArns(outcomes: TargetOutcome[]): string[] {
  return outcomes.filter((o) => o.status === 'failed').map((o) => o.arn);
}

/**
 * The failure of a deliver activity, or undefined for anything else (e.g. the workflow being cancelled).
 * Regular activities fail with an ActivityFailure wrapping the cause; local ones fail with the cause itself.
 */
export function deliverFailureOf(err: unknown): TemporalFailure | undefined {
  if (err instanceof ActivityFailure || err instanceof ApplicationFailure || err instanceof TimeoutFailure) return err;
  return undefined;
}

/** The failure's messages, its causes' included (an ActivityFailure's own message says only that an activity failed).
 * */
export function describe(err: TemporalFailure): string {
  return [...causesOf(err)].map((cause) => cause.message).join(': ') || err.message;
}

/** The failure's kind for a dead letter: the first ApplicationFailure type among its causes, else Timeout. */
export function failureTypeOf(err: TemporalFailure): string {
  const causes = [...causesOf(err)];
  const typed = causes.find((cause) => cause instanceof ApplicationFailure && cause.type);
  if (typed instanceof ApplicationFailure && typed.type) return typed.type;
  return causes.some((cause) => cause instanceof TimeoutFailure) ? 'Timeout' : err.name;
}
