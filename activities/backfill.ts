// `bucketflow backfill`'s activities (workflows/backfill.ts runs them): backfillChunk lists the bucket page by
// page through the S3 API (src/s3) and publishes one `s3:ObjectCreated:Put` event per listed object (or version),
// shaped by src/s3/records.ts and marked as the backfill's (its source `backfill`), to the targets the bucket's rules
// match or
// the one target named. It publishes in the high-volume mode, in chunks of BUCKETFLOW_BACKFILL_BATCH_EVENTS, each
// chunk in the backfill's lane (one batch workflow whose id comes from its events) and held against the worker's
// admission bound, so a large bucket never holds more of the worker than the ingest may; a few chunks are in flight
// at once and each is counted once its batch's first task is over (delivered, or continued per event).
// Where it is (the cursor: the page and the last object handled) and the counts are heartbeated after each chunk,
// in order: an attempt that follows a dead worker lists that page again and goes on after that object, and a chunk
// the dead worker had published makes the same batch id again, which Temporal finds already started, so nothing
// is delivered twice. An activity returns after its time budget, so the workflow's counts (its query) move on and
// its history stays short. countBackfillObjects counts what the listing will return, for the CLI's ETA.
import { Context, CancelledFailure } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ConfigError } from '../src/config';
import {
  addCounts,
  emptyCounts,
  type BackfillChunkInput,
  type BackfillChunkResult,
  type BackfillCounts,
  type BackfillCursor,
  type BackfillRequest,
  type CountInput,
  type CountResult,
} from '../src/delivery/backfill';
import { errorMessage } from '../src/errors';
import { BATCH_ID_PREFIX } from '../src/delivery/workflow-ids';
import type { PublishableEvent, PublishedEvent } from '../src/delivery/types';
import { withRetrySettings } from '../src/rules/resolve';
import { matchingArns } from '../src/rules';
import { compareObjectKeys } from '../src/events/record';
import type { ListContinuation, S3Access, S3Object } from '../src/s3/client';
import { S3AccessError } from '../src/s3/errors';
import { createdRecord, listedEvent } from '../src/s3/records';
import { metrics } from '../src/telemetry/metrics';
import type { ResolvedTarget } from '../src/delivery/types';
import type { S3EventRecord } from '../src/events/types';
import type { ActivityDeps, BackfillDeps } from './deps';

/** Chunks published and awaited at once (admission control may allow fewer). */
const CHUNKS_IN_FLIGHT = 4;
/** How often a running chunk activity heartbeats (the SDK sends at most one per 80% of the heartbeat timeout). */
const HEARTBEAT_EVERY_MS = 1_000;
const PUT = 's3:ObjectCreated:Put';

/** One chunk of a page: the objects it covers (the kept ones become events) and where the cursor is once it is handled.
 * */
interface Chunk {
  events: PublishableEvent[];
  /** Objects of the page this chunk covers that are not published (and so counted skipped). */
  skipped: number;
  /** Objects of the page it covers (listed). */
  listed: number;
  cursorAfter: BackfillCursor;
}

export async function backfillChunk(deps: ActivityDeps, input: BackfillChunkInput): Promise<BackfillChunkResult> {
  const ctx = Context.current();
  const backfill = backfillDeps(deps);
  const { request, lane } = input;
  // An attempt after a dead worker (or a timeout) goes on from the last chunk the one before it heartbeated.
  const resumed = ctx.info.heartbeatDetails as BackfillChunkResult | undefined;
  const committed: BackfillChunkResult = resumed?.cursor ? resumed : { cursor: input.cursor, counts: input.counts };
  if (resumed?.cursor)
    ctx.log.info('backfill chunk resumes from its heartbeat', {
      bucket: request.bucket,
      attempt: ctx.info.attempt,
      counts: resumed.counts,
    });
  const { access, region } = openS3(backfill, request);
  const targets = await targetChooser(deps, request);
  const since = request.since === undefined ? undefined : Date.parse(request.since);
  const deadline = Date.now() + input.budgetMs;

  const ticker = setInterval(() => ctx.heartbeat({ ...committed }), HEARTBEAT_EVERY_MS);
  metrics.backfillsRunning.inc();
  const inFlight: Array<{ chunk: Chunk; outcome: Promise<Partial<BackfillCounts>> }> = [];
  // Chunks publish one after the other, in listing order (their outcomes are awaited side by side): what was
  // published is always a prefix of the chunks, so the cursor never passes a chunk that did not start, and a chunk
  // whose publish failed or gave up stops every later one from starting.
  let published: Promise<unknown> = Promise.resolve();
  // Chunks end in order: the cursor moves only over chunks whose every object is handled.
  const commitHead = async () => {
    const head = inFlight.shift()!;
    const counts = await head.outcome;
    const delta = { ...counts, listed: head.chunk.listed, skipped: head.chunk.skipped };
    committed.counts = addCounts(committed.counts, delta);
    committed.cursor = head.chunk.cursorAfter;
    for (const [stage, n] of Object.entries(delta))
      if (n) metrics.backfillObjects.inc({ stage: stage === 'duplicates' ? 'duplicate' : stage }, n);
    ctx.heartbeat({ ...committed });
  };
  try {
    let cursor = committed.cursor;
    while (!cursor.done && Date.now() < deadline && !ctx.cancellationSignal.aborted) {
      const page = await listPage(access, request, cursor.continuation);
      const fresh = objectsAfter(page.objects, cursor.after, request.versions);
      const chooser = await targets.forPage();
      for (const chunk of chunksOf(fresh, page.next, cursor.continuation, backfill.batchEvents, (object) => {
        if (object.deleteMarker || (since !== undefined && Date.parse(object.lastModified) < since)) return undefined;
        const record = createdRecord(request.bucket, object, { origin: 'backfill', region, endpoint: access.endpoint });
        const matched = chooser(object.key, record);
        return matched.length > 0 ? { ...listedEvent(record, 'backfill'), targets: matched } : undefined;
      })) {
        while (inFlight.length >= CHUNKS_IN_FLIGHT) await commitHead();
        if (ctx.cancellationSignal.aborted) break;
        const publishing = published.then(() => publishChunk(backfill, chunk, lane));
        published = publishing;
        inFlight.push({ chunk, outcome: publishing.then((events) => outcomeOf(backfill, events, lane)) });
        inFlight.at(-1)!.outcome.catch(() => {}); // awaited in order by commitHead
      }
      cursor = page.next ? { continuation: page.next, done: false } : { done: true };
    }
    while (inFlight.length > 0) await commitHead();
  } catch (err) {
    // What was published is durable; the chunks after the failed one are let finish, uncounted (a retry counts them).
    await Promise.allSettled(inFlight.map((c) => c.outcome));
    throw err instanceof CancelledFailure ? cancelled(committed) : activityFailure(err, request, access.endpoint);
  } finally {
    clearInterval(ticker);
    metrics.backfillsRunning.dec();
  }
  if (ctx.cancellationSignal.aborted) throw cancelled(committed);
  return committed;
}

/** The cancellation, carrying what was handled up to it (the workflow's counts when it ends cancelled). */
function cancelled(committed: BackfillChunkResult): CancelledFailure {
  return new CancelledFailure('backfill cancelled', [{ ...committed }]);
}

/** The count of what the listing will return (the ETA's denominator), resumed from its heartbeat like a chunk. */
export async function countBackfillObjects(deps: ActivityDeps, input: CountInput): Promise<CountResult> {
  const ctx = Context.current();
  const { access } = openS3(backfillDeps(deps), input.request);
  const resumed = ctx.info.heartbeatDetails as CountResult | undefined;
  let state: CountResult = resumed ?? { continuation: input.continuation, counted: input.counted, done: false };
  const deadline = Date.now() + input.budgetMs;
  try {
    while (!state.done && Date.now() < deadline && !ctx.cancellationSignal.aborted) {
      const page = await listPage(access, input.request, state.continuation);
      state = { continuation: page.next, counted: state.counted + page.objects.length, done: !page.next };
      ctx.heartbeat(state);
    }
  } catch (err) {
    throw activityFailure(err, input.request, access.endpoint);
  }
  return state;
}

function backfillDeps(deps: ActivityDeps): BackfillDeps {
  if (!deps.backfill)
    throw ApplicationFailure.nonRetryable(
      'this worker runs no backfills (started without S3 access)',
      'BackfillUnavailable',
    );
  return deps.backfill;
}

function openS3(backfill: BackfillDeps, request: BackfillRequest): { access: S3Access; region: string } {
  try {
    return backfill.s3(request.endpoint);
  } catch (err) {
    if (err instanceof ConfigError)
      throw ApplicationFailure.nonRetryable(`S3 bucket "${request.bucket}": ${err.message}`, 'ConfigError');
    throw err;
  }
}

function listPage(access: S3Access, request: BackfillRequest, continuation: unknown) {
  return access.listPage(request.bucket, {
    prefix: request.prefix,
    versions: request.versions,
    continuation: continuation as ListContinuation | undefined,
  });
}

/**
 * Which targets an object goes to: the one named, which must be an enabled target of this worker; else what the
 * bucket's rules match for a Put of its key and record (a rule's pattern sees the listed record: its size, and its
 * content type and metadata only where the listing has them; the rules read once per page, so a change applies from
 * the next page).
 */
async function targetChooser(
  deps: ActivityDeps,
  request: BackfillRequest,
): Promise<{ forPage(): Promise<(key: string, record: S3EventRecord) => ResolvedTarget[]> }> {
  const retryFor = (arn: string) => deps.targets.retryFor(arn);
  if (request.target !== undefined) {
    if (!deps.targets.get(request.target)) {
      throw ApplicationFailure.nonRetryable(
        `--target ${request.target}: not an enabled target of this worker`,
        'ConfigError',
      );
    }
    const only = withRetrySettings([request.target], retryFor);
    return { forPage: async () => () => only };
  }
  return {
    async forPage() {
      const rules = await deps.state.get(request.bucket);
      return (key, record) => withRetrySettings(matchingArns(rules, PUT, key, record), retryFor);
    },
  };
}

/**
 * The page's objects after the last one handled. It is found again by key and version; when the listing changed
 * and it is gone, everything after its key is kept (and, with versions, its key's other versions: again at least once).
 */
export function objectsAfter(objects: S3Object[], after: BackfillCursor['after'], versions: boolean): S3Object[] {
  if (!after) return objects;
  const at = objects.findIndex(
    (o) => o.key === after.key && (o.versionId ?? undefined) === (after.versionId ?? undefined),
  );
  if (at >= 0) return objects.slice(at + 1);
  return objects.filter((o) => compareObjectKeys(o.key, after.key) > 0 || (versions && o.key === after.key));
}

/**
 * The page cut into chunks of at most `size` events, in listing order; each chunk covers the objects up to its
 * last one (the skipped ones included) and says where the cursor is once it is handled. A page with nothing to
 * publish is one chunk of no events, so the cursor still moves over it.
 */
export function chunksOf(
  objects: S3Object[],
  next: ListContinuation | undefined,
  continuation: unknown,
  size: number,
  eventOf: (object: S3Object) => PublishableEvent | undefined,
): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Chunk = { events: [], skipped: 0, listed: 0, cursorAfter: { continuation, done: false } };
  objects.forEach((object, i) => {
    const event = eventOf(object);
    if (event) current.events.push(event);
    else current.skipped++;
    current.listed++;
    current.cursorAfter = {
      continuation,
      after: { key: object.key, ...(object.versionId !== undefined ? { versionId: object.versionId } : {}) },
      done: false,
    };
    if (current.events.length === size && i < objects.length - 1) {
      chunks.push(current);
      current = { events: [], skipped: 0, listed: 0, cursorAfter: current.cursorAfter };
    }
  });
  // The page's last chunk moves the cursor to the next page (or ends the listing).
  current.cursorAfter = next ? { continuation: next, done: false } : { done: true };
  chunks.push(current);
  return chunks;
}

/** Publishes a chunk (its batch, held against admission, waiting for room); resolves once its batch is durably started.
 * */
async function publishChunk(backfill: BackfillDeps, chunk: Chunk, lane: string): Promise<PublishedEvent[]> {
  if (chunk.events.length === 0) return [];
  const ctx = Context.current();
  const published = await backfill.publish(chunk.events, lane, () => !ctx.cancellationSignal.aborted);
  if (!published) throw new CancelledFailure('backfill cancelled while waiting for room in the worker');
  return published;
}

/**
 * A published chunk's counts, once its batch's first task is over. A batch of this lane that existed already (a
 * chunk published again after its worker died) counts as this backfill's; an event the worker published within its
 * dedupe window for another run (to the same targets) is a duplicate.
 */
async function outcomeOf(
  backfill: BackfillDeps,
  published: PublishedEvent[],
  lane: string,
): Promise<Partial<BackfillCounts>> {
  const ours = `${BATCH_ID_PREFIX}${lane}-`;
  const counts = emptyCounts();
  const byBatch = new Map<string, Set<string>>();
  for (const event of published) {
    if (event.duplicate && !event.workflowId.startsWith(ours)) {
      counts.duplicates++;
      continue;
    }
    counts.published++;
    const ids = byBatch.get(event.workflowId) ?? new Set<string>();
    ids.add(event.eventId);
    byBatch.set(event.workflowId, ids);
  }
  await Promise.all(
    [...byBatch].map(async ([workflowId, ids]) => {
      const result = await backfill.batchResult(workflowId);
      for (const outcome of result.outcomes) {
        if (!ids.has(outcome.eventId)) continue;
        if (outcome.continuedIn) counts.continued++;
        else counts.delivered++;
      }
    }),
  );
  return counts;
}

/** A failure as the workflow should see it: an S3 error's one line (retried only when that can help), a cancellation as
 * it is. */
function activityFailure(err: unknown, request: BackfillRequest, endpoint: string): unknown {
  if (err instanceof CancelledFailure || err instanceof ApplicationFailure) return err;
  if (err instanceof S3AccessError)
    return ApplicationFailure.create({
      message: err.message,
      type: `S3AccessError:${err.kind}`,
      nonRetryable: !err.retryable,
    });
  return ApplicationFailure.create({
    message: `backfill of S3 bucket "${request.bucket}" at ${endpoint}: ${errorMessage(err)}`,
    type: 'BackfillError',
  });
}
