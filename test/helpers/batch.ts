// Batches for the targets' bulk path (sendBatch): many distinct objects, one object's history out of
// order, and the checks every target's batch test makes of the per-delivery results.
import assert from 'node:assert/strict';
import type { EventSpec } from '../../src/events';
import type { BatchSendResult, Delivery } from '../../src/targets/target';
import { deliveryOf } from './records';
import { shuffled } from './replay';

/** `count` puts of distinct objects (`batch/<n>.jpg`), one event each. */
export function distinctPuts(
  count: number,
  bucket = 'images',
  extra: Pick<EventSpec, 'userMetadata' | 'sequencer'> = {},
): Delivery[] {
  const base = Date.now();
  return Array.from({ length: count }, (_, n) =>
    deliveryOf({
      eventName: 's3:ObjectCreated:Put',
      bucket,
      key: `batch/${n}.jpg`,
      eventTime: new Date(base + n),
      ...extra,
    }),
  );
}

/**
 * One object's history (put, put, delete, put, put: the newest is a put of size 5), given shuffled with the
 * second put twice: `inOrder` is what the object went through, oldest first.
 */
export function oneObjectShuffled(
  bucket = 'images',
  key = 'hot.jpg',
): { batch: Delivery[]; inOrder: Delivery[]; newest: Delivery } {
  const base = Date.now();
  const at = (n: number) => new Date(base + n);
  const inOrder = [
    deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key, eventTime: at(0), size: 1 }),
    deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key, eventTime: at(1), size: 2 }),
    deliveryOf({ eventName: 's3:ObjectRemoved:Delete', bucket, key, eventTime: at(2) }),
    deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key, eventTime: at(3), size: 4 }),
    deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key, eventTime: at(4), size: 5 }),
  ];
  const batch = shuffled([...inOrder, inOrder[1]], 7);
  assert.notDeepEqual(
    batch.map((d) => d.eventId),
    inOrder.map((d) => d.eventId),
  ); // really out of order
  return { batch, inOrder, newest: inOrder[4] };
}

/** Every result ok, one per delivery. */
export function assertAllDelivered(results: BatchSendResult[], count: number): void {
  assert.equal(results.length, count);
  const failures = results.flatMap((r, n) => (r.ok ? [] : [`#${n}: ${r.error.message}`]));
  assert.deepEqual(failures, [], 'every delivery of the batch succeeds');
}

/** Exactly the deliveries at `failedAt` failed; returns their results. */
export function assertOnlyFailed(
  results: BatchSendResult[],
  failedAt: number[],
): Array<Extract<BatchSendResult, { ok: false }>> {
  const failedPositions = results.flatMap((r, n) => (r.ok ? [] : [n]));
  assert.deepEqual(failedPositions, failedAt, 'only the poisoned deliveries fail');
  return failedAt.map((n) => results[n] as Extract<BatchSendResult, { ok: false }>);
}

/** The ids in the order they arrived, each expected once, in the order of `expected`'s per-object sequencers. */
export function assertEachOnce(arrivedIds: Array<string | undefined>, expected: Delivery[]): void {
  assert.equal(arrivedIds.length, expected.length, `${expected.length} messages, each once`);
  assert.deepEqual([...arrivedIds].sort(), expected.map((d) => d.eventId).sort());
}
