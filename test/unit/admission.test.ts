// Admission control's accounting (src/publish/admission.ts), the moments the real stack rarely shows: an event's
// own delivery held until its sink call; a batch's events held by the batch from the hand-over until its first
// task is over, also when that task ended first or when two bodies share the batch; an event the batch continues
// held by its own workflow, above the bound; a standalone ingest holding starts only; the lease; the Kafka
// source's publish in parts of the bound, waiting for room between them, and giving up; a caller waiting for room
// woken by the next release (a backfill's chunk).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workflowIdFor, type PublishedEvent } from '../../src/publish/publisher';
import { buildEvent, eventIdentity, type ParsedEvent } from '../../src/events';
import { DeliveryAdmission } from '../../src/publish/admission';

const ids = (...names: string[]) => names.map((name) => `bucketflow-${name}`);

test('an event whose own workflow started is held until that workflow reports; duplicates and failed starts leave at once', () => {
  const admission = new DeliveryAdmission(4);
  assert.ok(admission.tryEnter(ids('a', 'b', 'c')));
  admission.leave(
    ids('a', 'b', 'c'),
    new Map([
      ['bucketflow-a', 'bucketflow-a'],
      ['bucketflow-b', 'bucketflow-b'],
    ]),
  );
  assert.equal(admission.count, 2);
  assert.ok(!admission.tryEnter(ids('d', 'e', 'f')), 'over the bound');
  admission.released('bucketflow-a');
  admission.released('bucketflow-a'); // the sink is called twice by a delivery that fell back
  assert.equal(admission.count, 1);
  admission.close();
});

test('a batch holds the events handed to it until its first task is over', () => {
  const admission = new DeliveryAdmission(4);
  const batch = 'bucketflow-batch-1';
  assert.ok(admission.tryEnter(ids('a', 'b', 'c')));
  admission.leave(ids('a', 'b', 'c'), new Map(ids('a', 'b', 'c').map((id) => [id, batch])));
  assert.equal(admission.count, 3, 'the batch start returned: its events still count');
  assert.ok(!admission.tryEnter(ids('d', 'e')), 'over the bound while the batch runs');
  assert.ok(admission.tryEnter(ids('d')));
  admission.leave(ids('d'), new Map([['bucketflow-d', batch]]));
  assert.equal(admission.count, 4);
  admission.batchOver(batch);
  assert.equal(admission.count, 0);
  admission.close();
});

test('a batch over before (or between) the hand-overs of its bodies holds nothing afterwards', () => {
  const admission = new DeliveryAdmission(10);
  const batch = 'bucketflow-batch-2';
  assert.ok(admission.tryEnter(ids('a', 'b')));
  assert.ok(admission.tryEnter(ids('c')));
  admission.leave(ids('a', 'b'), new Map(ids('a', 'b').map((id) => [id, batch])));
  assert.equal(admission.count, 3);
  admission.batchOver(batch);
  assert.equal(admission.count, 1, 'the second body has not handed its event over yet');
  admission.leave(ids('c'), new Map([['bucketflow-c', batch]]));
  assert.equal(admission.count, 0, 'handed to a batch already over');
  admission.close();
});

test('an event the batch continues is held by its own workflow, whatever the bound, until that reports', () => {
  const admission = new DeliveryAdmission(2);
  const batch = 'bucketflow-batch-3';
  assert.ok(admission.tryEnter(ids('a', 'b')));
  admission.leave(ids('a', 'b'), new Map(ids('a', 'b').map((id) => [id, batch])));
  admission.hold('bucketflow-a');
  assert.equal(admission.count, 3);
  admission.batchOver(batch);
  assert.equal(admission.count, 1);
  assert.ok(!admission.tryEnter(ids('c', 'd')));
  admission.released('bucketflow-a');
  assert.equal(admission.count, 0);
  admission.close();
});

test('a standalone ingest (no worker reporting back) holds only the starts under way, batches too', () => {
  const admission = new DeliveryAdmission(4, false);
  assert.ok(admission.tryEnter(ids('a', 'b')));
  assert.equal(admission.count, 2);
  admission.leave(
    ids('a', 'b'),
    new Map([
      ['bucketflow-a', 'bucketflow-a'],
      ['bucketflow-b', 'bucketflow-batch-4'],
    ]),
  );
  assert.equal(admission.count, 0);
  admission.close();
});

test('what no workflow reports on is let go after the lease, a batch with all its events', async () => {
  const admission = new DeliveryAdmission(4, true, 50);
  assert.ok(admission.tryEnter(ids('a', 'b', 'c')));
  admission.leave(
    ids('a', 'b', 'c'),
    new Map([
      ['bucketflow-a', 'bucketflow-a'],
      ['bucketflow-b', 'bucketflow-batch-5'],
      ['bucketflow-c', 'bucketflow-batch-5'],
    ]),
  );
  assert.equal(admission.count, 3);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(admission.count, 0);
  admission.close();
});

test('the Kafka source’s publish: a fetch bigger than the bound goes in parts, each once there is room; giving up starts no more', async () => {
  const events = Array.from({ length: 5 }, (_, n) => ({
    source: 'minio' as const,
    record: buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: `k${n}` }),
  }));
  const admission = new DeliveryAdmission(2);
  const parts: number[] = [];
  let waits = 0;
  const start = async (part: readonly ParsedEvent[]): Promise<PublishedEvent[]> => {
    parts.push(part.length);
    return part.map((event) => {
      const eventId = eventIdentity(event.record);
      return { eventId, workflowId: workflowIdFor(eventId), duplicate: false };
    });
  };
  // Each wait lets the deliveries held so far end, as their workflows' sink calls would.
  const wait = async () => {
    waits++;
    events.forEach((event) => admission.released(workflowIdFor(eventIdentity(event.record))));
    return true;
  };
  const accepted = await admission.publishWhenRoom(events, start, wait);
  assert.deepEqual(parts, [2, 2, 1]);
  assert.equal(waits, 2, 'each part after the first waited for room');
  assert.equal(accepted?.length, 5);
  assert.equal(admission.count, 1, 'the last part is held by its delivery');

  const full = new DeliveryAdmission(2);
  assert.ok(full.tryEnter(ids('x', 'y')));
  parts.length = 0;
  assert.equal(
    await full.publishWhenRoom(events, start, async () => false),
    undefined,
    'the source lost its partition',
  );
  assert.deepEqual(parts, [], 'nothing started');
  assert.equal(full.count, 2);
  admission.close();
  full.close();
});

test('nextRelease wakes a caller waiting for room the moment a delivery is let go, else after its longest wait', async () => {
  const admission = new DeliveryAdmission(1);
  assert.ok(admission.tryEnter(ids('a')));
  admission.leave(ids('a'), new Map([['bucketflow-a', 'bucketflow-a']]));
  const started = Date.now();
  const woken = admission.nextRelease(5_000);
  setTimeout(() => admission.released('bucketflow-a'), 50);
  await woken;
  assert.ok(Date.now() - started < 1_000, `woken by the release, not the timer (${Date.now() - started} ms)`);
  const waited = Date.now();
  await admission.nextRelease(100);
  assert.ok(Date.now() - waited >= 90, 'nothing let go: back after its longest wait');
  admission.close();
});
