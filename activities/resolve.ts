import { DEFAULT_RETRY } from '../src/config/retry';
import { decodeObjectKey } from '../src/events';
import type { S3EventRecord } from '../src/events/types';
import { matchingArns } from '../src/rules';
import type { ResolvedTarget } from '../workflows/types';
import type { ActivityDeps } from '.';

/**
 * The bucket's rules decide the targets. The ingest inside a worker calls this where it accepts the
 * event and passes the result in the workflow input; other publishers leave it to the workflow, which
 * runs it as a local activity. Either way the decision is in the history.
 */
export async function resolveTargets(deps: Pick<ActivityDeps, 'rules' | 'targets'>, record: S3EventRecord): Promise<ResolvedTarget[]> {
  const rules = await deps.rules.get(record.s3.bucket.name);
  const arns = matchingArns(rules, record.eventName, decodeObjectKey(record.s3.object.key));
  return arns.map((arn) => ({ arn, retry: deps.targets.retryFor(arn) ?? DEFAULT_RETRY }));
}
