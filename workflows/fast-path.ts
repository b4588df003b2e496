// The delivery core every per-event workflow shares (deliverEventV2, deliverEventV3): attempt 1 at every matched
// target at once in one local activity (inside the first workflow task when the targets are known), then per
// target a few fast retries as local activities of their own, then the durable activity with the target's full
// retry schedule (heartbeats, survives worker loss, backoff up to retry_max_duration), and for a target that failed
// for good the hand-off to its dead letter, if it has one (workflows/dead-letter.ts). The workflows around it are
// thin recorded shapes: what they write to search attributes and when. Changing this changes every version's
// replay: recorded histories (test/fixtures/histories) must keep replaying.
// Deterministic: no I/O, clocks or randomness here; every decision is in the history.
import { proxyLocalActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  attemptDetailsOf,
  firstAttemptOutcomesOf,
  isPermanentFailure,
  PERMANENT_FAILURE,
} from '../src/delivery/failure';
import type { DeliverInput, ResolvedTarget, TargetAttempt, TargetOutcome } from '../src/delivery/types';
import { durableDelivery } from './durable';
import { withDeadLetter } from './dead-letter';
import { deliverFailureOf, describe, failureTypeOf } from './outcomes';

/**
 * Fast attempts. The workflow, not the activity's retry policy, repeats them, so every attempt and its
 * error is a marker of its own in the history. A hung send gives up after this and goes durable.
 */
const { deliverToTargets: deliverFirst, deliverToTarget: deliverFast } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 1 },
});

/** Attempt 1 at every target at once; a target missing from the outcomes (the activity timed out) failed it. */
export async function firstAttempt(
  targets: ResolvedTarget[],
  input: DeliverInput,
): Promise<Map<string, TargetAttempt>> {
  const arns = targets.map((t) => t.arn);
  if (arns.length === 0) return new Map();
  let outcomes: TargetAttempt[] = [];
  let error = '';
  try {
    outcomes = await deliverFirst({ arns, eventId: input.eventId, record: input.record });
  } catch (err) {
    const failure = deliverFailureOf(err);
    if (!failure) throw err;
    outcomes = firstAttemptOutcomesOf(failure) ?? [];
    error = describe(failure);
  }
  return new Map(arns.map((arn) => [arn, outcomes.find((o) => o.arn === arn) ?? { arn, delivered: false, error }]));
}

/**
 * One target's delivery: its first attempt's outcome, the fast retries, then the durable activity; a target that
 * fails for good is then handed to its dead letter, if it has one (workflows/dead-letter.ts).
 */
export async function deliverTo(
  target: ResolvedTarget,
  input: DeliverInput,
  first: TargetAttempt | undefined,
  markDelivering: () => void,
): Promise<TargetOutcome> {
  const [outcome, errorType] = await attemptsAt(target, input, first, markDelivering);
  return withDeadLetter(target, input, outcome, errorType, markDelivering);
}

/** The outcome, and for a failure its kind (failureTypeOf). */
async function attemptsAt(
  target: ResolvedTarget,
  input: DeliverInput,
  first: TargetAttempt | undefined,
  markDelivering: () => void,
): Promise<[TargetOutcome, string]> {
  const { arn, retry } = target;
  if (first?.delivered) return [{ arn, status: 'delivered', attempts: 1 }, ''];
  if (first?.permanent) return [{ arn, status: 'failed', attempts: 1, error: first.error }, PERMANENT_FAILURE];
  const send = {
    arn,
    eventId: input.eventId,
    record: input.record,
    ...(input.sentKey ? { sentKey: input.sentKey } : {}),
  };
  for (let attempt = first ? 2 : 1; attempt <= retry.fastAttempts; attempt++) {
    if (attempt > 1) await sleep(retry.fastIntervalMs * retry.backoff ** (attempt - 2));
    try {
      await deliverFast({ ...send, attemptsBefore: attempt - 1 });
      return [{ arn, status: 'delivered', attempts: attempt }, ''];
    } catch (err) {
      const failure = deliverFailureOf(err);
      if (!failure) throw err;
      if (isPermanentFailure(failure))
        return [{ arn, status: 'failed', attempts: attempt, error: describe(failure) }, failureTypeOf(failure)];
    }
  }

  markDelivering();
  const deliverToTarget = durableDelivery(target);
  try {
    const { attempt } = await deliverToTarget({ ...send, attemptsBefore: retry.fastAttempts });
    return [{ arn, status: 'delivered', attempts: attempt }, ''];
  } catch (err) {
    const failure = deliverFailureOf(err);
    if (!failure) throw err;
    const attempts = attemptDetailsOf(failure)?.attempt;
    return [{ arn, status: 'failed', attempts, error: describe(failure) }, failureTypeOf(failure)];
  }
}
