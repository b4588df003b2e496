// One workflow per object event: resolve the matching targets, then deliver to each in parallel.
// Deterministic: no I/O, clocks or randomness here; every decision is recorded by an activity.
import {
  ActivityFailure,
  ApplicationFailure,
  TemporalFailure,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { searchKeys, type DeliveryStatus } from '../src/search-attributes';
import {
  DELIVERY_FAILED,
  PERMANENT_FAILURE,
  type DeliverInput,
  type DeliveryResult,
  type ResolvedTarget,
  type TargetOutcome,
} from './types';

// A local activity: the rules lookup runs inside the workflow task on the same worker, saving a task
// round trip through the server, and its result is still recorded in the history (a marker event).
const { resolveTargets } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
});

export async function deliverEvent(input: DeliverInput): Promise<DeliveryResult> {
  const targets = await resolveTargets(input.record);
  if (targets.length === 0) {
    setStatus('no-targets');
    return { eventId: input.eventId, status: 'no-targets', targets: [] };
  }
  upsertSearchAttributes([
    { key: searchKeys.targets, value: targets.map((t) => t.arn) },
    { key: searchKeys.status, value: 'delivering' },
  ]);

  const outcomes = await Promise.all(targets.map((target) => deliverTo(target, input)));
  const failed = outcomes.filter((o) => o.status === 'failed').map((o) => o.arn);
  const status: DeliveryStatus =
    failed.length === 0 ? 'delivered' : failed.length === outcomes.length ? 'failed' : 'partial';
  if (failed.length > 0) upsertSearchAttributes([{ key: searchKeys.failedTargets, value: failed }]);
  setStatus(status);

  const result: DeliveryResult = { eventId: input.eventId, status, targets: outcomes };
  if (failed.length > 0) {
    throw ApplicationFailure.create({
      type: DELIVERY_FAILED,
      message: `delivery ${status}: ${failed.join(', ')}`,
      nonRetryable: true,
      details: [result],
    });
  }
  return result;
}

/** One target's activity with the target's own retry schedule; a failure here never affects the others. */
async function deliverTo(target: ResolvedTarget, input: DeliverInput): Promise<TargetOutcome> {
  const { retry } = target;
  const { deliverToTarget } = proxyActivities<Activities>({
    activityId: `deliver ${target.arn}`,
    summary: target.arn,
    startToCloseTimeout: '2 minutes',
    // The activity heartbeats while a send is in flight, so a killed worker's attempt is retried elsewhere quickly.
    heartbeatTimeout: '20 seconds',
    scheduleToCloseTimeout: retry.maxDurationMs,
    retry: {
      initialInterval: retry.initialIntervalMs,
      maximumInterval: retry.maxIntervalMs,
      backoffCoefficient: retry.backoff,
      nonRetryableErrorTypes: [PERMANENT_FAILURE],
    },
  });
  try {
    const { attempt } = await deliverToTarget({ arn: target.arn, eventId: input.eventId, record: input.record });
    return { arn: target.arn, status: 'delivered', attempts: attempt };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return { arn: target.arn, status: 'failed', attempts: attemptsOf(err), error: describe(err) };
  }
}

function setStatus(status: DeliveryStatus): void {
  upsertSearchAttributes([{ key: searchKeys.status, value: status }]);
}

/** The deliver activity puts its attempt number in its failure details; timeouts wrap that failure. */
function attemptsOf(err: ActivityFailure): number | undefined {
  for (let cause = err.cause; cause; cause = (cause as TemporalFailure).cause) {
    if (cause instanceof ApplicationFailure) {
      const detail = cause.details?.[0] as { attempt?: number } | undefined;
      if (typeof detail?.attempt === 'number') return detail.attempt;
    }
  }
  return undefined;
}

function describe(err: ActivityFailure): string {
  const messages: string[] = [];
  for (let cause: Error | undefined = err.cause; cause; cause = (cause as TemporalFailure).cause) {
    messages.push(cause.message);
  }
  return messages.join(': ') || err.message;
}
