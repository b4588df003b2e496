// `bucketflow redeliver`: sends an event again to the targets whose delivery failed (or one named), as a
// new deliverEventV3 workflow linked to the original. Its id is derived from the original's, so the same
// redeliver run twice starts nothing new while the first is open; a closed one may be run again.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { DEFAULT_RETRY, type RetrySettings } from '../../config/retry';
import { decodeObjectKey } from '../../events';
import { searchKeys } from '../../delivery/search-attributes';
import type { DeliverInput, ResolvedTarget } from '../../delivery/types';
import { readRun } from './history';
import { listDeliveries, type DeliveryContext } from './inspect';
import { ArgumentError, type DeliveryFilters } from './query';
import { DELIVER_EVENT_V3, isDeliveryWorkflowType } from '../../delivery/workflow-types';

export interface RedeliverContext extends DeliveryContext {
  /** The retry schedule of a configured ARN (undefined: not configured here). */
  retryFor(arn: string): RetrySettings | undefined;
}

export interface RedeliveryPlan {
  original: string;
  /** The redelivery's workflow id: `<original>-redelivery`. */
  workflowId: string;
  eventId: string;
  bucket: string;
  key: string;
  targets: string[];
  /** Why nothing is started for this delivery (bulk mode reports instead of failing). */
  skipped?: string;
  input?: DeliverInput;
}

export function redeliveryIdOf(original: string): string {
  return `${original}-redelivery`;
}

class Skip extends Error {}

/**
 * What `redeliver` would start for one delivery. Throws ArgumentError (single mode) for an unknown
 * delivery, one still running, a redelivery still running, or nothing to redeliver.
 */
export async function planRedelivery(ctx: RedeliverContext, workflowId: string, options: { target?: string; argument?: string } = {}): Promise<RedeliveryPlan> {
  const argument = options.argument ?? '<delivery>';
  const original = await originalOf(ctx, workflowId, argument);
  const handle = ctx.client.workflow.getHandle(original);
  const description = await handle.describe();
  if (description.status.name === 'RUNNING') {
    throw new ArgumentError(argument, `${original} is still running (${description.typedSearchAttributes.get(searchKeys.status) ?? 'pending'}); redeliver it once it has finished`);
  }
  const redeliveryId = redeliveryIdOf(original);
  const latestRedelivery = await describeOrUndefined(ctx, redeliveryId);
  if (latestRedelivery?.status.name === 'RUNNING') {
    throw new ArgumentError(argument, `a redelivery of ${original} is still running (${redeliveryId})`);
  }

  // Each target's newest outcome: the original's, then every closed redelivery's, oldest first.
  const first = readRun(await handle.fetchHistory());
  const latest = new Map(first.targets.map((t) => [t.arn, t.state]));
  const runIds = new Set((await listDeliveries(ctx, { redeliveryOf: original }, 1000)).map((d) => d.runId));
  if (latestRedelivery) runIds.add(latestRedelivery.runId);
  const runs = await Promise.all([...runIds].map(async (runId) => {
    const runHandle = ctx.client.workflow.getHandle(redeliveryId, runId);
    const [info, history] = await Promise.all([runHandle.describe(), runHandle.fetchHistory()]);
    return { startedAt: info.startTime, run: readRun(history) };
  }));
  for (const { run } of runs.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime())) {
    for (const t of run.targets) latest.set(t.arn, t.state);
  }

  let targets: string[];
  if (options.target) {
    if (!latest.has(options.target)) throw new ArgumentError('--target', `${options.target} is not a target of ${original} (its targets: ${[...latest.keys()].join(', ') || 'none'})`);
    targets = [options.target];
  } else {
    targets = [...latest].filter(([, state]) => state === 'failed').map(([arn]) => arn);
    if (targets.length === 0) throw new Skip(`every target of ${original} was delivered; name one with --target to send it again`);
  }
  const resolved: ResolvedTarget[] = targets.map((arn) => ({
    arn,
    retry: ctx.retryFor(arn) ?? first.inputTargets?.find((t) => t.arn === arn)?.retry ?? DEFAULT_RETRY,
  }));
  return {
    original,
    workflowId: redeliveryId,
    eventId: first.eventId,
    bucket: first.record.s3.bucket.name,
    key: decodeObjectKey(first.record.s3.object.key),
    targets,
    input: { eventId: first.eventId, record: first.record, targets: resolved },
  };
}

/** The original delivery behind a workflow id (a redelivery points back to it). */
async function originalOf(ctx: RedeliverContext, workflowId: string, argument: string): Promise<string> {
  const description = await describeOrUndefined(ctx, workflowId);
  if (!description) throw new ArgumentError(argument, `unknown delivery ${workflowId}`);
  if (!isDeliveryWorkflowType(description.type)) {
    throw new ArgumentError(argument, `${workflowId} is a ${description.type} workflow, not a delivery`);
  }
  return description.typedSearchAttributes.get(searchKeys.redeliveryOf) ?? workflowId;
}

async function describeOrUndefined(ctx: RedeliverContext, workflowId: string) {
  try {
    return await ctx.client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Starts the planned redelivery; false when one with that id is already running (a concurrent redeliver). */
export async function startRedelivery(ctx: RedeliverContext, plan: RedeliveryPlan): Promise<boolean> {
  if (!plan.input) return false;
  const searchAttributes: SearchAttributePair[] = [
    { key: searchKeys.bucket, value: plan.bucket },
    { key: searchKeys.key, value: plan.key },
    { key: searchKeys.event, value: plan.input.record.eventName },
    { key: searchKeys.targets, value: plan.targets },
    { key: searchKeys.redeliveryOf, value: plan.original },
  ];
  try {
    await ctx.client.workflow.start(DELIVER_EVENT_V3, {
      taskQueue: ctx.taskQueue,
      workflowId: plan.workflowId,
      args: [plan.input],
      // A closed redelivery may be run again; a running one is never started twice.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: `redelivery of ${plan.original}: ${plan.input.record.eventName} ${plan.bucket}/${plan.key}`,
      memo: { redeliveryOf: plan.original },
      typedSearchAttributes: searchAttributes,
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/** Bulk mode: plans for every original delivery the filters match; problems are reported per delivery, not thrown. */
export async function planBulkRedelivery(ctx: RedeliverContext, filters: DeliveryFilters, limit: number): Promise<RedeliveryPlan[]> {
  const matched = await listDeliveries(ctx, filters, limit);
  const originals = [...new Set(matched.map((d) => d.redeliveryOf ?? d.workflowId))];
  const plans: RedeliveryPlan[] = [];
  for (const original of originals) {
    try {
      plans.push(await planRedelivery(ctx, original, { target: filters.failedTarget }));
    } catch (err) {
      if (!(err instanceof ArgumentError) && !(err instanceof Skip)) throw err;
      const reason = err.message.replace(/^[^:]*: /, '');
      plans.push({ original, workflowId: redeliveryIdOf(original), eventId: '', bucket: '', key: '', targets: [], skipped: err instanceof Skip ? err.message : reason });
    }
  }
  return plans;
}

/** Single mode: nothing to redeliver is the operator's mistake (exit 2), not a silent no-op. */
export async function planSingleRedelivery(ctx: RedeliverContext, workflowId: string, options: { target?: string; argument?: string }): Promise<RedeliveryPlan> {
  try {
    return await planRedelivery(ctx, workflowId, options);
  } catch (err) {
    if (err instanceof Skip) throw new ArgumentError(options.argument ?? '<delivery>', err.message);
    throw err;
  }
}
