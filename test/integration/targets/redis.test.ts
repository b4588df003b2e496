// The Redis target against the stack's real Redis: the guide's list, the namespace hash, and the final
// state after shuffled, duplicated replays.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { endpoints } from '../../../scripts/stack/endpoints';
import { create } from '../../../src/targets/redis';
import { putAndDelete } from '../../helpers/records';
import { objectHistory, shuffled } from '../../helpers/replay';
import { assertConfigErrors, freePort, targetConfig } from '../../helpers/target-config';
import { assertAllDelivered, distinctPuts, oneObjectShuffled } from '../../helpers/batch';
import { needs } from '../../helpers/needs';

const { after, test } = needs('redis');

const arn = 'arn:minio:sqs:us-east-1:1:redis';
const [host, port] = endpoints.redis.split(':');
const reader = new Redis({ host, port: Number(port) });
const targets: Array<ReturnType<typeof create>> = [];
after(async () => {
  await Promise.all(targets.map((t) => t.close()));
  reader.disconnect();
});

function target(format: 'access' | 'namespace') {
  const key = `bucketevents-${randomUUID().slice(0, 8)}`;
  const t = create(arn, targetConfig('redis', { address: endpoints.redis, key, format }));
  targets.push(t);
  return { key, t };
}

test('access: RPUSH of {"Records":[record]} per event, as the guide shows', async () => {
  const { key, t } = target('access');
  const [put, del] = putAndDelete();
  await t.send(put);
  await t.send(del);
  const list = await reader.lrange(key, 0, -1);
  assert.deepEqual(
    list.map((item) => JSON.parse(item)),
    [{ Records: [put.record] }, { Records: [del.record] }],
  );
});

test('access: a retried event is pushed once', async () => {
  const { key, t } = target('access');
  const [put, del] = putAndDelete();
  for (const d of [put, put, del, put, del]) await t.send(d);
  assert.equal(await reader.llen(key), 2);
});

test('namespace: one hash field per object, removed on delete', async () => {
  const { key, t } = target('namespace');
  const [put, del] = putAndDelete('images', 'my photo.jpg');
  await t.send(put);
  assert.deepEqual(await reader.hgetall(key), { 'images/my photo.jpg': JSON.stringify({ Records: [put.record] }) });
  await t.send(del);
  assert.deepEqual(await reader.hgetall(key), {});
});

test('namespace: shuffled, duplicated replays end in the newest state per object', async () => {
  const {
    events,
    survivors: [a, c],
  } = objectHistory();
  const expected = {
    'images/a.jpg': JSON.stringify({ Records: [a.record] }),
    'images/c.jpg': JSON.stringify({ Records: [c.record] }),
  };
  for (const seed of [1, 2, 3, 4, 5]) {
    const { key, t } = target('namespace');
    for (const d of shuffled([...events, ...events], seed)) await t.send(d);
    assert.deepEqual(await reader.hgetall(key), expected, `seed ${seed}`);
  }
});

test('sendBatch, access: 200 events in one pipeline are pushed once each, in order; the batch resent pushes nothing', async () => {
  const { key, t } = target('access');
  const batch = distinctPuts(200);
  assertAllDelivered(await t.sendBatch(batch), 200);
  assertAllDelivered(await t.sendBatch([...batch].reverse()), 200);
  const list = await reader.lrange(key, 0, -1);
  assert.deepEqual(
    list.map((item) => JSON.parse(item)),
    batch.map((d) => ({ Records: [d.record] })),
  );
});

test("sendBatch, namespace: one object's history out of order in a batch leaves its newest state; an older batch changes nothing", async () => {
  const { key, t } = target('namespace');
  const { batch, inOrder, newest } = oneObjectShuffled();
  const neighbours = distinctPuts(50);
  assertAllDelivered(await t.sendBatch([...batch, ...neighbours]), batch.length + 50);
  const expected = {
    'images/hot.jpg': JSON.stringify({ Records: [newest.record] }),
    ...Object.fromEntries(neighbours.map((d) => [d.envelope.Key, JSON.stringify({ Records: [d.record] })])),
  };
  assert.deepEqual(await reader.hgetall(key), expected);
  assertAllDelivered(await t.sendBatch(inOrder.slice(0, 3)), 3); // late, older events: delivered, and superseded
  assert.deepEqual(await reader.hgetall(key), expected);
});

test('sendBatch, namespace: shuffled, duplicated histories as one batch end in the newest state per object', async () => {
  const {
    events,
    survivors: [a, c],
  } = objectHistory();
  for (const seed of [1, 2, 3]) {
    const { key, t } = target('namespace');
    assertAllDelivered(await t.sendBatch(shuffled([...events, ...events], seed)), events.length * 2);
    assert.deepEqual(
      await reader.hgetall(key),
      {
        'images/a.jpg': JSON.stringify({ Records: [a.record] }),
        'images/c.jpg': JSON.stringify({ Records: [c.record] }),
      },
      `seed ${seed}`,
    );
  }
});

test('sendBatch: a key of the wrong type fails every event of the batch permanently (each script call answers WRONGTYPE)', async () => {
  const { key, t } = target('access');
  await reader.set(key, 'not a list');
  const results = await t.sendBatch(distinctPuts(3));
  assert.deepEqual(
    results.map((r) => !r.ok && r.permanent),
    [true, true, true],
  );
  assert.match((results[0] as { error: Error }).error.message, /WRONGTYPE/);
  await reader.del(key);
});

test('bad config names the ARN and field', () => {
  const valid = { address: endpoints.redis, key: 'k' };
  assertConfigErrors(arn, create, valid, [
    [{ address: 'localhost:redis' }, /address: expected host:port/],
    [{ address: ':6379' }, /address: expected host:port/],
  ]);
});

test('health: online against the real server, offline where nothing listens; a send there is retryable', async () => {
  assert.deepEqual(await target('access').t.health(), { online: true });
  const down = create(arn, targetConfig('redis', { address: `127.0.0.1:${await freePort()}`, key: 'k' }));
  targets.push(down);
  const health = await down.health();
  assert.equal(health.online, false);
  await assert.rejects(
    down.send(putAndDelete()[0]),
    (err: Error) => err.name === 'Error' && /redis 127\.0\.0\.1/.test(err.message),
  );
});
