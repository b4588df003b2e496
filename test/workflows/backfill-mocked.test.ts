// The backfill workflow (workflows/backfill.ts) on the stack's Temporal server with mocked activities: a scripted
// listing of pages stands in for the bucket, so the workflow's own logic is what is tested: each chunk starts where
// the one before ended and the counts add up; it continues as new after its chunks per run, the cursor and counts
// carried over; the query answers the counts while it runs; a failure no retry can help ends it with that one line;
// the first chunk gives up on an endpoint that never answers while a later chunk is retried; a count that fails
// only loses the ETA; cancelling stops the chunk in flight.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CancelledFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import {
  addCounts,
  type BackfillChunkInput,
  type BackfillChunkResult,
  type BackfillInput,
  type BackfillProgress,
  type CountInput,
  type CountResult,
} from '../../src/delivery/backfill';
import { BACKFILL } from '../../src/delivery/workflow-types';
import { mockedWorker } from '../helpers/mocked-worker';
import { needs } from '../helpers/needs';

const { test } = needs('temporal');

const TIMEOUT = { timeout: 90_000 };
const OBJECTS_PER_PAGE = 10;

/** What the mocks were asked, in order: `chunk <page>` for each chunk call (attempts included), `count`. */
let calls: string[] = [];
const script: {
  pages: number;
  pagesPerChunk: number;
  chunk?: (input: BackfillChunkInput, page: number) => Promise<void>;
  count?: (input: CountInput) => Promise<CountResult>;
} = { pages: 0, pagesPerChunk: 1 };

/** A bucket of `script.pages` pages of 10 objects: each chunk handles `pagesPerChunk` pages from the cursor's. */
const mocks: Pick<Activities, 'backfillChunk' | 'countBackfillObjects'> = {
  async backfillChunk(input) {
    const page = (input.cursor.continuation as number | undefined) ?? 0;
    calls.push(`chunk ${page}`);
    await script.chunk?.(input, page);
    const end = Math.min(script.pages, page + script.pagesPerChunk);
    const objects = (end - page) * OBJECTS_PER_PAGE;
    const counts = addCounts(input.counts, { listed: objects, published: objects, delivered: objects });
    return {
      cursor: end >= script.pages ? { done: true } : { continuation: end, done: false },
      counts,
    } satisfies BackfillChunkResult;
  },
  async countBackfillObjects(input) {
    calls.push('count');
    if (script.count) return script.count(input);
    return { counted: script.pages * OBJECTS_PER_PAGE, done: true };
  },
};

const mocked = mockedWorker(mocks, 'backfill-mocked');

function start(more: Partial<BackfillInput> = {}) {
  calls = [];
  const input: BackfillInput = {
    request: { bucket: `mocked-${randomUUID().slice(0, 8)}`, prefix: '', versions: false },
    ...more,
  };
  return mocked.client.workflow.start(BACKFILL, {
    taskQueue: mocked.taskQueue,
    workflowId: `backfill-mocked-${randomUUID()}`,
    args: [input],
  });
}

async function failureOf(result: Promise<unknown>): Promise<Error> {
  const err = await result.then(
    () => assert.fail('expected the backfill to fail'),
    (thrown: unknown) => thrown,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  return err.cause;
}

test(
  'pages in order, each chunk where the last ended; counts summed; continued as new every 3 chunks with cursor and counts carried',
  TIMEOUT,
  async () => {
    Object.assign(script, { pages: 8, pagesPerChunk: 1, chunk: undefined, count: undefined });
    const handle = await start({ chunksPerRun: 3 });
    const result: BackfillProgress = await handle.result();
    assert.deepEqual(
      calls.filter((c) => c.startsWith('chunk')),
      ['chunk 0', 'chunk 1', 'chunk 2', 'chunk 3', 'chunk 4', 'chunk 5', 'chunk 6', 'chunk 7'],
    );
    assert.equal(result.status, 'done');
    assert.deepEqual(result.counts, {
      listed: 80,
      skipped: 0,
      published: 80,
      delivered: 80,
      continued: 0,
      duplicates: 0,
    });
    assert.equal(result.runs, 2, 'two continue-as-new: after chunks 3 and 6');
    assert.deepEqual(result.total, { counted: 80, done: true });
    // The first run's history ends in continue-as-new, and holds three chunks.
    const firstRun = await mocked.client.workflow
      .getHandle(handle.workflowId, handle.firstExecutionRunId)
      .fetchHistory();
    const events = firstRun.events ?? [];
    assert.ok(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes, 'the first run continued as new');
    assert.equal(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'backfillChunk').length,
      3,
    );
  },
);

test('the query answers the counts while a chunk runs; the ETA count arrives beside it', TIMEOUT, async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  Object.assign(script, {
    pages: 3,
    pagesPerChunk: 1,
    count: undefined,
    chunk: async (_: BackfillChunkInput, page: number) => {
      if (page === 1) {
        while (!(await Promise.race([gate.then(() => true), new Promise((r) => setTimeout(() => r(false), 500))])))
          Context.current().heartbeat();
      }
    },
  });
  const handle = await start();
  let progress: BackfillProgress | undefined;
  for (let i = 0; i < 100; i++) {
    progress = await handle.query<BackfillProgress>('progress');
    if (progress.counts.listed === 10 && progress.total?.done) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(progress?.status, 'running');
  assert.equal(progress?.counts.listed, 10, 'the first chunk is counted, the second is in flight');
  assert.deepEqual(progress?.total, { counted: 30, done: true });
  release();
  const result: BackfillProgress = await handle.result();
  assert.equal(result.counts.delivered, 30);
});

test('a failure no retry can help ends the backfill with that one line, after one attempt', TIMEOUT, async () => {
  const line =
    'S3 bucket "photos" at http://127.0.0.1:9: credentials refused (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  Object.assign(script, {
    pages: 3,
    pagesPerChunk: 1,
    count: undefined,
    chunk: async () => {
      throw ApplicationFailure.create({ message: line, type: 'S3AccessError:credentials', nonRetryable: true });
    },
  });
  const cause = await failureOf(start().then((h) => h.result()));
  assert.equal(cause.message, line);
  assert.equal((cause as ApplicationFailure).type, 'BackfillFailed');
  assert.deepEqual(
    calls.filter((c) => c.startsWith('chunk')),
    ['chunk 0'],
  );
});

test(
  'the first chunk gives up after 4 tries on an endpoint that never answers; a later chunk is retried until it goes through',
  TIMEOUT,
  async () => {
    const unreachable = () =>
      ApplicationFailure.create({
        message: 'S3 bucket "photos" at http://127.0.0.1:9: endpoint unreachable (ECONNREFUSED)',
        type: 'S3AccessError:unreachable',
      });
    Object.assign(script, {
      pages: 3,
      pagesPerChunk: 1,
      count: undefined,
      chunk: async () => {
        throw unreachable();
      },
    });
    const cause = await failureOf(start().then((h) => h.result()));
    assert.match(cause.message, /endpoint unreachable/);
    assert.deepEqual(
      calls.filter((c) => c.startsWith('chunk')),
      ['chunk 0', 'chunk 0', 'chunk 0', 'chunk 0'],
    );

    let failures = 0;
    Object.assign(script, {
      chunk: async (_: BackfillChunkInput, page: number) => {
        if (page === 1 && failures++ < 5) throw unreachable();
      },
    });
    const result: BackfillProgress = await (await start()).result();
    assert.equal(result.counts.delivered, 30);
    assert.deepEqual(
      calls.filter((c) => c.startsWith('chunk')),
      ['chunk 0', ...Array(6).fill('chunk 1'), 'chunk 2'],
    );
  },
);

test(
  'a count that fails loses only the ETA while the backfill runs; once the listing ends, what it listed is the total',
  TIMEOUT,
  async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    Object.assign(script, {
      pages: 2,
      pagesPerChunk: 1,
      count: async () => {
        throw new Error('count listing failed');
      },
      chunk: async (_: BackfillChunkInput, page: number) => {
        if (page === 1) {
          while (!(await Promise.race([gate.then(() => true), new Promise((r) => setTimeout(() => r(false), 500))])))
            Context.current().heartbeat();
        }
      },
    });
    const handle = await start();
    let progress: BackfillProgress | undefined;
    for (let i = 0; i < 200; i++) {
      progress = await handle.query<BackfillProgress>('progress');
      if (calls.filter((c) => c === 'count').length === 3 && !progress.total) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(calls.filter((c) => c === 'count').length, 3, 'the count was tried 3 times');
    assert.equal(progress?.total, undefined, 'no ETA without a count');
    assert.equal(progress?.status, 'running');
    release();
    const result: BackfillProgress = await handle.result();
    assert.equal(result.counts.delivered, 20);
    assert.deepEqual(result.total, { counted: 20, done: true });
  },
);

test(
  'cancelled during a chunk: the chunk learns it through its heartbeat, the backfill ends cancelled with what the chunk handled',
  TIMEOUT,
  async () => {
    let chunkCancelled = false;
    Object.assign(script, {
      pages: 5,
      pagesPerChunk: 1,
      count: undefined,
      chunk: async (_: BackfillChunkInput, page: number) => {
        if (page !== 1) return;
        const ctx = Context.current();
        try {
          for (;;) {
            ctx.heartbeat();
            await ctx.sleep(200);
          }
        } catch {
          chunkCancelled = true;
          // As the real chunk does: what it handled up to the cancellation travels with it.
          throw new CancelledFailure('backfill cancelled', [
            {
              cursor: { continuation: 1, after: { key: 'k' }, done: false },
              counts: addCounts(_.counts, { listed: 7, published: 7, delivered: 7 }),
            },
          ]);
        }
      },
    });
    const handle = await start();
    for (let i = 0; i < 100 && !calls.includes('chunk 1'); i++) await new Promise((r) => setTimeout(r, 100));
    await handle.cancel();
    const err = await handle.result().then(
      () => assert.fail('expected a cancelled backfill'),
      (thrown: unknown) => thrown,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    assert.ok(chunkCancelled, 'the chunk in flight was cancelled (WAIT_CANCELLATION_COMPLETED)');
    const progress = await handle.query<BackfillProgress>('progress');
    assert.equal(progress.counts.listed, 17, 'the first chunk and what the cancelled one handled');
    assert.deepEqual(
      calls.filter((c) => c.startsWith('chunk')),
      ['chunk 0', 'chunk 1'],
    );
  },
);
