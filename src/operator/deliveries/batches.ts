// Events delivered in batch workflows (the high-volume mode), found and shown one by one as `deliveries
// list|show` show per-event deliveries. A batch is found by the tokens of its search attributes
// (src/delivery/batch-index.ts) and read from its memo (each event's id, bucket, key) and its result (each
// event's outcome per target). An event a batch could not deliver everywhere continued as its own per-event
// delivery (BucketflowBatch = the batch): it is listed as that delivery, and shown with the batch's targets too.
import { WorkflowNotFoundError, type WorkflowExecutionInfo } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { bucketToken, eventToken, objectToken, type BatchMemoEvent } from '../../delivery/batch-index';
import { searchKeys } from '../../delivery/search-attributes';
import { DELIVER_BATCH } from '../../delivery/workflow-types';
import { workflowIdFor } from '../../publish/publisher';
import { decodeObjectKey } from '../../events';
import type { BatchEventOutcome, BatchResult, DeliverBatchInput, DeliveryStatus } from '../../delivery/types';
import {
  listDeliveries,
  resolveDelivery,
  showDelivery,
  uiUrl,
  type DeliveryContext,
  type DeliveryDetails,
  type DeliverySummary,
} from './inspect';
import { ArgumentError, statusClause, type DeliveryFilters } from './query';
import type { TargetRun } from './history';

/** Batches read when a filter cannot be matched by token (`--key` without `--bucket`, `--prefix`, none at all). */
const MAX_BATCHES_SCANNED = 1_000;

/** The statuses a batch's own events can have: the batch is running (pending) or completed (delivered). */
const BATCH_STATUSES: DeliveryStatus[] = ['pending', 'delivered'];

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The visibility query for batches that may hold events matching the filters (the memo decides). */
export function batchQuery(taskQueue: string, filters: DeliveryFilters & { eventId?: string }): string | undefined {
  if (
    filters.redeliveryOf !== undefined ||
    filters.redeliveryPrefix !== undefined ||
    filters.failedTarget !== undefined
  )
    return undefined;
  const statuses = filters.statuses?.filter((s) => BATCH_STATUSES.includes(s));
  if (filters.statuses && statuses?.length === 0) return undefined;
  const clauses = [`WorkflowType = ${quote(DELIVER_BATCH)}`, `TaskQueue = ${quote(taskQueue)}`];
  if (filters.bucket !== undefined) clauses.push(`BucketflowBatchObjects = ${quote(bucketToken(filters.bucket))}`);
  if (filters.bucket !== undefined && filters.key !== undefined)
    clauses.push(`BucketflowBatchObjects = ${quote(objectToken(filters.bucket, filters.key))}`);
  if (filters.eventId !== undefined) clauses.push(`BucketflowBatchEvents = ${quote(eventToken(filters.eventId))}`);
  if (statuses?.length) clauses.push(statusClause(statuses, quote));
  if (filters.target !== undefined) clauses.push(`BucketflowTargets = ${quote(filters.target)}`);
  if (filters.since) clauses.push(`StartTime >= ${quote(filters.since.toISOString())}`);
  if (filters.source !== undefined) clauses.push(`BucketflowSource = ${quote(filters.source)}`);
  return clauses.join(' AND ');
}

function memoEvents(info: Pick<WorkflowExecutionInfo, 'memo'>): BatchMemoEvent[] {
  return (info.memo as { events?: BatchMemoEvent[] } | undefined)?.events ?? [];
}

function matches(event: BatchMemoEvent, filters: DeliveryFilters & { eventId?: string }): boolean {
  return (
    (filters.bucket === undefined || event.bucket === filters.bucket) &&
    (filters.key === undefined || event.key === filters.key) &&
    (!filters.prefix || event.key.startsWith(filters.prefix)) &&
    (filters.eventId === undefined || event.id === filters.eventId)
  );
}

/** An event of a batch as a row of `deliveries list`. */
function rowOf(
  info: Pick<
    WorkflowExecutionInfo,
    'workflowId' | 'runId' | 'status' | 'typedSearchAttributes' | 'startTime' | 'closeTime'
  >,
  event: BatchMemoEvent,
): DeliverySummary {
  const execution = info.status.name.charAt(0) + info.status.name.slice(1).toLowerCase().replace(/_/g, ' ');
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    status: info.status.name === 'RUNNING' ? 'pending' : info.status.name === 'COMPLETED' ? 'delivered' : undefined,
    execution,
    bucket: event.bucket,
    key: event.key,
    event: event.event,
    eventId: event.id,
    batch: info.workflowId,
    targets: info.typedSearchAttributes.get(searchKeys.targets) ?? [],
    failedTargets: [],
    startedAt: info.startTime,
    closedAt: info.closeTime,
  };
}

/** Events in batches matching the filters, newest batch first, at most `limit`; events that continued on their own are
 * left out. */
export async function listBatchEvents(
  ctx: DeliveryContext,
  filters: DeliveryFilters & { eventId?: string },
  limit: number,
): Promise<DeliverySummary[]> {
  const query = batchQuery(ctx.taskQueue, filters);
  if (!query || limit <= 0) return [];
  const rows: DeliverySummary[] = [];
  let scanned = 0;
  for await (const info of ctx.client.workflow.list({ query, pageSize: 100 })) {
    rows.push(
      ...memoEvents(info)
        .filter((event) => matches(event, filters))
        .reverse()
        .map((event) => rowOf(info, event)),
    );
    if (rows.length >= limit || ++scanned >= MAX_BATCHES_SCANNED) break;
  }
  // Events that continued in their own delivery are that delivery's rows (listDeliveries finds them): its id is
  // the event's (`bucketflow-<event id>`, or with a suffix of its batch's when another delivery held that one).
  const batches = [...new Set(rows.map((r) => r.batch!))];
  const continued = new Set<string>();
  for (let i = 0; i < batches.length; i += 50) {
    const query = `BucketflowBatch IN (${batches
      .slice(i, i + 50)
      .map(quote)
      .join(', ')}) AND TaskQueue = ${quote(ctx.taskQueue)}`;
    for await (const info of ctx.client.workflow.list({ query }))
      continued.add(`${info.workflowId.slice(0, workflowIdFor('').length + 32)} ${info.memo?.batch}`);
  }
  return rows.filter((row) => !continued.has(`${workflowIdFor(row.eventId!)} ${row.batch}`)).slice(0, limit);
}

/** `deliveries list`: per-event deliveries and events delivered in batches, newest first. */
export async function listAllDeliveries(
  ctx: DeliveryContext,
  filters: DeliveryFilters,
  limit: number,
): Promise<DeliverySummary[]> {
  const [single, batched] = await Promise.all([
    listDeliveries(ctx, filters, limit),
    listBatchEvents(ctx, filters, limit),
  ]);
  return [...single, ...batched].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime()).slice(0, limit);
}

/** A batch's input and (once it completed) its result, from its history. */
async function readBatch(
  ctx: DeliveryContext,
  workflowId: string,
): Promise<{ input: DeliverBatchInput; result?: BatchResult }> {
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const decode = <T>(payload: Payload | null | undefined) =>
    payload ? defaultPayloadConverter.fromPayload<T>(payload) : undefined;
  const input = decode<DeliverBatchInput>(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]);
  if (!input) throw new Error(`${workflowId}: its history has no batch input`);
  const completed = events.find(
    (e) => e.workflowExecutionCompletedEventAttributes,
  )?.workflowExecutionCompletedEventAttributes;
  return { input, result: decode<BatchResult>(completed?.result?.payloads?.[0]) };
}

/** What the batch did for one event's targets (delivered in the batch, or handed on to its own delivery). */
function batchTargets(
  outcome: BatchEventOutcome | undefined,
  arns: string[],
  at: { start: Date; end?: Date },
): TargetRun[] {
  return arns.map((arn): TargetRun => {
    const attempt = outcome?.targets.find((t) => t.arn === arn);
    // A target with `order: key`: the batch handed the event to that target's per-(target, object) workflow.
    if (outcome?.handedOff?.some((h) => h.arn === arn))
      return { arn, state: 'handed-off', durable: false, batch: true };
    if (!attempt) return { arn, state: 'pending', durable: false, batch: true };
    return {
      arn,
      state: attempt.delivered ? 'delivered' : 'retrying',
      attempts: 1,
      durable: false,
      batch: true,
      firstAttemptAt: at.start,
      lastAttemptAt: at.end,
      ...(attempt.error ? { error: attempt.error } : {}),
    };
  });
}

/** One event of a batch, shown as `deliveries show` shows a delivery. */
export async function showBatchEvent(ctx: DeliveryContext, batchId: string, eventId: string): Promise<DeliveryDetails> {
  const handle = ctx.client.workflow.getHandle(batchId);
  const [description, { input, result }] = await Promise.all([handle.describe(), readBatch(ctx, batchId)]);
  const event = input.events.find((e) => e.eventId === eventId);
  if (!event) throw new ArgumentError('<delivery>', `event ${eventId} is not in batch ${batchId}`);
  const outcome = result?.outcomes.find((o) => o.eventId === eventId);
  const arns = event.targets?.map((t) => t.arn) ?? [
    ...(outcome?.targets.map((t) => t.arn) ?? []),
    ...(outcome?.handedOff?.map((h) => h.arn) ?? []),
  ];
  const row = rowOf(description, {
    id: eventId,
    bucket: event.record.s3.bucket.name,
    key: decodeObjectKey(event.record.s3.object.key),
    event: event.record.eventName,
  });
  const outcomes = batchTargets(outcome, arns, { start: description.startTime, end: description.closeTime });
  return {
    ...row,
    status: outcome?.continuedIn ? 'delivering' : arns.length === 0 && result ? 'no-targets' : row.status,
    targets: arns,
    eventId,
    url: uiUrl(ctx, batchId),
    outcomes,
    redeliveries: [],
    ...(outcome?.continuedIn ? { continuedIn: outcome.continuedIn } : {}),
  };
}

/**
 * `deliveries show <eventId | workflowId | bucket/key>` over both modes: an event's own delivery (with the
 * targets its batch delivered, when it continued one), or the event inside the batch that delivered it.
 */
export async function showAnyDelivery(ctx: DeliveryContext, ref: string): Promise<DeliveryDetails> {
  const eventId = /^[0-9a-f]{32}$/i.test(ref) ? ref.toLowerCase() : undefined;
  const slash = ref.indexOf('/');
  const object =
    !eventId && !ref.startsWith('bucketflow-') && slash > 0
      ? { bucket: ref.slice(0, slash), key: ref.slice(slash + 1) }
      : undefined;
  let own: string | undefined;
  try {
    own = await resolveDelivery(ctx, ref, ref);
  } catch (err) {
    if (!(err instanceof ArgumentError) || (!eventId && !object)) throw err;
  }
  if (eventId || object) {
    const ownStarted = own ? await startOf(ctx, own) : undefined;
    if (!ownStarted) own = undefined;
    const [newestBatched] = await listBatchEvents(ctx, { ...object, eventId }, 1);
    if (newestBatched && (!ownStarted || (object && newestBatched.startedAt > ownStarted)))
      return showBatchEvent(ctx, newestBatched.batch!, newestBatched.eventId!);
    if (!own)
      throw new ArgumentError(
        ref,
        eventId
          ? `unknown delivery ${workflowIdFor(eventId)} (nor a batch holding event ${eventId})`
          : `no delivery of object ${ref}`,
      );
  }
  const details = await showDelivery(ctx, own!, ref);
  if (!details.batch) return details;
  // It continues an event of a batch: the targets the batch delivered are part of its story.
  const fromBatch = await showBatchEvent(ctx, details.batch, details.eventId).catch(() => undefined);
  const handedOn = new Set(details.outcomes.map((t) => t.arn));
  const delivered = fromBatch?.outcomes.filter((t) => !handedOn.has(t.arn)) ?? [];
  return {
    ...details,
    targets: [...delivered.map((t) => t.arn), ...details.targets],
    outcomes: [...delivered, ...details.outcomes],
  };
}

async function startOf(ctx: DeliveryContext, workflowId: string): Promise<Date | undefined> {
  try {
    return (await ctx.client.workflow.getHandle(workflowId).describe()).startTime;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
