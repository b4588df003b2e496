// `bucketflow deliveries list|show`: deliveries as operators look for them, from visibility (search
// attributes) and, for one delivery, its history.
import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { searchKeys } from '../../delivery/search-attributes';
import { workflowIdFor } from '../../publish/publisher';
import type { DeliveryStatus } from '../../delivery/types';
import { readRun, type TargetRun } from './history';
import { ArgumentError, buildQuery, deliveryStatusOf, type DeliveryFilters } from './query';
import { isDeliveryWorkflowType } from '../../delivery/workflow-types';

export interface DeliveryContext {
  client: Client;
  taskQueue: string;
  namespace: string;
  temporalUiUrl: string;
}

export interface DeliverySummary {
  workflowId: string;
  runId: string;
  /** BucketflowStatus; undefined only for a workflow started without search attributes. */
  status?: DeliveryStatus;
  /** Temporal's execution status: Running, Completed, Failed, Terminated, ... */
  execution: string;
  bucket?: string;
  key?: string;
  event?: string;
  targets: string[];
  failedTargets: string[];
  redeliveryOf?: string;
  /** The event's id when the row is an event of a batch (the workflow id is the batch's). */
  eventId?: string;
  /** The batch that delivered the event, or that this delivery continues. */
  batch?: string;
  startedAt: Date;
  closedAt?: Date;
}

export interface DeliveryDetails extends DeliverySummary {
  eventId: string;
  url: string;
  targets: string[];
  outcomes: TargetRun[];
  redeliveries: DeliverySummary[];
  /** An event of a batch that the batch could not deliver everywhere: its own delivery, which took over. */
  continuedIn?: string;
}

function summaryOf(
  info: Pick<
    WorkflowExecutionInfo,
    'workflowId' | 'runId' | 'status' | 'typedSearchAttributes' | 'startTime' | 'closeTime'
  >,
): DeliverySummary {
  const get = info.typedSearchAttributes;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    status: deliveryStatusOf(get.get(searchKeys.status), info.status.name),
    execution: info.status.name.charAt(0) + info.status.name.slice(1).toLowerCase().replace(/_/g, ' '),
    bucket: get.get(searchKeys.bucket),
    key: get.get(searchKeys.key),
    event: get.get(searchKeys.event),
    targets: get.get(searchKeys.targets) ?? [],
    failedTargets: get.get(searchKeys.failedTargets) ?? [],
    redeliveryOf: get.get(searchKeys.redeliveryOf),
    ...(get.get(searchKeys.batch) ? { batch: get.get(searchKeys.batch) } : {}),
    startedAt: info.startTime,
    closedAt: info.closeTime,
  };
}

/** Newest first (visibility's order), at most `limit`. */
export async function listDeliveries(
  ctx: DeliveryContext,
  filters: DeliveryFilters,
  limit = 50,
): Promise<DeliverySummary[]> {
  const found: DeliverySummary[] = [];
  if (limit <= 0) return found;
  for await (const info of ctx.client.workflow.list({
    query: buildQuery(ctx.taskQueue, filters),
    pageSize: Math.min(limit, 1000),
  })) {
    found.push(summaryOf(info));
    if (found.length >= limit) break;
  }
  return found;
}

/** The Web UI page of a workflow (its newest run). */
export function uiUrl(ctx: Pick<DeliveryContext, 'temporalUiUrl' | 'namespace'>, workflowId: string): string {
  return `${ctx.temporalUiUrl}/namespaces/${encodeURIComponent(ctx.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * The workflow id behind what an operator typed: a workflow id (`bucketflow-...`), an event id (32 hex
 * characters) or `bucket/key` (that object's newest original delivery). Throws ArgumentError when unknown.
 */
export async function resolveDelivery(ctx: DeliveryContext, ref: string, argument = '<delivery>'): Promise<string> {
  if (ref.startsWith('bucketflow-')) return ref;
  if (/^[0-9a-f]{32}$/i.test(ref)) return workflowIdFor(ref.toLowerCase());
  const slash = ref.indexOf('/');
  if (slash > 0) {
    const [bucket, key] = [ref.slice(0, slash), ref.slice(slash + 1)];
    const originals = (await listDeliveries(ctx, { bucket, key }, 100)).filter((d) => !d.redeliveryOf);
    if (originals.length === 0) throw new ArgumentError(argument, `no delivery of object ${ref}`);
    return originals[0].workflowId;
  }
  throw new ArgumentError(argument, `"${ref}" is not an event id, a workflow id (bucketflow-...) or bucket/key`);
}

export async function showDelivery(
  ctx: DeliveryContext,
  workflowId: string,
  argument = '<delivery>',
): Promise<DeliveryDetails> {
  const handle = ctx.client.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ArgumentError(argument, `unknown delivery ${workflowId}`);
    throw err;
  }
  if (!isDeliveryWorkflowType(description.type)) {
    throw new ArgumentError(argument, `${workflowId} is a ${description.type} workflow, not a delivery`);
  }
  const run = readRun(await ctx.client.workflow.getHandle(workflowId, description.runId).fetchHistory(), description);
  const summary = summaryOf(description);
  const redeliveries = summary.redeliveryOf ? [] : await listDeliveries(ctx, { redeliveryOf: workflowId }, 100);
  return {
    ...summary,
    targets: run.targets.map((t) => t.arn),
    eventId: run.eventId,
    url: uiUrl(ctx, workflowId),
    outcomes: run.targets,
    redeliveries,
  };
}
