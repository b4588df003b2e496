// A scan source's activity (workflows/scan.ts runs it round after round): lists the bucket page by page in key
// order, merge-joins each page with what the scan compares against (its previous listing, or with --reconcile the
// states bucketflow delivered: activities/scan-diff.ts), turns the changes into MinIO-shaped records
// (src/s3/records.ts; a HEAD per changed object with --metadata), publishes those that match a target through the
// publisher's batch mode held by admission control, and writes the new listing as it goes. After each page it
// heartbeats where it is (the listing's continuation, the last key, the state store's positions), so a retry after
// its worker was SIGKILLed resumes there: the listing written after that point is cut, and a page published again
// goes into batches whose ids derive from their events (started once). At the end the new listing is swapped in.
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { ConfigError } from '../src/config/params';
import { eventIdentity } from '../src/events/identity';
import type { ScanCursor, ScanPagesInput, ScanPagesResult, ScanTotals } from '../src/delivery/scan-types';
import { resolveTargets } from '../src/rules/resolve';
import type { S3Access, S3Object } from '../src/s3/client';
import { S3AccessError } from '../src/s3/errors';
import { createdRecord, listedEvent, removedRecord } from '../src/s3/records';
import {
  StalePositionError,
  type DeliveredState,
  type KeyOrderedReader,
  type ListedState,
  type ListingChanges,
  type ScanDefinition,
  type ScanRunSummary,
} from '../src/state/scans';
import { compareObjectKeys } from '../src/events/record';
import { log } from '../src/telemetry/log';
import { metrics } from '../src/telemetry/metrics';
import { diffPage, sequencedAt, type Change } from './scan-diff';
import type { ActivityDeps, ListedEvent } from './deps';

/** A round returns to its workflow after this long (a new activity, a fresh timeout), wherever it is. */
const ROUND_MS = 2 * 60_000;
/** HEADs of changed objects in flight at once (--metadata). */
const HEAD_CONCURRENCY = 8;
/** How long a publish waits for room before trying again (admission control holds the worker's bound). */
const ROOM_WAIT_MS = 200;

const NO_TOTALS: ScanTotals = { pages: 0, listed: 0, created: 0, changed: 0, removed: 0, published: 0 };

/** What a run compares pages with: the previous listing (and the next being written), or the delivered states. */
interface Comparison {
  readonly hasPrevious: boolean;
  reader: KeyOrderedReader<ListedState | DeliveredState>;
  append(entries: ListedState[], changes: ListingChanges): Promise<void>;
  commit(): Promise<void>;
  close(): Promise<void>;
}

export async function scanPages(deps: ActivityDeps, input: ScanPagesInput): Promise<ScanPagesResult> {
  const ctx = Context.current();
  if (!deps.scans)
    throw ApplicationFailure.nonRetryable('this worker runs no scans (no S3 access configured)', 'ScanUnsupported');
  const store = deps.state.scans();
  const scan = await store.get(input.scanId);
  if (!scan)
    throw ApplicationFailure.nonRetryable(
      `scan ${input.scanId}: no such scan (removed with bucketflow scan remove?)`,
      'ScanRemoved',
    );
  const mode = scan.reconcile ? 'reconcile' : 'scan';
  let s3: S3Access;
  try {
    s3 = deps.scans.openS3(scan.endpoint);
  } catch (err) {
    throw failureOf(err);
  }
  const startedAt = new Date(input.startedAt);
  let cursor: ScanCursor | undefined = (ctx.info.heartbeatDetails as ScanCursor | undefined) ?? input.cursor;
  let comparison: Comparison;
  try {
    comparison = await openComparison(deps, scan, cursor);
  } catch (err) {
    if (!(err instanceof StalePositionError)) throw err;
    log('WARN', 'scan starts over: the position it heartbeated is gone', { scan: scan.id, reason: err.message });
    cursor = undefined;
    comparison = await openComparison(deps, scan, undefined);
  }
  if (cursor && ctx.info.heartbeatDetails) {
    log('INFO', 'scan resumes where its last attempt heartbeated', {
      scan: scan.id,
      attempt: ctx.info.attempt,
      pages: cursor.totals.pages,
      lastKey: cursor.lastKey,
    });
  }
  const state: ScanCursor = cursor
    ? { ...cursor, totals: { ...cursor.totals } }
    : { listed: false, position: comparison.reader.position(), totals: { ...NO_TOTALS } };
  const rules = {
    mode,
    hasPrevious: comparison.hasPrevious,
    baselineBefore: Date.parse(scan.createdAt),
    settledBefore: startedAt.getTime() - scan.settleMs,
  } as const;
  const roundEnds = Date.now() + ROUND_MS;
  const labels = { scan: scan.id, mode };
  try {
    while (!state.listed) {
      if (Date.now() > roundEnds) return { done: false, cursor: state };
      const page = await s3
        .listPage(scan.bucket, { prefix: scan.prefix, continuation: state.continuation, pageSize: deps.scans.pageSize })
        .catch((err: unknown) => {
          throw failureOf(err);
        });
      const listed = page.objects.filter((o) => !o.deleteMarker).map(listedState);
      const lastKey = listed.length > 0 ? listed[listed.length - 1].key : state.lastKey;
      // Until the page is done, a heartbeat says where it began: a retry does the page again.
      const before = copyOf(state);
      const beat = () => ctx.heartbeat(before);
      // The previous entries up to the page's last key (on the last page, all that remain), a part at a time:
      // however many keys went between two listed ones (or all, from an emptied bucket), no more than a page of
      // them is held at once.
      let rest = listed;
      while (!page.next || lastKey !== undefined) {
        const known = await comparison.reader.readUpTo(page.next ? lastKey : undefined, deps.scans.pageSize);
        const more = known.length === deps.scans.pageSize;
        const part = rest.slice(0, more ? countUpTo(rest, known[known.length - 1].key) : rest.length);
        rest = rest.slice(part.length);
        const changes = diffPage(part, known, rules);
        await publishChanges(deps, scan, s3, changes, startedAt, state, beat);
        await comparison.append(part, {
          upserted: changes.filter((c) => c.kind !== 'removed').map((c) => c.listed!),
          removed: changes.filter((c) => c.kind === 'removed').map((c) => c.key),
        });
        if (!more) break;
        beat();
      }
      state.continuation = page.next;
      state.lastKey = lastKey;
      state.listed = !page.next;
      state.position = comparison.reader.position();
      state.totals.pages++;
      state.totals.listed += listed.length;
      metrics.scanObjectsListed.inc(labels, listed.length);
      ctx.heartbeat(copyOf(state));
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('scan cancelled');
    }
    await comparison.commit();
    const summary: ScanRunSummary = {
      workflowId: ctx.info.workflowExecution?.workflowId ?? '',
      startedAt: input.startedAt,
      finishedAt: new Date().toISOString(),
      listed: state.totals.listed,
      created: state.totals.created,
      changed: state.totals.changed,
      removed: state.totals.removed,
      published: state.totals.published,
      baseline: mode === 'scan' && !comparison.hasPrevious,
    };
    await store.setLastRun(scan.id, summary);
    metrics.scanDurationSeconds.observe(labels, (Date.now() - startedAt.getTime()) / 1000);
    const found = summary.created + summary.changed + summary.removed;
    log('INFO', mode === 'reconcile' ? 'reconciliation done' : 'scan done', {
      scan: scan.id,
      bucket: scan.bucket,
      prefix: scan.prefix || undefined,
      listed: summary.listed,
      ...(mode === 'reconcile' ? { undelivered: found } : { changes: found }),
      created: summary.created,
      changed: summary.changed,
      removed: summary.removed,
      published: summary.published,
      baseline: summary.baseline || undefined,
    });
    return { done: true, summary };
  } finally {
    await comparison.close();
    s3.close();
  }
}

async function openComparison(
  deps: ActivityDeps,
  scan: ScanDefinition,
  cursor: ScanCursor | undefined,
): Promise<Comparison> {
  const store = deps.state.scans();
  if (scan.reconcile) {
    const delivered = await store.openDelivered(scan.bucket, scan.prefix, cursor?.position);
    return {
      hasPrevious: true,
      reader: delivered,
      append: async () => {},
      commit: async () => {},
      close: () => delivered.close(),
    };
  }
  const listing = await store.openListing(scan.id, cursor?.position);
  return {
    hasPrevious: listing.hasPrevious,
    reader: listing,
    append: (entries, changes) => listing.append(entries, changes),
    commit: () => listing.commit(),
    close: () => listing.close(),
  };
}

/** The cursor as it is now: the SDK encodes heartbeat details later, after the next page may have changed them. */
function copyOf(cursor: ScanCursor): ScanCursor {
  return JSON.parse(JSON.stringify(cursor)) as ScanCursor;
}

/** How many of `entries` (in key order) come at or before `key`. */
function countUpTo(entries: readonly ListedState[], key: string): number {
  let n = 0;
  while (n < entries.length && compareObjectKeys(entries[n].key, key) <= 0) n++;
  return n;
}

function listedState(object: S3Object): ListedState {
  return { key: object.key, etag: object.etag, size: object.size, lastModified: object.lastModified };
}

/**
 * The changes as records (a HEAD each with --metadata), those matching a target published in batches through
 * admission control (waiting, heartbeating, while the worker is full). Counts them in `state.totals`.
 */
async function publishChanges(
  deps: ActivityDeps,
  scan: ScanDefinition,
  s3: S3Access,
  changes: Change[],
  startedAt: Date,
  state: ScanCursor,
  heartbeat: () => void,
): Promise<void> {
  if (changes.length === 0) return;
  const origin = scan.reconcile ? 'reconcile' : 'scan';
  const mode = origin;
  const options = { origin, endpoint: s3.endpoint } as const;
  const records = await mapLimited(changes, HEAD_CONCURRENCY, async (change) => {
    if (change.kind === 'removed') return removedRecord(scan.bucket, change.key, { ...options, detectedAt: startedAt });
    const object = { ...change.listed!, isLatest: true, deleteMarker: false };
    const sequenced = { ...options, sequencedAt: sequencedAt(change, startedAt) };
    if (!scan.metadata) return createdRecord(scan.bucket, object, sequenced);
    const head = await s3.headObject(scan.bucket, change.key).catch((err: unknown) => {
      // Gone since it was listed: the next run sees it removed.
      if (err instanceof S3AccessError && err.kind === 'no-such-key') return undefined;
      throw failureOf(err);
    });
    return head ? createdRecord(scan.bucket, object, { ...sequenced, head }) : undefined;
  });
  const events: ListedEvent[] = [];
  for (const record of records) {
    if (!record) continue;
    const targets = await resolveTargets(deps.state, (arn) => deps.targets.retryFor(arn), record);
    if (targets.length > 0) events.push({ eventId: eventIdentity(record), ...listedEvent(record, origin), targets });
  }
  for (const change of changes) {
    state.totals[change.kind]++;
    metrics.scanChanges.inc({ scan: scan.id, mode, change: change.kind });
  }
  if (events.length === 0) return;
  const ctx = Context.current();
  const published = await deps.scans!.publish(events, async () => {
    heartbeat();
    try {
      await ctx.sleep(ROOM_WAIT_MS);
      return true;
    } catch {
      return false; // cancelled
    }
  });
  if (!published) throw new CancelledFailure('scan cancelled while waiting for room to publish');
  const fresh = published.filter((p) => !p.duplicate).length;
  state.totals.published += fresh;
  metrics.scanEventsPublished.inc({ scan: scan.id, mode }, fresh);
}

/** `map` with at most `limit` calls in flight, results in order. */
async function mapLimited<T, R>(items: T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * An S3 failure that retrying cannot help (credentials refused, no such bucket, a bad setting) fails the run at once
 * with its one line (bucket and endpoint named); the rest are retried with backoff by the activity's retry policy.
 */
function failureOf(err: unknown): unknown {
  if (err instanceof S3AccessError) {
    return ApplicationFailure.create({ type: 'S3AccessError', message: err.message, nonRetryable: !err.retryable });
  }
  if (err instanceof ConfigError)
    return ApplicationFailure.create({ type: 'ConfigError', message: err.message, nonRetryable: true });
  return err;
}
