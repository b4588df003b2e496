// A scan source's run (type `scanBucket`), started by the scan's Temporal Schedule (`bucketflow scan add`; overlap
// policy skip: one run of a scan at a time). The listing is done by the activity scanPages (activities/scan.ts), a
// round at a time: each round lists pages for up to two minutes, heartbeating after each page, and returns where
// it is; the next round goes on from there. A worker SIGKILLed mid-round: the round's retry resumes from its last
// heartbeat. A long run continues as new before its history grows large. The run's start time travels with it:
// removals found by any round or retry carry it as their event time, so they are the same events every time.
// Deterministic: no I/O, clocks or randomness here but the workflow's own (replayed) time.
import { ApplicationFailure, continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ScanWorkflowInput } from '../src/delivery/scan-types';
import type { ScanRunSummary } from '../src/state/scans';

/**
 * A round is retried with backoff (an unreachable endpoint, throttling, a server's 5xx) for some four minutes,
 * then the run fails with the activity's one line and the schedule's next run tries again. What retrying cannot
 * help (credentials refused, no such bucket, a bad setting, a removed scan) fails the run at once.
 */
const { scanPages } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  // A page heartbeats as it ends (the SDK sends one at most every 12 s): a worker gone is noticed within 15 s.
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
});

/** Rounds before the run continues as new (each round is a few history events). */
const ROUNDS_PER_RUN = 200;

export async function scanBucket(input: ScanWorkflowInput): Promise<ScanRunSummary> {
  const startedAt = input.startedAt ?? new Date().toISOString();
  let cursor = input.cursor;
  for (let round = 0; ; round++) {
    const result = await scanPages({ scanId: input.scanId, startedAt, cursor });
    if (result.done) return result.summary;
    if (JSON.stringify(result.cursor) === JSON.stringify(cursor))
      throw ApplicationFailure.nonRetryable('a scan round made no progress', 'ScanStuck');
    cursor = result.cursor;
    if (round + 1 >= ROUNDS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof scanBucket>({ scanId: input.scanId, startedAt, cursor });
    }
  }
}
