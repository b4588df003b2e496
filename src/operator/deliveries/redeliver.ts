// `bucketflow redeliver` and the status page's redeliver form: sends an event again to the targets whose delivery
// failed (or one named), as a new deliverEventV3 workflow linked to the original. Every decision is made from what
// Temporal keeps consistent, never from visibility (a list query lags on a real cluster: Elasticsearch): whether the
// original still runs (describe), its earlier redeliveries and their outcomes (describe and history of each, found
// by id), and which redelivery to start. Redeliveries are generations with ids derived from the original's
// (`<original>-redelivery`, then `-redelivery-2`, ...) started with WorkflowIdReusePolicy REJECT_DUPLICATE, so two
// operators (or two clicks) who planned the same generation start it once: Temporal refuses the second start.
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
  /** The redelivery's workflow id: redeliveryIdOf(original, generation). */
  workflowId: string;
  /** 1 for the first redelivery of the original, 2 for the one after it, ... */
  generation: number;
  eventId: string;
  bucket: string;
  key: string;
  targets: string[];
  /** Why nothing is started for this delivery (bulk mode reports instead of failing). */
  skipped?: string;
  input?: DeliverInput;
}

/** The workflow id of a redelivery: generation 1 is `<original>-redelivery` (the id it always had), then
 * `-redelivery-2`, ... */
export function redeliveryIdOf(original: string, generation = 1): string {
  return generation === 1 ? `${original}-redelivery` : `${original}-redelivery-${generation}`;
}

/** The generation that redelivers the run of `workflowId` (1 for an original, k + 1 for its k-th redelivery), or
 * undefined. */
export function generationAfter(original: string, workflowId: string): number | undefined {
  if (workflowId === original) return 1;
  if (workflowId === redeliveryIdOf(original)) return 2;
  const tail = workflowId.startsWith(`${original}-redelivery-`)
    ? workflowId.slice(`${original}-redelivery-`.length)
    : '';
  return /^[1-9]\d{0,5}$/.test(tail) && Number(tail) >= 2 ? Number(tail) + 1 : undefined;
}

class Skip extends Error {}

/**
 * What `redeliver` would start for one delivery: the next generation. Throws ArgumentError (single mode) for an
 * unknown delivery, one still running, a redelivery still running, or nothing to redeliver. With `after`, the
 * redelivery of that run (the original or one of its redeliveries, as the status page's form names it) and
 * nothing else: once that generation exists, asking again starts nothing (the form posted twice).
 */
export async function planRedelivery(
  ctx: RedeliverContext,
  workflowId: string,
  options: { target?: string; argument?: string; after?: boolean } = {},
): Promise<RedeliveryPlan> {
  const argument = options.argument ?? '<delivery>';
  const original = await originalOf(ctx, workflowId, argument);
  const handle = ctx.client.workflow.getHandle(original);
  const description = await handle.describe();
  if (description.status.name === 'RUNNING') {
    throw new ArgumentError(
      argument,
      `${original} is still running (${description.typedSearchAttributes.get(searchKeys.status) ?? 'pending'}); redeliver it once it has finished`,
    );
  }
  // Every redelivery so far, by id: a generation exists only once the one before it has closed.
  const redeliveries = await redeliveriesOf(ctx, original);
  const open = redeliveries.find((r) => r.description.status.name === 'RUNNING');
  if (open) throw new ArgumentError(argument, `a redelivery of ${original} is still running (${open.workflowId})`);

  // Each target's newest outcome: the original's, then every redelivery's, oldest first.
  const first = readRun(await handle.fetchHistory());
  const latest = new Map(first.targets.map((t) => [t.arn, t.state]));
  const runs = await Promise.all(
    redeliveries.map((r) =>
      ctx.client.workflow.getHandle(r.workflowId, r.description.runId).fetchHistory().then(readRun),
    ),
  );
  for (const run of runs) {
    for (const t of run.targets) latest.set(t.arn, t.state);
  }

  let targets: string[];
  if (options.target) {
    if (!latest.has(options.target))
      throw new ArgumentError(
        '--target',
        `${options.target} is not a target of ${original} (its targets: ${[...latest.keys()].join(', ') || 'none'})`,
      );
    targets = [options.target];
  } else {
    targets = [...latest].filter(([, state]) => state === 'failed').map(([arn]) => arn);
    if (targets.length === 0)
      throw new Skip(`every target of ${original} was delivered; name one with --target to send it again`);
  }
  const generation = options.after ? generationAfter(original, workflowId) : redeliveries.length + 1;
  if (generation === undefined)
    throw new ArgumentError(argument, `${workflowId} is neither ${original} nor one of its redeliveries`);
  if (generation <= redeliveries.length) {
    const done = redeliveries[generation - 1];
    const status =
      done.description.typedSearchAttributes.get(searchKeys.status) ?? done.description.status.name.toLowerCase();
    throw new ArgumentError(
      argument,
      `already redelivered as ${done.workflowId} (${status}); redeliver that one to try again`,
    );
  }
  const resolved: ResolvedTarget[] = targets.map((arn) => ({
    arn,
    retry: ctx.retryFor(arn) ?? first.inputTargets?.find((t) => t.arn === arn)?.retry ?? DEFAULT_RETRY,
  }));
  return {
    original,
    workflowId: redeliveryIdOf(original, generation),
    generation,
    eventId: first.eventId,
    bucket: first.record.s3.bucket.name,
    key: decodeObjectKey(first.record.s3.object.key),
    targets,
    input: { eventId: first.eventId, record: first.record, targets: resolved },
  };
}

/** The original's redeliveries, generation 1 first, each described (consistent), up to the first id that does not
 * exist. */
async function redeliveriesOf(ctx: RedeliverContext, original: string) {
  const found: Array<{ workflowId: string; description: Awaited<ReturnType<typeof describeOrUndefined>> & object }> =
    [];
  for (let generation = 1; ; generation++) {
    const workflowId = redeliveryIdOf(original, generation);
    const description = await describeOrUndefined(ctx, workflowId);
    if (!description) return found;
    found.push({ workflowId, description });
  }
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

/** Starts the planned redelivery; false when that generation was started already (another redeliver planned it too). */
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
      // One run per generation, ever: a second start of the same id fails, whether the first is open or closed.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
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
export async function planBulkRedelivery(
  ctx: RedeliverContext,
  filters: DeliveryFilters,
  limit: number,
): Promise<RedeliveryPlan[]> {
  const matched = await listDeliveries(ctx, filters, limit);
  const originals = [...new Set(matched.map((d) => d.redeliveryOf ?? d.workflowId))];
  const plans: RedeliveryPlan[] = [];
  for (const original of originals) {
    try {
      plans.push(await planRedelivery(ctx, original, { target: filters.failedTarget }));
    } catch (err) {
      if (!(err instanceof ArgumentError) && !(err instanceof Skip)) throw err;
      const reason = err.message.replace(/^[^:]*: /, '');
      plans.push({
        original,
        workflowId: '',
        generation: 0,
        eventId: '',
        bucket: '',
        key: '',
        targets: [],
        skipped: err instanceof Skip ? err.message : reason,
      });
    }
  }
  return plans;
}

/** Single mode: nothing to redeliver is the operator's mistake (exit 2), not a silent no-op. */
export async function planSingleRedelivery(
  ctx: RedeliverContext,
  workflowId: string,
  options: { target?: string; argument?: string; after?: boolean },
): Promise<RedeliveryPlan> {
  try {
    return await planRedelivery(ctx, workflowId, options);
  } catch (err) {
    if (err instanceof Skip) throw new ArgumentError(options.argument ?? '<delivery>', err.message);
    throw err;
  }
}
