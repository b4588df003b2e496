// Needs the stack's PostgreSQL (the file store needs nothing). The scan sources' state in both stores, by the same
// assertions: definitions and last runs; a listing written page by page, read back in S3's key order (UTF-8 bytes:
// an emoji after U+FFFF-less keys), a page at a time from a position; a run resumed from a heartbeated position
// (the file store cuts what was written after it and swaps the new file in; PostgreSQL updates in place, only
// what changed) ends with a listing of every key once, in its new state; in the file store a position whose
// listing was swapped since is refused (the run starts over), in place it reads the listing as it now is; the delivered
// states keep the newest state of each object whatever order the
// writes come in, are read by prefix, and survive several folds (the file store's logs folded by an external sort).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { endpoints } from '../../scripts/stack/endpoints';
import { compareObjectKeys } from '../../src/events/record';
import {
  FileStateStore,
  PostgresStateStore,
  StalePositionError,
  scanDefinition,
  type DeliveredState,
  type ListedState,
  type StateStore,
} from '../../src/state';
import { needs } from '../helpers/needs';

const { after, describe, test } = needs('postgres');

const table = `bucketflow_scan_test_${process.pid}_${Date.now()}`;
const stores: Array<{ name: string; open: () => Promise<StateStore> }> = [
  {
    name: 'file store',
    open: async () => new FileStateStore(await mkdtemp(path.join(tmpdir(), 'bucketflow-scan-state-'))),
  },
  { name: 'PostgreSQL store', open: async () => new PostgresStateStore(endpoints.postgres, table) },
];
const opened: StateStore[] = [];

after(async () => {
  for (const store of opened) {
    await store.close();
    if (store instanceof FileStateStore) await rm(path.dirname(store.file), { recursive: true, force: true });
  }
  if (opened.some((store) => store instanceof PostgresStateStore)) {
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: endpoints.postgres });
    await admin.connect();
    for (const suffix of ['', '_target_state', '_sent', '_scans', '_scan_listing', '_delivered'])
      await admin.query(`DROP TABLE IF EXISTS ${table}${suffix}`);
    await admin.end();
  }
});

/** Keys in S3's order: by UTF-8 bytes ('Z' < 'a' < 'é' < '中' < 'ﬀ' < '😀', where UTF-16 order puts the emoji before
 * 'ﬀ'), as a server lists them. */
const KEYS = ['A', 'Z', 'a', 'a/b', 'a0', 'é', '中', 'ﬀ', '😀'];
const listed = (key: string, etag = `e-${key}`): ListedState => ({
  key,
  etag,
  size: key.length,
  lastModified: '2026-01-01T00:00:00.000Z',
});
/** A page whose every entry is new or changed (as a scan's diff says). */
const changed = (entries: ListedState[]) => ({ upserted: entries, removed: [] });
const page = (keys: string[], etag?: string) => {
  const entries = keys.map((key) => listed(key, etag));
  return [entries, changed(entries)] as const;
};
const delivered = (
  bucket: string,
  key: string,
  sequencer: string,
  extra: Partial<DeliveredState> = {},
): DeliveredState => ({
  bucket,
  key,
  etag: `e-${key}-${sequencer}`,
  size: 1,
  sequencer: sequencer.padStart(32, '0'),
  removed: false,
  at: 1,
  ...extra,
});

for (const { name, open } of stores) {
  describe(name, () => {
    let store: StateStore;
    const scans = () => store.scans();

    test("the keys here are in S3's order", () => {
      assert.deepEqual(
        [...KEYS].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
        KEYS,
      );
      assert.deepEqual([...KEYS].sort(compareObjectKeys), KEYS);
      assert.notDeepEqual([...KEYS].sort(), KEYS, 'UTF-16 order differs');
    });

    test('keeps definitions and last runs', async () => {
      store = await open();
      opened.push(store);
      const scan = scanDefinition('photos', { every: '5m', prefix: 'raw/', reconcile: true, settle: '30s' });
      await scans().put(scan);
      assert.deepEqual(await scans().get(scan.id), scan);
      assert.deepEqual(
        (await scans().list()).map((s) => s.id),
        [scan.id],
      );
      const run = {
        workflowId: 'w',
        startedAt: 'a',
        finishedAt: 'b',
        listed: 3,
        created: 1,
        changed: 0,
        removed: 0,
        published: 1,
        baseline: false,
      };
      await scans().setLastRun(scan.id, run);
      assert.deepEqual((await scans().lastRuns())[scan.id], run);
      assert.equal(await scans().remove(scan.id), true);
      assert.equal(await scans().remove(scan.id), false);
      assert.equal(await scans().get(scan.id), undefined);
    });

    test('a listing is written page by page, read in key order a page at a time, and swapped in at commit', async () => {
      const scan = scanDefinition('listing-bucket', { every: '1m' });
      await scans().put(scan);
      const first = await scans().openListing(scan.id);
      assert.equal(first.hasPrevious, false);
      assert.deepEqual(await first.readUpTo(undefined, 10), []);
      await first.append(...page(KEYS.slice(0, 4)));
      await first.append(...page(KEYS.slice(4)));
      await first.commit();
      await first.close();

      const second = await scans().openListing(scan.id);
      assert.equal(second.hasPrevious, true);
      assert.deepEqual(
        (await second.readUpTo('a', 100)).map((e) => e.key),
        ['A', 'Z', 'a'],
      );
      assert.deepEqual(
        (await second.readUpTo('é', 1)).map((e) => e.key),
        ['a/b'],
        'at most the limit',
      );
      const position = JSON.parse(JSON.stringify(second.position()));
      assert.deepEqual(
        (await second.readUpTo(undefined, 100)).map((e) => e.key),
        ['a0', 'é', '中', 'ﬀ', '😀'],
      );
      await second.close();

      // Read again from the heartbeated position: the rest, exactly.
      const resumed = await scans().openListing(scan.id, { ...(position as object) });
      assert.deepEqual(
        (await resumed.readUpTo(undefined, 100)).map((e) => e.key),
        ['a0', 'é', '中', 'ﬀ', '😀'],
      );
      await resumed.close();
      assert.equal(await scans().remove(scan.id), true);
    });

    test('a run resumed from its last heartbeated position writes every key once', async () => {
      const scan = scanDefinition('resume-bucket', { every: '1m' });
      await scans().put(scan);
      const setup = await scans().openListing(scan.id);
      await setup.append(...page(KEYS, 'old'));
      await setup.commit();
      await setup.close();

      // A run: page one done and heartbeated, page two written (not heartbeated), then its worker dies.
      const run = await scans().openListing(scan.id);
      await run.readUpTo('a', 100);
      await run.append(...page(['A', 'Z', 'a'], 'new'));
      const heartbeated = JSON.parse(JSON.stringify(run.position()));
      await run.readUpTo('é', 100);
      await run.append(...page(['a/b', 'a0', 'é'], 'new'));
      await run.close();

      // The retry resumes there: page two again, then the rest.
      const retry = await scans().openListing(scan.id, heartbeated);
      // From where the heartbeat says (in place, page two reads as it was written: unchanged).
      const again = await retry.readUpTo('é', 100);
      assert.deepEqual(
        again.map((e) => e.key),
        ['a/b', 'a0', 'é'],
      );
      const pageTwo = page(['a/b', 'a0', 'é'], 'new');
      await retry.append(pageTwo[0], changed(pageTwo[0].filter((entry, i) => entry.etag !== again[i].etag)));
      assert.deepEqual(
        (await retry.readUpTo(undefined, 100)).map((e) => [e.key, e.etag]),
        [
          ['中', 'old'],
          ['ﬀ', 'old'],
          ['😀', 'old'],
        ],
      );
      await retry.append(...page(['中', 'ﬀ', '😀'], 'new'));
      await retry.commit();
      await retry.close();

      const after = await scans().openListing(scan.id);
      assert.deepEqual(
        (await after.readUpTo(undefined, 100)).map((e) => [e.key, e.etag]),
        KEYS.map((key) => [key, 'new']),
      );
      await after.close();
      // Once committed, a retry holding that heartbeat: the file store refuses it (the run starts over rather than
      // read a swapped file at a wrong place); in place, it reads the listing as it now is.
      if (store instanceof FileStateStore)
        await assert.rejects(scans().openListing(scan.id, heartbeated), StalePositionError);
      else {
        const late = await scans().openListing(scan.id, heartbeated);
        assert.deepEqual(
          (await late.readUpTo(undefined, 100)).map((e) => e.etag),
          KEYS.slice(3).map(() => 'new'),
        );
        await late.close();
      }
      await scans().remove(scan.id);
    });

    test('delivered states: the newest state of each object wins, read in key order by prefix, across folds', async () => {
      const bucket = 'delivered-bucket';
      await scans().put(scanDefinition(bucket, { every: '1m', reconcile: true }));
      await scans().recordDelivered([
        delivered(bucket, 'p/b', '5'),
        delivered(bucket, 'p/a', '2'),
        delivered('other-bucket', 'p/a', '9'),
      ]);
      await scans().recordDelivered([delivered(bucket, 'p/a', '1'), delivered(bucket, 'q/z', '1')]); // an older state of p/a arrives late
      const read = async (prefix: string) => {
        const reader = await scans().openDelivered(bucket, prefix);
        const all = await reader.readUpTo(undefined, 100);
        await reader.close();
        return all.map((state) => [state.key, state.sequencer.replace(/^0+/, ''), state.removed]);
      };
      assert.deepEqual(await read('p/'), [
        ['p/a', '2', false],
        ['p/b', '5', false],
      ]);
      await scans().recordDelivered([
        delivered(bucket, 'p/b', '6', { removed: true, etag: '', size: 0 }),
        delivered(bucket, 'p/c', '1'),
      ]);
      assert.deepEqual(await read('p/'), [
        ['p/a', '2', false],
        ['p/b', '6', true],
        ['p/c', '1', false],
      ]);
      assert.deepEqual(await read(''), [
        ['p/a', '2', false],
        ['p/b', '6', true],
        ['p/c', '1', false],
        ['q/z', '1', false],
      ]);
      assert.deepEqual(await read('zz'), []);
      // A resumed read goes on from its position.
      const reader = await scans().openDelivered(bucket, 'p/');
      assert.deepEqual(
        (await reader.readUpTo('p/a', 100)).map((s) => s.key),
        ['p/a'],
      );
      const position = JSON.parse(JSON.stringify(reader.position()));
      await reader.close();
      const resumed = await scans().openDelivered(bucket, 'p/', position);
      assert.deepEqual(
        (await resumed.readUpTo(undefined, 100)).map((s) => s.key),
        ['p/b', 'p/c'],
      );
      await resumed.close();
    });
  });
}
