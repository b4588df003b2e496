// The durable path, shared by every workflow version: one regular activity per target with the target's own
// retry schedule. It heartbeats while a send is in flight, so a killed worker's attempt is retried elsewhere
// quickly; a failure here never affects the other targets. A dead letter's hand-off runs the same way on its
// target's schedule.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PERMANENT_FAILURE } from '../src/delivery/failure';
import type { ResolvedTarget } from '../src/delivery/types';

export function durableDelivery(target: ResolvedTarget): Activities['deliverToTarget'] {
  return proxyActivities<Activities>(durableOptions(target, `deliver ${target.arn}`, target.arn)).deliverToTarget;
}

/**
 * The hand-off of `failedArn`'s event to its dead letter `to`, on the dead letter's own schedule. Its activity id,
 * `dead-letter <failed ARN> <dead-letter ARN>`, is how `bucketflow deliveries show` finds it (never `deliver ...`).
 */
export function durableDeadLetter(failedArn: string, to: ResolvedTarget): Activities['deliverDeadLetter'] {
  return proxyActivities<Activities>(
    durableOptions(to, `dead-letter ${failedArn} ${to.arn}`, `dead letter of ${failedArn} to ${to.arn}`),
  ).deliverDeadLetter;
}

function durableOptions({ retry }: ResolvedTarget, activityId: string, summary: string): ActivityOptions {
  return {
    activityId,
    summary,
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '20 seconds',
    scheduleToCloseTimeout: retry.maxDurationMs,
    retry: {
      initialInterval: retry.initialIntervalMs,
      maximumInterval: retry.maxIntervalMs,
      backoffCoefficient: retry.backoff,
      nonRetryableErrorTypes: [PERMANENT_FAILURE],
    },
  };
}
