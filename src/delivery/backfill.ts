// What `bucketflow backfill` (workflows/backfill.ts), its activities (activities/backfill.ts) and the CLI that
// starts and watches it (src/operator/backfill.ts) share: the request, where the listing is (the cursor a chunk
// heartbeats), the counts, the progress the workflow answers to its query, and the workflow id, one per bucket,
// prefix and target so a second `backfill` of the same attaches to the one running. Sandbox-safe: workflow code
// imports this file.
import { fnv1a } from './batch-index';

export interface BackfillRequest {
  bucket: string;
  /** '' = the whole bucket. */
  prefix: string;
  /** Only this target (an enabled ARN); absent = the targets the bucket's rules match. */
  target?: string;
  /** ISO 8601: only objects modified at or after it. */
  since?: string;
  /** Every version of every object (ListObjectVersions), not only the current ones. */
  versions: boolean;
  /** The S3 endpoint (a URL without credentials); absent = the worker's AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else
   * AWS. */
  endpoint?: string;
}

export interface BackfillCounts {
  /** Objects (versions, delete markers) the listing returned. */
  listed: number;
  /** Listed, not published: modified before --since, a delete marker, or no rule of the bucket matches it. */
  skipped: number;
  /** In a batch workflow durably started by this backfill. */
  published: number;
  /** Published, and every target took it in its batch. */
  delivered: number;
  /** Published, and a target failed in the batch: it continues in its own delivery, with that target's retries. */
  continued: number;
  /** Not published again: the worker published the same object state within its dedupe window (an earlier backfill). */
  duplicates: number;
}

export const COUNT_NAMES: ReadonlyArray<keyof BackfillCounts> = [
  'listed',
  'skipped',
  'published',
  'delivered',
  'continued',
  'duplicates',
];

export function emptyCounts(): BackfillCounts {
  return { listed: 0, skipped: 0, published: 0, delivered: 0, continued: 0, duplicates: 0 };
}

export function addCounts(a: BackfillCounts, b: Partial<BackfillCounts>): BackfillCounts {
  const sum = { ...a };
  for (const name of COUNT_NAMES) sum[name] += b[name] ?? 0;
  return sum;
}

/** Where the listing is: every object before it is handled (published, skipped or a duplicate) and counted. */
export interface BackfillCursor {
  /** Where the page holding the next object starts (src/s3's ListContinuation, opaque here); absent = the first page.
   * */
  continuation?: unknown;
  /** The last object of that page already handled: the page is listed again and handling goes on after it. */
  after?: { key: string; versionId?: string };
  /** Nothing is left to list. */
  done: boolean;
}

/** One activity's share of the work: handle objects from `cursor` on for about `budgetMs`, then say where it stopped.
 * */
export interface BackfillChunkInput {
  request: BackfillRequest;
  /** The backfill's lane (src/publish/group-commit.ts): its batches' ids, the same when a chunk is run again. */
  lane: string;
  cursor: BackfillCursor;
  counts: BackfillCounts;
  budgetMs: number;
}

export interface BackfillChunkResult {
  cursor: BackfillCursor;
  counts: BackfillCounts;
}

/** The count of what the listing will return (for the ETA), by a listing of its own run beside the backfill. */
export interface CountInput {
  request: BackfillRequest;
  continuation?: unknown;
  counted: number;
  budgetMs: number;
}

export interface CountResult {
  continuation?: unknown;
  counted: number;
  done: boolean;
}

export interface BackfillState {
  lane: string;
  /** ISO 8601 (workflow time): when the backfill's first run started. */
  startedAt: string;
  /** ISO 8601: when the counts last moved. */
  updatedAt: string;
  cursor: BackfillCursor;
  counts: BackfillCounts;
  /** The count for the ETA; undefined once counting failed (the backfill goes on without an ETA). */
  total: CountResult | undefined;
  /** Runs before this one (continue-as-new). */
  runs: number;
}

export interface BackfillInput {
  request: BackfillRequest;
  /** Carried over by continue-as-new; absent on the first run. */
  state?: BackfillState;
  /** Chunks per run before continue-as-new (tests make it small; default BACKFILL_CHUNKS_PER_RUN). */
  chunksPerRun?: number;
  /** Each chunk's time budget (default BACKFILL_CHUNK_BUDGET_MS). */
  chunkBudgetMs?: number;
}

export const BACKFILL_CHUNKS_PER_RUN = 200;
export const BACKFILL_CHUNK_BUDGET_MS = 10_000;

/** What the workflow answers to its query `progress`, and returns when the listing is done. */
export interface BackfillProgress {
  request: BackfillRequest;
  status: 'running' | 'done';
  counts: BackfillCounts;
  /** What the listing returns in all, once counted (`done`), or counted so far. */
  total?: { counted: number; done: boolean };
  startedAt: string;
  updatedAt: string;
  runs: number;
}

export const BACKFILL_PROGRESS_QUERY = 'progress';

export function progressOf(
  request: BackfillRequest,
  state: BackfillState,
  status: BackfillProgress['status'],
): BackfillProgress {
  return {
    request,
    status,
    counts: state.counts,
    startedAt: state.startedAt,
    updatedAt: state.updatedAt,
    runs: state.runs,
    ...(state.total ? { total: { counted: state.total.counted, done: state.total.done } } : {}),
  };
}

/** `bucketflow-backfill-<bucket>`, with a hash of the prefix and target when either is given. */
export function backfillWorkflowId(request: Pick<BackfillRequest, 'bucket' | 'prefix' | 'target'>): string {
  const scope = request.prefix || request.target ? `-${fnv1a(`${request.prefix}\n${request.target ?? ''}`)}` : '';
  return `bucketflow-backfill-${request.bucket}${scope}`;
}

/** The lane of a backfill started as this run: short, and distinct for every backfill. */
export function backfillLane(firstRunId: string): string {
  return `backfill-${firstRunId.replace(/-/g, '').slice(0, 12)}`;
}
