// One workflow per object event (type `deliverEventV3`), the default for new deliveries: the shared fast path
// (workflows/fast-path.ts: attempt 1 at every target in one local activity inside the first workflow task, then a
// few fast retries, then the durable activity), at most 2 billable Temporal actions when healthy: the start,
// and the first task's marker. The status is not written at the end: a delivery that completes is
// `delivered` by its execution status (Completed), one still running is `pending` (src/operator/deliveries/
// query.ts reads both); search attributes are written only when something goes wrong (a target left the
// fast path, a target failed) or there is nothing to deliver.
// It is also how an event continues after a batch (workflows/deliver-batch.ts) failed it at some targets:
// the input then names only the targets still owed, with the batch's attempt as their attempt 1.
// A target with `order: key` among the targets (matched here, or a redelivery) is handed to its per-(target, object)
// workflow (workflows/key-order.ts) by a local activity beside attempt 1: its outcome says `handed-off` and where.
// Deterministic: no I/O, clocks or randomness here; every decision is in the history.
import { proxyLocalActivities, proxySinks, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { isKeyOrdered } from '../src/delivery/key-order';
import { searchKeys } from '../src/delivery/search-attributes';
import { deliverTo, firstAttempt } from './fast-path';
import { lookUpTargets } from './rules-lookup';
import { deliveryFailure } from '../src/delivery/failure';
import { failedArns, statusOf } from './outcomes';
import type { DeliverInput, DeliveryResult, DeliverySinks, HandedOff, ResolvedTarget } from '../src/delivery/types';

const { deliveries } = proxySinks<DeliverySinks>();
/** The hand-off to per-key order: signal-with-start, retried (Temporal blinking) until it is done. */
const { handOffOrdered } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10 seconds' },
});

function handOff(targets: ResolvedTarget[], input: DeliverInput): Promise<HandedOff[]> {
  return handOffOrdered({ targets, eventId: input.eventId, record: input.record, source: input.source });
}

export async function deliverEventV3(input: DeliverInput): Promise<DeliveryResult> {
  try {
    return await deliver(input);
  } finally {
    deliveries.fastPathOver(); // the worker's admission control lets the delivery go (src/publish/admission.ts)
  }
}

async function deliver(input: DeliverInput): Promise<DeliveryResult> {
  const resolvedHere = input.targets === undefined;
  const targets = input.targets ?? (await lookUpTargets(input.record));
  // A publisher without the rules could not name the targets at the start: they are written once known.
  if (resolvedHere && targets.length > 0)
    upsertSearchAttributes([{ key: searchKeys.targets, value: targets.map((t) => t.arn) }]);
  let fellBack = false;
  const markDelivering = () => {
    if (fellBack) return;
    fellBack = true;
    deliveries.fastPathOver();
    upsertSearchAttributes([{ key: searchKeys.status, value: 'delivering' }]);
  };
  const given = new Map((input.firstAttempt ?? []).map((attempt) => [attempt.arn, attempt]));
  // Targets with `order: key` go to their per-(target, object) workflows (a local activity beside attempt 1).
  const ordered = targets.filter(isKeyOrdered);
  const unordered = ordered.length > 0 ? targets.filter((t) => !isKeyOrdered(t)) : targets;
  const [first, handedOff] = await Promise.all([
    firstAttempt(
      unordered.filter((t) => t.retry.fastAttempts > 0 && !given.has(t.arn)),
      input,
    ),
    ordered.length > 0 ? handOff(ordered, input) : [],
  ]);
  for (const [arn, attempt] of given) first.set(arn, attempt);
  const outcomes = await Promise.all(
    targets.map((target) => {
      const handed = handedOff.find((h) => h.arn === target.arn);
      if (handed) return { arn: target.arn, status: 'handed-off' as const, workflowId: handed.workflowId };
      return deliverTo(target, input, first.get(target.arn), markDelivering);
    }),
  );

  const status = statusOf(outcomes);
  const failed = failedArns(outcomes);
  const result: DeliveryResult = { eventId: input.eventId, status, targets: outcomes };
  if (failed.length > 0) {
    upsertSearchAttributes([
      { key: searchKeys.status, value: status },
      { key: searchKeys.failedTargets, value: failed },
    ]);
    throw deliveryFailure(result);
  }
  // Completed alone reads as delivered; a delivery that said `delivering` or has no targets says what it came to.
  if (fellBack || status === 'no-targets') upsertSearchAttributes([{ key: searchKeys.status, value: status }]);
  return result;
}
