// The batch index (src/delivery/batch-index.ts) keeps a batch's search attributes under Temporal's 2 KB per
// value: the largest batch bucketflow allows fits whole, and a batch that would pass the budget is refused
// the event (the group commit then closes it), so no event of a batch is ever left unindexed. Its memo (every
// event's id, bucket, key and name) is bounded the same way, by MEMO_BUDGET_BYTES, the worker's memo warning limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BatchIndex,
  INDEX_BUDGET_BYTES,
  MEMO_BUDGET_BYTES,
  MEMO_WARN_BYTES,
  bucketToken,
  eventToken,
  objectToken,
  type BatchMemoEvent,
} from '../../src/delivery/batch-index';
import { MAX_BATCH_EVENTS } from '../../src/settings';
import { EVENT_NAMES, eventIdentity, buildEvent } from '../../src/events';

const eventId = (n: number) =>
  eventIdentity(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: `k/${n}`, size: 1 }));

test('the largest batch allowed, each event its own object, fits both attributes', () => {
  const index = new BatchIndex();
  for (let n = 0; n < MAX_BATCH_EVENTS; n++)
    assert.ok(index.add(eventId(n), 'photos', `2026/11/28/image-${n}.jpg`), `event ${n}`);
  assert.equal(index.events.size, MAX_BATCH_EVENTS);
  assert.ok(Buffer.byteLength(index.eventsText()) <= INDEX_BUDGET_BYTES);
  assert.ok(Buffer.byteLength(index.objectsText()) <= INDEX_BUDGET_BYTES);
  assert.ok(index.objectsText().split(' ').includes(bucketToken('photos')));
  assert.ok(index.objectsText().split(' ').includes(objectToken('photos', '2026/11/28/image-7.jpg')));
});

test('an event that would pass the budget is refused and nothing of it is added', () => {
  const index = new BatchIndex();
  let n = 0;
  // Every event in a bucket of its own: the bucket tokens fill the objects attribute first.
  while (index.add(eventId(n), `bucket-${n}`, 'key')) n++;
  assert.ok(n > 50 && n < MAX_BATCH_EVENTS, `${n} events fitted`);
  const before = index.objectsText();
  assert.equal(index.add(eventId(n + 1), `bucket-${n + 1}`, 'key'), false);
  assert.equal(index.objectsText(), before);
  assert.ok(!index.eventsText().includes(eventToken(eventId(n + 1))));
  assert.ok(Buffer.byteLength(index.objectsText()) <= INDEX_BUDGET_BYTES);
});

test('tokens: 8 hex characters, the same for the same object, different for another', () => {
  assert.match(objectToken('b', 'a.jpg'), /^[0-9a-f]{8}$/);
  assert.match(bucketToken('b'), /^b[0-9a-f]{8}$/);
  assert.equal(objectToken('b', 'a.jpg'), objectToken('b', 'a.jpg'));
  assert.notEqual(objectToken('b', 'a.jpg'), objectToken('b', 'b.jpg'));
  assert.equal(eventToken('ABCDEF0123456789abcdef0123456789'), 'abcdef01');
});

/** The memo a batch of these events carries, with the longest event name for each (the worst case). */
function memoOf(events: Array<{ id: string; bucket: string; key: string }>): number {
  const longest = [...EVENT_NAMES].sort((a, b) => b.length - a.length)[0];
  const memo: { events: BatchMemoEvent[] } = { events: events.map((e) => ({ ...e, event: longest })) };
  return Buffer.byteLength(JSON.stringify(memo));
}

/** Adds events of `key(n)` until the index refuses one; the events it took. */
function fill(
  index: BatchIndex,
  key: (n: number) => string,
  limit = MAX_BATCH_EVENTS,
): Array<{ id: string; bucket: string; key: string }> {
  const taken = [];
  for (let n = 0; n < limit; n++) {
    const event = { id: eventId(n), bucket: 'photos', key: key(n) };
    if (!index.add(event.id, event.bucket, event.key)) break;
    taken.push(event);
  }
  return taken;
}

test('the memo: the largest batch with keys of a usual length fits; long keys close the batch within the budget, never over it', () => {
  const usual = fill(
    new BatchIndex(),
    (n) => `uploads/2026/11/28/camera-7/IMG_${String(n).padStart(6, '0')}-original.jpeg`,
  );
  assert.equal(usual.length, MAX_BATCH_EVENTS);
  assert.ok(
    memoOf(usual) > 2_048,
    'over the 2 KB Temporal suggests: answered by the bound, not by cutting batches to ~12 events',
  );
  for (const keyLength of [300, 1024]) {
    const index = new BatchIndex();
    const taken = fill(index, (n) => `${n}/`.padEnd(keyLength, 'k'), 10_000);
    assert.ok(taken.length > 10 && taken.length < MAX_BATCH_EVENTS, `${taken.length} events of ${keyLength}-byte keys`);
    assert.ok(
      memoOf(taken) <= index.memoBytes && index.memoBytes <= MEMO_BUDGET_BYTES,
      `${memoOf(taken)} <= ${index.memoBytes} <= ${MEMO_BUDGET_BYTES}`,
    );
    // Keys of other scripts and escapes count as their JSON bytes.
    const wide = new BatchIndex();
    const wideTaken = fill(wide, (n) => `${n}/`.padEnd(keyLength, 'ü\n'), 10_000);
    assert.ok(memoOf(wideTaken) <= MEMO_BUDGET_BYTES, `${memoOf(wideTaken)} bytes`);
  }
  assert.ok(MEMO_WARN_BYTES > MEMO_BUDGET_BYTES);
  // A first event always fits, however long its key: a batch of one.
  assert.equal(new BatchIndex().add(eventId(1), 'b', 'k'.repeat(200_000)), true);
});
