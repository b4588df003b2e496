// One workflow per object event (type `deliverEventV2`), kept registered so deliveries started by older versions
// replay and complete: the shared fast path (workflows/fast-path.ts) with the status written to search attributes
// at the start of a fallback and once more at the end (deliverEventV3 writes them only when something goes wrong).
// Deterministic: no I/O, clocks or randomness here; every decision is in the history.
import { proxySinks, upsertSearchAttributes } from '@temporalio/workflow';
import { searchKeys } from '../src/delivery/search-attributes';
import { deliveryFailure } from '../src/delivery/failure';
import { deliverTo, firstAttempt } from './fast-path';
import { lookUpTargets } from './rules-lookup';
import { failedArns, statusOf } from './outcomes';
import type { DeliverInput, DeliveryResult, DeliverySinks } from '../src/delivery/types';

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
  const first = await firstAttempt(
    targets.filter((t) => t.retry.fastAttempts > 0),
    input,
  );
  const outcomes = await Promise.all(
    targets.map((target) => deliverTo(target, input, first.get(target.arn), markDelivering)),
  );

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
