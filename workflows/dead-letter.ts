// Dead letters: a target that failed for good (refused permanently, or its retries ran out) hands the event, with
// its failure, to the target its config names in `dead_letter` (carried in the delivery's ResolvedTarget, so the
// decision is in the history). The hand-off is one durable activity on the dead letter's own retry schedule; its
// outcome joins the failed target's, which stays failed: `deliveries list --failed` lists the delivery and
// `redeliver` sends it again. A hand-off that fails too is recorded as failed, never dropped. Deliveries started
// before dead letters existed carry none, so their histories replay unchanged. docs/targets.md#dead-letters.
// Deterministic: no I/O, clocks or randomness here (the workflow's own clock is the task's time, in the history).
import { workflowInfo } from '@temporalio/workflow';
import { attemptDetailsOf } from '../src/delivery/failure';
import type { DeadLetterFailure, DeliverInput, ResolvedTarget, TargetOutcome } from '../src/delivery/types';
import { durableDeadLetter } from './durable';
import { deliverFailureOf, describe } from './outcomes';

/**
 * The outcome as it was, or for a failed target with a dead letter, with the hand-off's outcome. `errorType` names
 * the failure's kind (its ApplicationFailure type, or Timeout); `beforeHandOff` runs first (the fast path is over).
 */
export async function withDeadLetter(
  target: ResolvedTarget,
  input: DeliverInput,
  outcome: TargetOutcome,
  errorType: string,
  beforeHandOff: () => void,
): Promise<TargetOutcome> {
  const route = target.retry.deadLetter;
  if (outcome.status !== 'failed' || !route) return outcome;
  beforeHandOff();
  const info = workflowInfo();
  const failure: DeadLetterFailure = {
    target: target.arn,
    eventId: input.eventId,
    errorType,
    error: outcome.error ?? 'failed',
    ...(outcome.attempts !== undefined ? { attempts: outcome.attempts } : {}),
    firstAttemptAt: info.runStartTime.toISOString(),
    lastAttemptAt: new Date().toISOString(),
    workflowId: info.workflowId,
    runId: info.runId,
  };
  const handOff = durableDeadLetter(target.arn, route);
  try {
    const { attempt } = await handOff({ arn: route.arn, eventId: input.eventId, record: input.record, failure });
    return { ...outcome, deadLetter: { arn: route.arn, status: 'delivered', attempts: attempt } };
  } catch (err) {
    const failed = deliverFailureOf(err);
    if (!failed) throw err;
    const attempts = attemptDetailsOf(failed)?.attempt;
    return {
      ...outcome,
      deadLetter: {
        arn: route.arn,
        status: 'failed',
        ...(attempts !== undefined ? { attempts } : {}),
        error: describe(failed),
      },
    };
  }
}
