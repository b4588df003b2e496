// Finding deliveries in Temporal's visibility store: the filters operators type, checked, as a query.
import { parseDuration } from '../../config';
import type { DeliveryStatus } from '../../delivery/types';
import { DELIVERY_WORKFLOW_TYPES } from '../../delivery/workflow-types';
import { EVENT_SOURCES, LISTING_ORIGINS, type DeliverySource } from '../../events/sources';

const DELIVERY_SOURCES: readonly DeliverySource[] = [...EVENT_SOURCES, ...LISTING_ORIGINS];

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'pending',
  'delivering',
  'delivered',
  'partial',
  'failed',
  'no-targets',
];

/** Bad input from an operator: the message names the argument; the CLI exits 2 and starts nothing. */
export class ArgumentError extends Error {
  constructor(argument: string, message: string) {
    super(`${argument}: ${message}`);
    this.name = 'ArgumentError';
  }
}

export interface DeliveryFilters {
  bucket?: string;
  key?: string;
  prefix?: string;
  statuses?: DeliveryStatus[];
  /** The delivery includes this ARN. */
  target?: string;
  /** The delivery failed for this ARN. */
  failedTarget?: string;
  /** Started at or after this time. */
  since?: Date;
  /** Only redeliveries of this workflow id. */
  redeliveryOf?: string;
  /** Only redeliveries whose original's id starts so (`bucketflow-`: every redelivery). */
  redeliveryPrefix?: string;
  /** Where the event came from (BucketflowSource): a server (minio, ceph, ...) or a listing (scan, reconcile,
   * backfill). */
  source?: DeliverySource;
}

/** `--origin`: a server the event came from, or the listing that found it. */
export function parseOrigin(value: string): DeliverySource {
  const origin = DELIVERY_SOURCES.find((known) => known === value.trim().toLowerCase());
  if (!origin) throw new ArgumentError('--origin', `unknown origin "${value}" (one of ${DELIVERY_SOURCES.join(', ')})`);
  return origin;
}

/** `1h`, `30m`, `1h30m`, `7d`, or an ISO date/time. */
export function parseSince(value: string, now = new Date()): Date {
  const days = /^(\d+)d$/.exec(value.trim());
  if (days) return new Date(now.getTime() - Number(days[1]) * 86_400_000);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  try {
    return new Date(now.getTime() - parseDuration(value, '--since'));
  } catch {
    throw new ArgumentError('--since', `expected a duration such as 30m, 24h or 7d, or an ISO time, got "${value}"`);
  }
}

export function parseStatuses(value: string, argument = '--status'): DeliveryStatus[] {
  return value.split(',').map((status) => {
    const trimmed = status.trim() as DeliveryStatus;
    if (!DELIVERY_STATUSES.includes(trimmed)) {
      throw new ArgumentError(argument, `unknown status "${status}" (one of ${DELIVERY_STATUSES.join(', ')})`);
    }
    return trimmed;
  });
}

/** A visibility query: string values are quoted as the SQL-like syntax wants. */
export function buildQuery(taskQueue: string, filters: DeliveryFilters): string {
  const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const clauses = [
    `WorkflowType IN (${DELIVERY_WORKFLOW_TYPES.map(quote).join(', ')})`,
    `TaskQueue = ${quote(taskQueue)}`,
  ];
  if (filters.bucket !== undefined) clauses.push(`BucketflowBucket = ${quote(filters.bucket)}`);
  if (filters.key !== undefined) clauses.push(`BucketflowKey = ${quote(filters.key)}`);
  if (filters.prefix) clauses.push(`BucketflowKey STARTS_WITH ${quote(filters.prefix)}`);
  if (filters.statuses?.length) clauses.push(statusClause(filters.statuses, quote));
  if (filters.target !== undefined) clauses.push(`BucketflowTargets = ${quote(filters.target)}`);
  if (filters.failedTarget !== undefined) clauses.push(`BucketflowFailedTargets = ${quote(filters.failedTarget)}`);
  if (filters.since) clauses.push(`StartTime >= ${quote(filters.since.toISOString())}`);
  if (filters.redeliveryOf !== undefined) clauses.push(`BucketflowRedeliveryOf = ${quote(filters.redeliveryOf)}`);
  if (filters.redeliveryPrefix !== undefined)
    clauses.push(`BucketflowRedeliveryOf STARTS_WITH ${quote(filters.redeliveryPrefix)}`);
  if (filters.source !== undefined) clauses.push(`BucketflowSource = ${quote(filters.source)}`);
  return clauses.join(' AND ');
}

/**
 * deliverEventV3 writes no status while healthy: without BucketflowStatus, a running delivery is pending and a
 * completed one delivered (its execution status, src/operator/deliveries/inspect.ts reads it the same way).
 */
const STATUS_BY_EXECUTION: Partial<Record<DeliveryStatus, string>> = { pending: 'Running', delivered: 'Completed' };

export function statusClause(statuses: DeliveryStatus[], quote: (value: string) => string): string {
  const byExecution = statuses
    .filter((status) => STATUS_BY_EXECUTION[status])
    .map((status) => quote(STATUS_BY_EXECUTION[status]!));
  const written = `BucketflowStatus IN (${statuses.map(quote).join(', ')})`;
  if (byExecution.length === 0) return written;
  return `(${written} OR (BucketflowStatus IS NULL AND ExecutionStatus IN (${byExecution.join(', ')})))`;
}

/** A delivery's status: the one written, else what its execution status says (see statusClause). */
export function deliveryStatusOf(written: string | undefined, execution: string): DeliveryStatus | undefined {
  if (written) return written as DeliveryStatus;
  const entry = Object.entries(STATUS_BY_EXECUTION).find(([, name]) => name.toUpperCase() === execution.toUpperCase());
  return entry?.[0] as DeliveryStatus | undefined;
}
