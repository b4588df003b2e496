// The batch index (src/delivery/batch-index.ts) keeps a batch's search attributes under Temporal's 2 KB per
// value: the largest batch bucketflow allows fits whole, and a batch that would pass the budget is refused
// the event (the group commit then closes it), so no event of a batch is ever left unindexed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchIndex, INDEX_BUDGET_BYTES, bucketToken, eventToken, objectToken } from '../../src/delivery/batch-index';
import { MAX_BATCH_EVENTS } from '../../src/settings';
import { eventIdentity, buildEvent } from '../../src/events';

const eventId = (n: number) => eventIdentity(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: `k/${n}`, size: 1 }));

test('the largest batch allowed, each event its own object, fits both attributes', () => {
  const index = new BatchIndex();
  for (let n = 0; n < MAX_BATCH_EVENTS; n++) assert.ok(index.add(eventId(n), 'photos', `2026/11/28/image-${n}.jpg`), `event ${n}`);
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
