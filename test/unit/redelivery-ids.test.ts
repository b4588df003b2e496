// Redelivery ids: each generation's id is derived from the original's, and the status page's form finds the
// generation that redelivers the run its row shows from that run's id alone (anything else is not a redelivery
// of that original), so the same row posted twice names the same generation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generationAfter, redeliveryIdOf } from '../../src/operator/deliveries/redeliver';

const original = 'bucketflow-0123456789abcdef0123456789abcdef';

test('generation 1 keeps the id redeliveries always had; later ones are numbered', () => {
  assert.equal(redeliveryIdOf(original), `${original}-redelivery`);
  assert.equal(redeliveryIdOf(original, 1), `${original}-redelivery`);
  assert.equal(redeliveryIdOf(original, 2), `${original}-redelivery-2`);
  assert.equal(redeliveryIdOf(original, 17), `${original}-redelivery-17`);
});

test('the generation after a run: 1 after the original, k + 1 after the k-th redelivery, round trip through the ids', () => {
  assert.equal(generationAfter(original, original), 1);
  for (let generation = 1; generation <= 30; generation++)
    assert.equal(generationAfter(original, redeliveryIdOf(original, generation)), generation + 1);
});

test('ids that are not a redelivery of that original name no generation', () => {
  for (const id of [
    `${original}-redelivery-1`,
    `${original}-redelivery-02`,
    `${original}-redelivery-`,
    `${original}-redelivery-x`,
    `${original}-redelivery-2-redelivery`,
    `${original}x-redelivery`,
    'bucketflow-ffffffffffffffffffffffffffffffff-redelivery',
    `${original}-redelivery-9999999`,
  ]) {
    assert.equal(generationAfter(original, id), undefined, id);
  }
});
