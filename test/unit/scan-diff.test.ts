// Needs no server. What a scan and a reconciliation call a change (activities/scan-diff.ts): the merge-join of a
// listed page with the previous listing or the delivered states, the baseline of a scan's first run, the settle time
// of a reconciliation, and S3's key order (UTF-8 bytes) in the join; and the external sort that folds delivered
// states (src/state/sorted-lines.ts): many runs merged, the newest of each key kept, whatever the input order.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { diffPage, sequencedAt, type DiffRules } from '../../activities/scan-diff';
import { eventIdentity } from '../../src/events';
import { orderingKey } from '../../src/events/record';
import { createdRecord } from '../../src/s3/records';
import type { DeliveredState, ListedState } from '../../src/state/scans';
import { mergeIntoSortedFile, SortedFileReader, type LineCodec } from '../../src/state/sorted-lines';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const listed = (key: string, etag = 'e', modified = 100, size = 1): ListedState => ({
  key,
  etag,
  size,
  lastModified: at(modified),
});
const delivered = (key: string, etag = 'e', extra: Partial<DeliveredState> = {}): DeliveredState => ({
  bucket: 'b',
  key,
  etag,
  size: 1,
  sequencer: '1',
  removed: false,
  at: T0 + 100_000,
  ...extra,
});
const scan: DiffRules = { mode: 'scan', hasPrevious: true, baselineBefore: T0, settledBefore: Infinity };
const reconcile: DiffRules = {
  mode: 'reconcile',
  hasPrevious: true,
  baselineBefore: T0 + 50_000,
  settledBefore: T0 + 200_000,
};
const kinds = (changes: ReturnType<typeof diffPage>) => changes.map((c) => `${c.kind} ${c.key}`);

test('a scan: created, changed (ETag, size or time), removed; the same state is no change', () => {
  const previous = [listed('a'), listed('b'), listed('c'), listed('d'), listed('e'), listed('gone')];
  const page = [
    listed('a'),
    listed('b', 'new etag'),
    listed('c', 'e', 100, 2),
    listed('d', 'e', 101),
    listed('e'),
    listed('new'),
  ];
  assert.deepEqual(kinds(diffPage(page, previous, scan)), [
    'changed b',
    'changed c',
    'changed d',
    'removed gone',
    'created new',
  ]);
  assert.deepEqual(
    kinds(diffPage([], previous.slice(0, 2), scan)),
    ['removed a', 'removed b'],
    'a last page with nothing left: every remaining entry is gone',
  );
});

test("a scan's first run: objects modified before the scan was added are its baseline", () => {
  const first = { ...scan, hasPrevious: false, baselineBefore: T0 + 100_500 };
  assert.deepEqual(kinds(diffPage([listed('old', 'e', 100), listed('new', 'e', 101)], [], first)), ['created new']);
});

test("the join follows S3's key order (UTF-8 bytes), not JavaScript's", () => {
  // '😀' (U+1F600) sorts after 'ﬀ' (U+FB00) in UTF-8; UTF-16 puts its surrogates first. A join in the wrong order
  // would take the unchanged '😀' for removed and created again.
  assert.deepEqual(
    kinds(
      diffPage(
        ['z', 'ﬀ', '😀'].map((k) => listed(k)),
        ['z', '😀'].map((k) => listed(k)),
        scan,
      ),
    ),
    ['created ﬀ'],
  );
});

test('a reconciliation: what no target has seen, within the baseline and the settle time', () => {
  const states = [
    delivered('same'),
    delivered('other', 'old'),
    delivered('was-removed', 'e', { removed: true }),
    delivered('gone'),
    delivered('gone-recently', 'e', { at: T0 + 300_000 }),
  ];
  const page = [
    listed('before-baseline', 'e', 10), // modified before the reconciliation was added
    listed('missed', 'e', 100), // never delivered
    listed('other', 'new', 100), // delivered in an older state
    listed('same', 'e', 100), // delivered as it is
    listed('unsettled', 'e', 250), // its notification may still be on its way
    listed('was-removed', 'e', 100), // recreated after a delivered removal
  ];
  assert.deepEqual(
    kinds(
      diffPage(
        page,
        states.sort((a, b) => (a.key < b.key ? -1 : 1)),
        reconcile,
      ),
    ),
    ['removed gone', 'created missed', 'changed other', 'created was-removed'],
  );
});

test('the external sort merges many runs and the sorted file, keeping the newest state of each key', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-sort-'));
  try {
    type E = { key: string; n: number };
    const codec: LineCodec<E> = {
      encode: (e) => JSON.stringify([e.key, e.n]),
      decode: (t) => ({ key: JSON.parse(t)[0], n: JSON.parse(t)[1] }),
      keyOf: (e) => e.key,
    };
    const newer = (a: E, b: E) => (b.n >= a.n ? b : a);
    const keyOf = (i: number) => `k${String(i % 500).padStart(4, '0')}`;
    async function* entries(from: number, count: number) {
      for (let i = from; i < from + count; i++) yield { key: keyOf((i * 7919) % 1000), n: i }; // scrambled, each key twice
    }
    const base = path.join(dir, 'base.jsonl');
    assert.equal(
      await mergeIntoSortedFile({
        sorted: undefined,
        unsorted: entries(0, 1000),
        out: base,
        codec,
        pick: newer,
        runEntries: 64,
      }),
      500,
    );
    const next = path.join(dir, 'next.jsonl');
    assert.equal(
      await mergeIntoSortedFile({
        sorted: base,
        unsorted: entries(1000, 300),
        out: next,
        codec,
        pick: newer,
        runEntries: 64,
      }),
      500,
    );
    const lines = (await readFile(next, 'utf8')).trim().split('\n').map(codec.decode);
    assert.deepEqual(
      lines.map((e) => e.key),
      [...new Set(lines.map((e) => e.key))].sort(),
      'in key order, each key once',
    );
    for (const { key, n } of lines) {
      const all = [...Array(1300).keys()].filter((i) => keyOf((i * 7919) % 1000) === key);
      assert.equal(n, Math.max(...all), `${key}: the newest of its states`);
    }
    assert.deepEqual((await readdir(dir)).sort(), ['base.jsonl', 'next.jsonl'], 'the runs are removed');

    // Read a page at a time under a prefix, from a position.
    const reader = new SortedFileReader(next, codec, 0, 'k01');
    assert.deepEqual(
      (await reader.readUpTo('k0102', 100)).map((e) => e.key),
      ['k0100', 'k0101', 'k0102'],
    );
    const resumed = new SortedFileReader(next, codec, reader.position(), 'k01');
    assert.equal((await resumed.readUpTo(undefined, 1000)).length, 97);
    await Promise.all([reader.close(), resumed.close()]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an overwrite listed with the same LastModified (1 s resolution) is sequenced at the listing, not dropped', () => {
  const startedAt = new Date(T0 + 200_000);
  const [same] = diffPage([listed('a', 'new etag', 100)], [listed('a', 'e', 100)], scan);
  assert.equal(same.kind, 'changed');
  assert.deepEqual(sequencedAt(same, startedAt), startedAt, 'same second: at the listing');
  const [later] = diffPage([listed('a', 'new etag', 101)], [listed('a', 'e', 100)], scan);
  assert.equal(sequencedAt(later, startedAt), undefined, 'a later LastModified: its own');
  // The events differ (their ids come from the sequencer), and the overwrite is the newer for the store targets.
  const object = (etag: string) => ({ ...listed('a', etag, 100), isLatest: true, deleteMarker: false });
  const options = { origin: 'scan', endpoint: 'http://127.0.0.1:9030' } as const;
  const first = createdRecord('b', object('e'), options);
  const overwrite = createdRecord('b', object('new etag'), { ...options, sequencedAt: sequencedAt(same, startedAt) });
  assert.notEqual(eventIdentity(overwrite), eventIdentity(first));
  assert.ok(orderingKey(overwrite) > orderingKey(first));
});
