// The first delivery workflow (type `deliverEvent`): resolve the targets, then one regular activity per
// target. Kept registered, unchanged in behaviour, so deliveries started by older versions replay and
// complete; new deliveries use deliverEventV3 (deliver-v3.ts) unless BUCKETFLOW_FAST_PATH=off. A target that fails
// for good is handed to its dead letter (workflows/dead-letter.ts) when its lookup named one (none did before).
import { ActivityFailure, proxySinks, upsertSearchAttributes } from '@temporalio/workflow';
import { searchKeys } from '../src/delivery/search-attributes';
import { attemptDetailsOf, deliveryFailure } from '../src/delivery/failure';
import { durableDelivery } from './durable';
import { lookUpTargets } from './rules-lookup';
import { withDeadLetter } from './dead-letter';
import { describe, failedArns, failureTypeOf, statusOf } from './outcomes';
import type {
  DeliverInput,
  DeliveryResult,
  DeliverySinks,
  DeliveryStatus,
  ResolvedTarget,
  TargetOutcome,
} from '../src/delivery/types';

const { deliveries } = proxySinks<DeliverySinks>();

export async function deliverEvent(input: DeliverInput): Promise<DeliveryResult> {
  try {
    return await deliver(input);
  } finally {
    deliveries.fastPathOver(); // no fast path here: the worker holds the delivery until it ends
  }
}

async function deliver(input: DeliverInput): Promise<DeliveryResult> {
  const targets = await lookUpTargets(input.record);
  if (targets.length === 0) {
    setStatus('no-targets');
    return { eventId: input.eventId, status: 'no-targets', targets: [] };
  }
  upsertSearchAttributes([
    { key: searchKeys.targets, value: targets.map((t) => t.arn) },
    { key: searchKeys.status, value: 'delivering' },
  ]);

  const outcomes = await Promise.all(targets.map((target) => deliverTo(target, input)));
  const failed = failedArns(outcomes);
  const status = statusOf(outcomes);
  if (failed.length > 0) upsertSearchAttributes([{ key: searchKeys.failedTargets, value: failed }]);
  setStatus(status);

  const result: DeliveryResult = { eventId: input.eventId, status, targets: outcomes };
  if (failed.length > 0) throw deliveryFailure(result);
  return result;
}

async function deliverTo(target: ResolvedTarget, input: DeliverInput): Promise<TargetOutcome> {
  const deliverToTarget = durableDelivery(target);
  try {
    const { attempt } = await deliverToTarget({ arn: target.arn, eventId: input.eventId, record: input.record });
    return { arn: target.arn, status: 'delivered', attempts: attempt };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const outcome: TargetOutcome = {
      arn: target.arn,
      status: 'failed',
      attempts: attemptDetailsOf(err)?.attempt,
      error: describe(err),
    };
    return withDeadLetter(target, input, outcome, failureTypeOf(err), () => {}); // no fast path to end here
  }
}

function setStatus(status: DeliveryStatus): void {
  upsertSearchAttributes([{ key: searchKeys.status, value: status }]);
}
