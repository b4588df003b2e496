// One workflow per object event (type `deliverEventV2`). The fast path: the first attempt at every matched
// target is one local activity inside the event's first workflow task (the sends run in parallel), so a
// healthy delivery costs one workflow task, one marker, and completes with it. A target that failed is
// tried a few more times as local activities of its own, then falls back to a regular activity with its
// full retry schedule (heartbeats, survives worker loss, backoff up to retry_max_duration).
// Deterministic: no I/O, clocks or randomness here; every decision is in the history.
import { proxyLocalActivities, proxySinks, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { searchKeys } from '../src/delivery/search-attributes';
import { attemptDetailsOf, deliveryFailure, firstAttemptOutcomesOf, isPermanentFailure, type TargetAttempt } from '../src/delivery/failure';
import { durableDelivery } from './durable';
import { lookUpTargets } from './rules-lookup';
import { deliverFailureOf, describe, failedArns, statusOf } from './outcomes';
import type { DeliverInput, DeliveryResult, DeliverySinks, ResolvedTarget, TargetOutcome } from './types';

/**
 * Fast attempts. The workflow, not the activity's retry policy, repeats them, so every attempt and its
 * error is a marker of its own in the history. A hung send gives up after this and goes durable.
 */
const { deliverToTargets: deliverFirst, deliverToTarget: deliverFast } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 1 },
});

const { deliveries } = proxySinks<DeliverySinks>();

export async function deliverEventV2(input: DeliverInput): Promise<DeliveryResult> {
  try {
    return await deliver(input);
  } finally {
    deliveries.fastPathOver();
  }
}

async function deliver(input: DeliverInput): Promise<DeliveryResult> {
  const targets = input.targets ?? (await lookUpTargets(input.record));
  let fellBack = false;
  // Search attributes are written once more only when the delivery leaves the fast path, so a delivery
  // that is still retrying shows as `delivering` with its targets.
  const markDelivering = () => {
    if (fellBack) return;
    fellBack = true;
    deliveries.fastPathOver();
    upsertSearchAttributes([
      { key: searchKeys.targets, value: targets.map((t) => t.arn) },
      { key: searchKeys.status, value: 'delivering' },
    ]);
  };
  const first = await firstAttempt(targets.filter((t) => t.retry.fastAttempts > 0), input);
  const outcomes = await Promise.all(targets.map((target) => deliverTo(target, input, first.get(target.arn), markDelivering)));

  const status = statusOf(outcomes);
  const failed = failedArns(outcomes);
  // The final state in one write, sent with the completion.
  upsertSearchAttributes([
    { key: searchKeys.status, value: status },
    { key: searchKeys.targets, value: targets.map((t) => t.arn) },
    ...(failed.length > 0 ? [{ key: searchKeys.failedTargets, value: failed }] : []),
  ]);
  const result: DeliveryResult = { eventId: input.eventId, status, targets: outcomes };
  if (failed.length > 0) throw deliveryFailure(result);
  return result;
}

/** Attempt 1 at every target at once; a target missing from the outcomes (the activity timed out) failed it. */
export async function firstAttempt(targets: ResolvedTarget[], input: DeliverInput): Promise<Map<string, TargetAttempt>> {
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

export async function deliverTo(
  target: ResolvedTarget,
  input: DeliverInput,
  first: TargetAttempt | undefined,
  markDelivering: () => void,
): Promise<TargetOutcome> {
  const { arn, retry } = target;
  if (first?.delivered) return { arn, status: 'delivered', attempts: 1 };
  if (first?.permanent) return { arn, status: 'failed', attempts: 1, error: first.error };
  const send = { arn, eventId: input.eventId, record: input.record };
  for (let attempt = first ? 2 : 1; attempt <= retry.fastAttempts; attempt++) {
    if (attempt > 1) await sleep(retry.fastIntervalMs * retry.backoff ** (attempt - 2));
    try {
      await deliverFast({ ...send, attemptsBefore: attempt - 1 });
      return { arn, status: 'delivered', attempts: attempt };
    } catch (err) {
      const failure = deliverFailureOf(err);
      if (!failure) throw err;
      if (isPermanentFailure(failure)) return { arn, status: 'failed', attempts: attempt, error: describe(failure) };
    }
  }

  markDelivering();
  const deliverToTarget = durableDelivery(target);
  try {
    const { attempt } = await deliverToTarget({ ...send, attemptsBefore: retry.fastAttempts });
    return { arn, status: 'delivered', attempts: attempt };
  } catch (err) {
    const failure = deliverFailureOf(err);
    if (!failure) throw err;
    return { arn, status: 'failed', attempts: attemptDetailsOf(failure)?.attempt, error: describe(failure) };
  }
}
