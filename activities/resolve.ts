import { decodeObjectKey } from '../src/events';
import type { S3EventRecord } from '../src/events/types';
import { matchingArns } from '../src/rules';
import type { ResolvedTarget } from '../workflows/types';
import type { ActivityDeps } from '.';

/** The bucket's rules decide the targets; done in an activity so the decision is in the history. */
export async function resolveTargets(deps: ActivityDeps, record: S3EventRecord): Promise<ResolvedTarget[]> {
  const rules = await deps.rules.get(record.s3.bucket.name);
  const arns = matchingArns(rules, record.eventName, decodeObjectKey(record.s3.object.key));
  return arns.map((arn) => ({ arn, retry: deps.targets.retryFor(arn) }));
}
