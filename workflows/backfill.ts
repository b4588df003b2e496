// `bucketflow backfill <bucket>` (type `backfill`, id per bucket, prefix and target: src/delivery/backfill.ts):
// delivers what a bucket already holds. The listing and publishing run as activities (activities/backfill.ts),
// each a chunk of about ten seconds that heartbeats where it is, so a worker that dies mid-chunk costs a
// heartbeat timeout and the next attempt goes on from its last heartbeat; the workflow holds only the cursor
// and the counts, answers the query `progress` with them, and continues as new every BACKFILL_CHUNKS_PER_RUN
// chunks (or when Temporal suggests it), so its history stays short however large the bucket. Beside the
// listing, a second listing counts the objects for the ETA (its failure only loses the ETA).
// A failure no retry can help (credentials refused, no such bucket, a target this worker lacks) ends the
// workflow with that one line; the first chunk gives up after a few tries (an endpoint that never answers),
// later ones retry with backoff up to a minute apart. Cancelling the workflow stops the chunk in flight: what it
// had published is delivered, nothing after it starts, and the query of the cancelled backfill says what it handled.
// Deterministic: no I/O, clocks or randomness here; every decision is in the history.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  continueAsNew,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  BACKFILL_CHUNK_BUDGET_MS,
  BACKFILL_CHUNKS_PER_RUN,
  BACKFILL_PROGRESS_QUERY,
  backfillLane,
  emptyCounts,
  progressOf,
  type BackfillChunkResult,
  type BackfillInput,
  type BackfillProgress,
  type BackfillState,
  type CountResult,
} from '../src/delivery/backfill';

export const progressQuery = defineQuery<BackfillProgress>(BACKFILL_PROGRESS_QUERY);

const HEARTBEAT_TIMEOUT = '10 seconds';

/** The first chunk: an endpoint that cannot be reached is reported after a few tries, not retried for ever. */
const first = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '8s', maximumAttempts: 4 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** Later chunks: the backfill got going, so an outage of the store or of Temporal is waited out. */
const later = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

const counter = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});

export async function backfill(input: BackfillInput): Promise<BackfillProgress> {
  const { request } = input;
  const now = () => new Date().toISOString();
  const state: BackfillState = input.state ?? {
    lane: backfillLane(workflowInfo().firstExecutionRunId),
    startedAt: now(),
    updatedAt: now(),
    cursor: { done: false },
    counts: emptyCounts(),
    total: { counted: 0, done: false },
    runs: 0,
  };
  setHandler(progressQuery, () => progressOf(request, state, state.cursor.done ? 'done' : 'running'));
  const budgetMs = input.chunkBudgetMs ?? BACKFILL_CHUNK_BUDGET_MS;
  const chunksPerRun = input.chunksPerRun ?? BACKFILL_CHUNKS_PER_RUN;

  // The count runs beside the listing, chunk after chunk, in a scope of its own (cancelled once the listing is done).
  const counting = new CancellationScope();
  let count: Promise<void> | undefined;
  const countOn = () => {
    const total = state.total;
    if (count || !total || total.done) return;
    count = counting
      .run(() =>
        counter.countBackfillObjects({ request, continuation: total.continuation, counted: total.counted, budgetMs }),
      )
      .then(
        (result: CountResult) => void (state.total = result),
        (err: unknown) => void (state.total = isCancellation(err) ? state.total : undefined),
      )
      .finally(() => void (count = undefined));
  };

  for (let chunks = 0; !state.cursor.done; chunks++) {
    if (chunks >= chunksPerRun || workflowInfo().continueAsNewSuggested) {
      if (count) await count;
      await continueAsNew<typeof backfill>({ ...input, state: { ...state, runs: state.runs + 1 } });
    }
    countOn();
    const started = state.cursor.continuation !== undefined || state.cursor.after !== undefined;
    const result = await (started ? later : first)
      .backfillChunk({ request, lane: state.lane, cursor: state.cursor, counts: state.counts, budgetMs })
      .catch((err: unknown) => {
        // Cancelled: the chunk says what it handled up to then, for the query of the cancelled backfill.
        const handled =
          err instanceof ActivityFailure && err.cause instanceof CancelledFailure
            ? (err.cause.details?.[0] as BackfillChunkResult | undefined)
            : undefined;
        if (handled?.counts) Object.assign(state, { cursor: handled.cursor, counts: handled.counts, updatedAt: now() });
        return failedBackfill(err);
      });
    state.cursor = result.cursor;
    state.counts = result.counts;
    state.updatedAt = now();
  }
  counting.cancel();
  // The listing is complete: what it returned is the total, whatever the count got to.
  state.total = { counted: state.counts.listed, done: true };
  return progressOf(request, state, 'done');
}

/** A chunk that failed for good ends the backfill with the activity's own one line; a cancellation stays one. */
function failedBackfill(err: unknown): never {
  if (isCancellation(err)) throw err;
  // The activity's own line (e.g. `S3 bucket "photos" at http://...: credentials refused ...`), not the wrapper's.
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  const message = cause instanceof Error ? cause.message : 'backfill failed'; // an activity's failure always is one
  throw ApplicationFailure.nonRetryable(message, 'BackfillFailed');
}
