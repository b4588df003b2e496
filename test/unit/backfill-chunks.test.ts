// The pieces of a backfill that decide what is published again after a worker died, without a server: the group
// commit's lanes (each publish call of a lane is a batch of its own, so the same chunk makes the same batch, and a
// batch found already started is reported as such), the dedupe window keyed by event and targets (a backfill to
// another target is not a duplicate), and the activity's cutting of a page into chunks with the cursor each one
// leaves (activities/backfill.ts chunksOf, objectsAfter).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunksOf, objectsAfter } from '../../activities/backfill';
import { GroupCommit, type BatchItem, type StartedBatch } from '../../src/publish/group-commit';
import { laneBatchId, type PublishableEvent } from '../../src/publish/publisher';
import type { S3Object } from '../../src/s3/client';

const item = (id: string, lane?: string, dedupeKey?: string): BatchItem<string> => ({
  eventId: id,
  bucket: 'b',
  key: id,
  entry: id,
  ...(lane ? { lane } : {}),
  ...(dedupeKey ? { dedupeKey } : {}),
});

/** A group commit whose starts wait until released, recording each batch's events. */
function recorder(existing: Set<string> = new Set()) {
  const batches: string[][] = [];
  const waiting: Array<() => void> = [];
  const commit = new GroupCommit<string>(
    { maxEvents: 4, maxWaitMs: 0, dedupeWindowMs: 60_000 },
    async (items): Promise<StartedBatch> => {
      const ids = items.map((i) => i.eventId);
      batches.push(ids);
      await new Promise<void>((resolve) => waiting.push(resolve));
      const workflowId = items[0].lane ? laneBatchId(items[0].lane, ids) : `batch-${batches.length}`;
      return existing.has(workflowId) ? { workflowId, existed: true } : { workflowId };
    },
  );
  const releaseAll = async () => {
    for (let i = 0; i < 20; i++) {
      waiting.splice(0).forEach((release) => release());
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { commit, batches, releaseAll };
}

test('lanes: each publish call of a lane is a batch of its own, never joined to another call or to the shared lane', async () => {
  const { commit, batches, releaseAll } = recorder();
  // Four full batches in flight (the most that start side by side): what follows queues behind them.
  const first = commit.publish(Array.from({ length: 16 }, (_, i) => item(`x${i}`)));
  const calls = [
    commit.publish([item('a1', 'L'), item('a2', 'L')]),
    commit.publish([item('b1', 'L')]),
    commit.publish([item('y1'), item('y2')]),
    commit.publish([item('c1', 'L'), item('c2', 'L'), item('c3', 'L'), item('c4', 'L'), item('c5', 'L')]),
  ];
  await releaseAll();
  await Promise.all([first, ...calls]);
  assert.deepEqual(batches.slice(4), [['a1', 'a2'], ['b1'], ['y1', 'y2'], ['c1', 'c2', 'c3', 'c4'], ['c5']]);
});

test('lanes: the same chunk published again makes the same batch id; a batch found started reports its events as duplicates', async () => {
  const id = laneBatchId('L', ['a1', 'a2']);
  assert.equal(id, laneBatchId('L', ['a1', 'a2']));
  assert.notEqual(id, laneBatchId('M', ['a1', 'a2']), 'another backfill, another batch');
  assert.match(id, /^bucketflow-batch-L-[0-9a-f]{24}$/);
  const { commit, releaseAll } = recorder(new Set([id]));
  const published = commit.publish([item('a1', 'L'), item('a2', 'L')]);
  await releaseAll();
  assert.deepEqual(await published, [
    { eventId: 'a1', workflowId: id, duplicate: true },
    { eventId: 'a2', workflowId: id, duplicate: true },
  ]);
});

test('the dedupe window keys on the dedupe key: the same event to the same targets is a duplicate, to another target it is not', async () => {
  const { commit, batches, releaseAll } = recorder();
  const once = commit.publish([item('e1', 'L', 'e1>t1')]);
  await releaseAll();
  await once;
  const again = commit.publish([item('e1', 'M', 'e1>t1'), item('e1', 'M', 'e1>t2')]);
  await releaseAll();
  const results = await again;
  assert.deepEqual(
    results.map((r) => r.duplicate),
    [true, false],
  );
  assert.deepEqual(batches, [['e1'], ['e1']], 'only the event to the other target started');
});

const object = (key: string, versionId?: string): S3Object => ({
  key,
  size: 1,
  etag: 'e',
  lastModified: '2026-01-01T00:00:00.000Z',
  isLatest: true,
  deleteMarker: false,
  ...(versionId ? { versionId } : {}),
});
const event = (o: S3Object) => ({ source: 'backfill', record: { key: o.key } }) as unknown as PublishableEvent;

test('chunksOf: chunks of at most `size` events in listing order, skipped objects counted; each leaves the cursor after its last object', () => {
  const page = ['a', 'b', 'skip-c', 'd', 'e', 'f'].map((key) => object(key));
  const next = { kind: 'objects' as const, token: 't2', lastKey: 'f' };
  const chunks = chunksOf(page, next, 'page-1', 2, (o) => (o.key.startsWith('skip') ? undefined : event(o)));
  assert.deepEqual(
    chunks.map((c) => [c.events.length, c.skipped, c.listed]),
    [
      [2, 0, 2],
      [2, 1, 3],
      [1, 0, 1],
    ],
  );
  assert.deepEqual(
    chunks.map((c) => c.cursorAfter),
    [
      { continuation: 'page-1', after: { key: 'b' }, done: false },
      { continuation: 'page-1', after: { key: 'e' }, done: false },
      { continuation: next, done: false },
    ],
  );
  const last = chunksOf([object('z')], undefined, next, 2, event);
  assert.deepEqual(
    last.map((c) => c.cursorAfter),
    [{ done: true }],
    'the last page ends the listing',
  );
  const empty = chunksOf([], next, 'page-1', 2, event);
  assert.deepEqual(
    empty.map((c) => [c.events.length, c.listed, c.cursorAfter]),
    [[0, 0, { continuation: next, done: false }]],
    'an empty page still moves the cursor',
  );
});

test('objectsAfter: the page listed again goes on after the last object handled (by key and version); gone, after its key', () => {
  const page = [object('a'), object('b'), object('c')];
  assert.deepEqual(
    objectsAfter(page, undefined, false).map((o) => o.key),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    objectsAfter(page, { key: 'a' }, false).map((o) => o.key),
    ['b', 'c'],
  );
  assert.deepEqual(
    objectsAfter([object('a'), object('c')], { key: 'b' }, false).map((o) => o.key),
    ['c'],
    'b vanished: after its key',
  );
  const versions = [object('k', 'v3'), object('k', 'v2'), object('k', 'v1'), object('l', 'v1')];
  assert.deepEqual(
    objectsAfter(versions, { key: 'k', versionId: 'v2' }, true).map((o) => `${o.key}@${o.versionId}`),
    ['k@v1', 'l@v1'],
  );
  assert.deepEqual(
    objectsAfter(versions, { key: 'k', versionId: 'v9' }, true).map((o) => `${o.key}@${o.versionId}`),
    ['k@v3', 'k@v2', 'k@v1', 'l@v1'],
    "a version that vanished: its key's versions again (at least once)",
  );
});
