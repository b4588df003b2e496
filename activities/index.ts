// The activities, built by one factory over the worker's dependencies (activities/deps.ts). The rule lookup is the
// rules layer's matcher (src/rules/resolve.ts) run as a local activity when the publisher could not see the rules;
// a scan source's listing rounds (activities/scan.ts); a backfill's listing chunks and its count
// (activities/backfill.ts).
import { resolveTargets } from '../src/rules/resolve';
import type { S3EventRecord } from '../src/events/types';
import { deliverDeadLetter, deliverToTarget, deliverToTargets } from './deliver';
import { deliverBatchEvents } from './deliver-batch';
import { handOffOrdered } from './key-order';
import { backfillChunk, countBackfillObjects } from './backfill';
import type { ActivityDeps } from './deps';
import { scanPages } from './scan';

export type { ActivityDeps, ListedEvent, ScanDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    resolveTargets: (record: S3EventRecord) => resolveTargets(deps.state, (arn) => deps.targets.retryFor(arn), record),
    deliverToTargets: deliverToTargets.bind(null, deps),
    deliverToTarget: deliverToTarget.bind(null, deps),
    deliverDeadLetter: deliverDeadLetter.bind(null, deps),
    deliverBatchEvents: deliverBatchEvents.bind(null, deps),
    handOffOrdered: handOffOrdered.bind(null, deps),
    scanPages: scanPages.bind(null, deps),
    backfillChunk: backfillChunk.bind(null, deps),
    countBackfillObjects: countBackfillObjects.bind(null, deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
