// Scan sources: a bucket listed on a schedule, its changes delivered as events. What is kept beside the
// bucket rules, in either store (files under the data dir: src/state/scan-files.ts; PostgreSQL:
// src/state/scan-postgres.ts): each scan's definition (`bucketflow scan add`), its last run, the previous complete
// listing a scan compares against (written as the new listing is read, swapped in when it completes), and, for
// reconciliation, the latest state of each object bucketflow delivered (written in bulk by the delivery path).
// Both are read in key order, a page at a time, so a bucket of a million objects is never held in memory: the
// scan merge-joins each listed page against them. Positions are JSON-safe, so a scan's activity can heartbeat them
// and resume after its worker is SIGKILLed.
import { createHash } from 'node:crypto';
import { ConfigError, parseDuration } from '../config/params';
// A scan run's summary is a workflow's output (src/delivery/scan-types.ts); the stores keep the last one.
import type { ScanRunSummary } from '../delivery/scan-types';
export type { ScanRunSummary } from '../delivery/scan-types';

export interface ScanDefinition {
  /** Deterministic per bucket and prefix (scanIdFor); its Temporal Schedule's id is scheduleIdFor(id, task queue). */
  id: string;
  bucket: string;
  /** Only keys starting so ('' = the whole bucket). */
  prefix: string;
  /** How often the schedule starts a scan. */
  everyMs: number;
  /** The S3 endpoint to list (credentials from the worker's AWS_* environment); unset: the worker's
   * AWS_ENDPOINT_URL(_S3). */
  endpoint?: string;
  /** HEAD each changed object, so its records carry its content type and user metadata. */
  metadata: boolean;
  /** Compare the listing with what bucketflow delivered (a store that notifies) instead of with the previous listing.
   * */
  reconcile: boolean;
  /** Reconciliation: an object changed more recently than this is left to the next run (its notification may be on its
   * way). */
  settleMs: number;
  /** ISO time the scan was added: objects last modified before it are the baseline, not changes. */
  createdAt: string;
}

/** One object as a listing holds it: enough to tell whether it changed. */
export interface ListedState {
  key: string;
  etag: string;
  size: number;
  lastModified: string;
}

/** The latest state of an object some target received (reconciliation compares listings with it). */
export interface DeliveredState {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  versionId?: string;
  /** The event's ordering key (src/events/record.ts orderingKey: 32 hex digits): the newest state wins. */
  sequencer: string;
  /** The latest event delivered was a removal. */
  removed: boolean;
  /** When it was recorded (ms). */
  at: number;
}

/**
 * Entries in key order (S3's: UTF-8 bytes), read a page at a time: every entry whose key is at most `upTo`
 * (undefined: to the end), at most `limit` of them. `position` says where the next read starts (JSON-safe).
 */
export interface KeyOrderedReader<T> {
  readUpTo(upTo: string | undefined, limit: number): Promise<T[]>;
  position(): unknown;
}

/** What a page changed in a listing: its entries that differ from the previous listing, the keys it no longer has. */
export interface ListingChanges {
  upserted: ListedState[];
  removed: string[];
}

/**
 * One run's view of a scan's listings: the previous one to read, the next one to write. A page's entries are read
 * (readUpTo) before the page is written, so a store may write the whole page (the file store's new file, swapped
 * in at commit) or only what changed in place (PostgreSQL: nothing at all for an unchanged bucket). Either way a
 * run resumed from a position it heartbeated reads and writes consistently: the file store cuts what was written
 * after it; in place, what a page already wrote reads back as unchanged.
 */
export interface ListingSession extends KeyOrderedReader<ListedState> {
  /** Whether a complete listing exists (false on a scan's first run: its listing is the baseline). */
  readonly hasPrevious: boolean;
  /** Writes a page: its entries, in key order, after those already written, and what they changed. */
  append(entries: ListedState[], changes: ListingChanges): Promise<void>;
  /** The next listing becomes the previous one (the run completed). */
  commit(): Promise<void>;
  close(): Promise<void>;
}

export interface ScanStore {
  list(): Promise<ScanDefinition[]>;
  get(id: string): Promise<ScanDefinition | undefined>;
  /** Adds or replaces a scan's definition. */
  put(definition: ScanDefinition): Promise<void>;
  /** Removes its definition, listings and last run; false when there was none. */
  remove(id: string): Promise<boolean>;
  lastRuns(): Promise<Record<string, ScanRunSummary>>;
  setLastRun(id: string, summary: ScanRunSummary): Promise<void>;
  /**
   * A run's listings: reading the previous one from `resume` (a `position()` it heartbeated) or its start, writing
   * the next from where `resume` left it, or empty.
   */
  openListing(id: string, resume?: unknown): Promise<ListingSession>;
  /** Records delivered states in bulk (the newest sequencer of each object wins; one write for many events). */
  recordDelivered(states: DeliveredState[]): Promise<void>;
  /** The delivered states of a bucket's keys under `prefix`, in key order, from `resume` or the start (removals
   * included). */
  openDelivered(
    bucket: string,
    prefix: string,
    resume?: unknown,
  ): Promise<KeyOrderedReader<DeliveredState> & { close(): Promise<void> }>;
}

/** A heartbeated position that no longer matches the stored state (it was swapped, rewritten or removed): the run
 * starts over. */
export class StalePositionError extends Error {
  constructor(what: string) {
    super(`${what}: the position to resume from is gone; the scan starts over`);
    this.name = 'StalePositionError';
  }
}

/** The scan's id and its schedule's: `bucketflow-scan-<bucket>`, with a hash of the prefix when there is one. */
export function scanIdFor(bucket: string, prefix: string): string {
  const suffix = prefix ? `-${createHash('sha256').update(prefix).digest('hex').slice(0, 12)}` : '';
  return `bucketflow-scan-${bucket}${suffix}`;
}

/**
 * The scan's Temporal Schedule: its id on the default task queue, `<scan id>@<task queue>` on another, so
 * deployments sharing a namespace on their own task queues never take each other's schedules.
 */
export function scheduleIdFor(scanId: string, taskQueue: string): string {
  return taskQueue === 'bucketflow' ? scanId : `${scanId}@${taskQueue}`;
}

/** Shortest interval a scan may have: a listing is at least one S3 request a page. */
export const MIN_SCAN_INTERVAL_MS = 1_000;
/** Reconciliation's default settle time: a minute is far longer than a notification takes when the ingest is up. */
export const DEFAULT_SETTLE_MS = 60_000;

export interface ScanOptions {
  every: string;
  prefix?: string;
  endpoint?: string;
  metadata?: boolean;
  reconcile?: boolean;
  settle?: string;
}

/** A scan's definition from the command line's values; a bad one throws a ConfigError naming the option. */
export function scanDefinition(bucket: string, options: ScanOptions, now = new Date()): ScanDefinition {
  const problem = bucketNameProblem(bucket);
  if (problem) throw new ConfigError('<bucket>', problem);
  const everyMs = parseDuration(options.every, '--every');
  if (everyMs < MIN_SCAN_INTERVAL_MS) throw new ConfigError('--every', `at least 1s, got "${options.every}"`);
  const settleMs = options.settle === undefined ? DEFAULT_SETTLE_MS : parseDuration(options.settle, '--settle');
  if (options.settle !== undefined && !options.reconcile)
    throw new ConfigError('--settle', 'applies to --reconcile only');
  const prefix = options.prefix ?? '';
  return {
    id: scanIdFor(bucket, prefix),
    bucket,
    prefix,
    everyMs,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    metadata: options.metadata ?? false,
    reconcile: options.reconcile ?? false,
    settleMs,
    createdAt: now.toISOString(),
  };
}

/** S3's bucket naming rules (3-63 characters: lower-case letters, digits, dots and hyphens, a letter or digit at each
 * end). */
export function bucketNameProblem(bucket: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    return `"${bucket}" is not a bucket name (3-63 characters: a-z, 0-9, '.', '-', starting and ending with a letter or digit)`;
  }
  return undefined;
}

/** `2s`, `5m`, `1h30m`: the interval as people write it. */
export function formatInterval(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join('');
}
