// The bucket rules' decision for a delivery whose publisher could not see the rules (a separate ingest, the
// library): a local activity, so the matched ARNs are a marker in the history, with a bounded number of attempts. A
// lookup that keeps failing (the rules store unreadable, a bug a bucket name triggers) ends the workflow visibly
// failed (status `failed`, failure type RulesLookupFailed, redeliverable once fixed) instead of retrying forever.
import { ApplicationFailure, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { searchKeys } from '../src/delivery/search-attributes';
import { deliverFailureOf, describe } from './outcomes';
import { RULES_LOOKUP_FAILED, type ResolvedTarget } from '../src/delivery/types';
import type { S3EventRecord } from '../src/events/types';

/** About 15 s of retries (1 s, then doubling): enough for a store's brief hiccup, short enough to show a stuck one. */
export const RULES_LOOKUP_ATTEMPTS = 5;

const { resolveTargets } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1 minute',
    backoffCoefficient: 2,
    maximumAttempts: RULES_LOOKUP_ATTEMPTS,
  },
});

export async function lookUpTargets(record: S3EventRecord): Promise<ResolvedTarget[]> {
  try {
    return await resolveTargets(record);
  } catch (err) {
    const failure = deliverFailureOf(err);
    if (!failure) throw err; // cancelled: not a lookup failure
    upsertSearchAttributes([{ key: searchKeys.status, value: 'failed' }]);
    throw ApplicationFailure.create({
      type: RULES_LOOKUP_FAILED,
      message: `bucket rules could not be looked up after ${RULES_LOOKUP_ATTEMPTS} attempts: ${describe(failure)}`,
      nonRetryable: true,
    });
  }
}
