// The durable path, shared by both workflow versions: one regular activity per target with the target's own
// retry schedule. It heartbeats while a send is in flight, so a killed worker's attempt is retried elsewhere
// quickly; a failure here never affects the other targets.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PERMANENT_FAILURE } from '../src/delivery/failure';
import type { ResolvedTarget } from '../src/delivery/types';

export function durableDelivery({ arn, retry }: ResolvedTarget): Activities['deliverToTarget'] {
  return proxyActivities<Activities>({
    activityId: `deliver ${arn}`,
    summary: arn,
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '20 seconds',
    scheduleToCloseTimeout: retry.maxDurationMs,
    retry: {
      initialInterval: retry.initialIntervalMs,
      maximumInterval: retry.maxIntervalMs,
      backoffCoefficient: retry.backoff,
      nonRetryableErrorTypes: [PERMANENT_FAILURE],
    },
  }).deliverToTarget;
}
