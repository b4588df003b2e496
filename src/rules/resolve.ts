// Which targets an event goes to: its bucket's rules matched against the event name, the decoded key and (a rule's
// pattern) the record, each matched ARN with its retry settings. The one matcher every place uses: the ingest inside
// a worker, where it accepts the event (the result travels in the workflow input), the workflow's own lookup (the
// resolveTargets local activity) when the publisher cannot see the rules, the high-volume batch, backfills and scans.
// Either way the decision is in the history.
import { DEFAULT_RETRY, type RetrySettings } from '../config/retry';
import { decodeObjectKey } from '../events';
import type { S3EventRecord } from '../events/types';
import type { ResolvedTarget } from '../delivery/types';
import { matchingArns, type NotificationRule } from './rules';

/** Where a bucket's rules are read from (the state store). */
export interface RulesSource {
  get(bucket: string): Promise<NotificationRule[]>;
}

export async function resolveTargets(
  rules: RulesSource,
  retryFor: (arn: string) => RetrySettings | undefined,
  record: S3EventRecord,
): Promise<ResolvedTarget[]> {
  const bucketRules = await rules.get(record.s3.bucket.name);
  return withRetrySettings(
    matchingArns(bucketRules, record.eventName, decodeObjectKey(record.s3.object.key), record),
    retryFor,
  );
}

/** Each ARN with its target's retry settings (the defaults for one the worker does not know). */
export function withRetrySettings(
  arns: readonly string[],
  retryFor: (arn: string) => RetrySettings | undefined,
): ResolvedTarget[] {
  return arns.map((arn) => ({ arn, retry: retryFor(arn) ?? DEFAULT_RETRY }));
}
