// The bulk path every target shares (src/targets/send.ts), over a driver that records what it was asked
// to send: send order per object, repeated event ids, results mapped back, failures, the single send.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bulkTarget, DELIVERED, failed, forEachBounded, sendOrder } from '../../src/targets/send';
import { PermanentDeliveryError } from '../../src/delivery/failure';
import type { BatchSendResult, Delivery } from '../../src/targets/target';
import { distinctPuts, oneObjectShuffled } from '../helpers/batch';

const ARN = 'arn:minio:sqs:us-east-1:1:webhook';

/** A driver that answers from `answer` per event and records each bulk send it was given. */
function recording(answer: (d: Delivery) => BatchSendResult | 'throw' = () => DELIVERED) {
  const sent: Delivery[][] = [];
  const target = bulkTarget({
    arn: ARN,
    async sendOrdered(ordered) {
      sent.push(ordered);
      const answers = ordered.map(answer);
      if (answers.includes('throw')) throw new PermanentDeliveryError(`${ARN}: refused the lot`);
      return answers as BatchSendResult[];
    },
    health: async () => ({ online: true }),
    close: async () => undefined,
  });
  return { target, sent };
}

test("sendOrder: one object's events go oldest first in the positions they had; other objects stay where they were", () => {
  const { batch, inOrder } = oneObjectShuffled();
  const [a, b] = distinctPuts(2, 'other');
  const given = [a, batch[0], batch[1], b, ...batch.slice(2)];
  const { ordered, positionOf } = sendOrder(given);
  const hot = new Set(inOrder.map((d) => d.eventId));
  assert.equal(ordered.length, given.length - 1); // the repeated event once
  assert.equal(ordered[0], a);
  assert.equal(ordered[3], b);
  assert.deepEqual(
    ordered.filter((d) => hot.has(d.eventId)),
    inOrder,
  );
  given.forEach((d, n) => assert.equal(ordered[positionOf[n]].eventId, d.eventId, `input ${n}`));
});

test('sendBatch: one result per delivery in input order; a repeated event id is sent once and both get its result', async () => {
  const batch = distinctPuts(6);
  const refused = batch[4];
  const { target, sent } = recording((d) => (d === refused ? failed(new PermanentDeliveryError('no')) : DELIVERED));
  const results = await target.sendBatch([...batch, batch[4], batch[1]]);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].length, 6);
  assert.deepEqual(
    results.map((r) => r.ok),
    [true, true, true, true, false, true, false, true],
  );
  assert.deepEqual(
    results.map((r) => !r.ok && r.permanent),
    [false, false, false, false, true, false, true, false],
  );
});

test('sendBatch: a driver that throws fails every delivery with that error; it never rejects', async () => {
  const { target } = recording(() => 'throw');
  const results = await target.sendBatch(distinctPuts(3));
  assert.deepEqual(
    results.map((r) => !r.ok && r.permanent && r.error.message),
    [`${ARN}: refused the lot`, `${ARN}: refused the lot`, `${ARN}: refused the lot`],
  );
  assert.deepEqual(await target.sendBatch([]), []);
});

test("send is a batch of one: resolves when delivered, throws the delivery's own error", async () => {
  const [ok, bad] = distinctPuts(2);
  const { target, sent } = recording((d) => (d === bad ? failed(new Error(`${ARN}: answered 503`)) : DELIVERED));
  await target.send(ok);
  await assert.rejects(
    target.send(bad),
    (err: Error) => !(err instanceof PermanentDeliveryError) && err.message === `${ARN}: answered 503`,
  );
  assert.deepEqual(
    sent.map((s) => s.length),
    [1, 1],
  );
});

test('forEachBounded: starts items in order, never more than the limit at once', async () => {
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  await forEachBounded([...Array(20).keys()], 4, async (n) => {
    started.push(n);
    peak = Math.max(peak, ++running);
    await new Promise((resolve) => setTimeout(resolve, 1 + (n % 3)));
    running--;
  });
  assert.deepEqual(started, [...Array(20).keys()]);
  assert.equal(peak, 4);
});
