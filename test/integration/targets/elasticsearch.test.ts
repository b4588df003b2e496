// The Elasticsearch target against the stack's real Elasticsearch 8: the guide's `_search` hits with
// `_source.Records`, MinIO's namespace document ids, and the final state after shuffled, duplicated replays.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { HighwayHash } from 'highwayhasher';
import { endpoints } from '../../../scripts/stack/endpoints';
import { create, namespaceDocId } from '../../../src/targets/elasticsearch';
import { putAndDelete } from '../../helpers/records';
import { objectHistory, shuffled } from '../../helpers/replay';
import { assertConfigErrors, assertRetryable, freePort, targetConfig } from '../../helpers/target-config';
import { assertAllDelivered, assertOnlyFailed, distinctPuts, oneObjectShuffled } from '../../helpers/batch';
import { PermanentDeliveryError } from '../../../src/delivery/failure';
import { needs } from '../../helpers/needs';

const { after, test } = needs('elasticsearch');

const arn = 'arn:minio:sqs:us-east-1:1:elasticsearch';
const reader = new Client({ node: endpoints.elasticsearch });
const targets: Array<ReturnType<typeof create>> = [];
const indices: string[] = [];
after(async () => {
  await Promise.all(targets.map((t) => t.close()));
  await reader.indices.delete({ index: indices.flatMap((i) => [i, `bucketflow-seq-${i}`]), ignore_unavailable: true });
  await reader.close();
});

function target(format: 'access' | 'namespace') {
  const index = `bucketevents-${randomUUID().slice(0, 8)}`;
  indices.push(index);
  const t = create(arn, targetConfig('elasticsearch', { url: endpoints.elasticsearch, index, format }));
  targets.push(t);
  return { index, t };
}

/** The guide's `curl .../<index>/_search`: each hit's id and `_source`. */
async function hits(index: string) {
  await reader.indices.refresh({ index });
  const result = await reader.search({ index, size: 1000, sort: ['_doc'] });
  return result.hits.hits.map((hit) => ({ id: hit._id ?? '', source: hit._source }));
}

test("namespace: one document per object with MinIO's id, deleted on remove", async () => {
  const { index, t } = target('namespace');
  const [put, del] = putAndDelete('images', 'my photo.jpg');
  await t.send(put);
  assert.deepEqual(await hits(index), [
    { id: await namespaceDocId('images/my photo.jpg'), source: { Records: [put.record] } },
  ]);
  await t.send(del);
  assert.deepEqual(await hits(index), []);
});

test('namespace: shuffled, duplicated replays end in the newest state per object', async () => {
  const {
    events,
    survivors: [a, c],
  } = objectHistory();
  const expected = [
    { id: await namespaceDocId('images/a.jpg'), source: { Records: [a.record] } },
    { id: await namespaceDocId('images/c.jpg'), source: { Records: [c.record] } },
  ].sort((x, y) => x.id.localeCompare(y.id));
  for (const seed of [1, 2, 3, 4, 5]) {
    const { index, t } = target('namespace');
    if (seed === 5) {
      // A user's own index that forgets delete tombstones at once: the helper index alone must stop stale events.
      await reader.indices.create({ index, settings: { 'index.gc_deletes': '0s' } });
    }
    for (const d of shuffled([...events, ...events], seed)) await t.send(d);
    const found = (await hits(index)).sort((x, y) => x.id.localeCompare(y.id));
    assert.deepEqual(found, expected, `seed ${seed}`);
  }
});

test('access: one document {"Records":[record]} per event id, even when retried', async () => {
  const { index, t } = target('access');
  const [put, del] = putAndDelete();
  for (const d of [put, put, del, put, del]) await t.send(d);
  const found = (await hits(index)).sort((x, y) =>
    (x.source as { Records: [{ eventTime: string }] }).Records[0].eventTime.localeCompare(
      (y.source as { Records: [{ eventTime: string }] }).Records[0].eventTime,
    ),
  );
  assert.deepEqual(found, [
    { id: put.eventId, source: { Records: [put.record] } },
    { id: del.eventId, source: { Records: [del.record] } },
  ]);
});

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

test('sendBatch, access: 200 events in one _bulk, one document each (id = event id); the batch resent adds none', async () => {
  const { index, t } = target('access');
  const batch = distinctPuts(200);
  assertAllDelivered(await t.sendBatch(batch), 200);
  assertAllDelivered(await t.sendBatch([...batch].reverse()), 200);
  assert.deepEqual(
    (await hits(index)).sort(byId),
    batch.map((d) => ({ id: d.eventId, source: { Records: [d.record] } })).sort(byId),
  );
});

test("sendBatch, namespace: one object's history out of order in a batch leaves its newest state; an older batch changes nothing", async () => {
  const { index, t } = target('namespace');
  const { batch, inOrder, newest } = oneObjectShuffled();
  const neighbours = distinctPuts(50);
  assertAllDelivered(await t.sendBatch([...batch, ...neighbours]), batch.length + 50);
  const expected = await Promise.all(
    [newest, ...neighbours].map(async (d) => ({
      id: await namespaceDocId(d.envelope.Key),
      source: { Records: [d.record] },
    })),
  );
  assert.deepEqual((await hits(index)).sort(byId), expected.sort(byId));
  assertAllDelivered(await t.sendBatch(inOrder.slice(0, 3)), 3); // late, older events: delivered, and superseded
  assert.deepEqual((await hits(index)).sort(byId), expected);
});

test('sendBatch, namespace: shuffled, duplicated histories as one batch end in the newest state per object (tombstones kept or not)', async () => {
  const {
    events,
    survivors: [a, c],
  } = objectHistory();
  const expected = [
    { id: await namespaceDocId('images/a.jpg'), source: { Records: [a.record] } },
    { id: await namespaceDocId('images/c.jpg'), source: { Records: [c.record] } },
  ].sort(byId);
  for (const seed of [1, 2]) {
    const { index, t } = target('namespace');
    if (seed === 2) await reader.indices.create({ index, settings: { 'index.gc_deletes': '0s' } });
    // The first half alone, then everything again shuffled: late, older events meet deletes already applied.
    assertAllDelivered(await t.sendBatch(shuffled(events, seed).slice(0, 4)), 4);
    assertAllDelivered(await t.sendBatch(shuffled([...events, ...events], seed)), events.length * 2);
    assert.deepEqual((await hits(index)).sort(byId), expected, `seed ${seed}`);
  }
});

test("sendBatch, access: a document the index's mapping refuses fails alone, permanently; its neighbours are indexed", async () => {
  const { index, t } = target('access');
  // A user's index whose mapping types a metadata field as a number.
  await reader.indices.create({
    index,
    mappings: {
      properties: {
        Records: {
          properties: {
            s3: {
              properties: {
                object: { properties: { userMetadata: { properties: { 'X-Amz-Meta-Count': { type: 'integer' } } } } },
              },
            },
          },
        },
      },
    },
  });
  const batch = distinctPuts(20, 'images', { userMetadata: { 'X-Amz-Meta-Count': '7' } });
  batch[12] = distinctPuts(1, 'poison', { userMetadata: { 'X-Amz-Meta-Count': 'seven' } })[0];
  const [refused] = assertOnlyFailed(await t.sendBatch(batch), [12]);
  assert.ok(refused.permanent && refused.error instanceof PermanentDeliveryError);
  assert.match(
    refused.error.message,
    /^arn:minio:sqs:us-east-1:1:elasticsearch: elasticsearch http:\/\/127\.0\.0\.1:9200 index bucketevents-\w+: \w*(parsing|mapper)\w*_exception: .*X-Amz-Meta-Count/,
  );
  assert.equal((await hits(index)).length, 19);
});

test("sendBatch, namespace: a sequencer past ES's 63-bit versions fails alone, permanently", async () => {
  const { index, t } = target('namespace');
  const batch = distinctPuts(5);
  batch[2] = distinctPuts(1, 'poison', { sequencer: 'F'.repeat(32) })[0];
  const [tooLong] = assertOnlyFailed(await t.sendBatch(batch), [2]);
  assert.ok(tooLong.permanent);
  assert.match(
    tooLong.error.message,
    /^arn:minio:sqs:us-east-1:1:elasticsearch: s3\.object\.sequencer F+: exceeds Elasticsearch's 63-bit version$/,
  );
  assert.equal((await hits(index)).length, 4);
});

test("document ids use MinIO's HighwayHash-256 key (the hash of π's first 100 decimals under a zero key)", async () => {
  const pi = '1415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679';
  const hash = (await HighwayHash.loadModule()).hash256(new Uint8Array(32), Buffer.from(pi));
  assert.equal(Buffer.from(hash).toString('hex'), '4be734fa8e238acd263e83e6bb968552040f935da39f441497e09d1322de36a0');
  const id = await namespaceDocId('images/myphoto.jpg');
  assert.match(id, /^[A-Za-z0-9_-]{43}=$/); // Go's base64.URLEncoding of 32 bytes
  assert.equal(await namespaceDocId('images/myphoto.jpg'), id);
  assert.notEqual(await namespaceDocId('images/myphoto2.jpg'), id);
});

test('bad config names the ARN and field', () => {
  const valid = { url: endpoints.elasticsearch, index: 'bucketevents' };
  assertConfigErrors(arn, create, valid, [
    [{ url: 'localhost:9200' }, /url: unsupported scheme "localhost:" \(expected http: https:\)/],
    [{ url: 'not a url' }, /url: not a URL/],
    [{ index: 'BucketEvents' }, /index: not a valid Elasticsearch index name/],
    [{ index: '_events' }, /index: not a valid Elasticsearch index name/],
    [{ username: 'elastic' }, /password: username and password must be set together/],
  ]);
});

test('health: online against the real server, offline where nothing listens; a send there is retryable', async () => {
  assert.deepEqual(await target('access').t.health(), { online: true });
  const down = create(
    arn,
    targetConfig('elasticsearch', { url: `http://127.0.0.1:${await freePort()}`, index: 'bucketevents' }),
  );
  targets.push(down);
  assert.equal((await down.health()).online, false);
  await assertRetryable(down.send(putAndDelete()[0]), /elasticsearch http:\/\/127\.0\.0\.1:\d+ index bucketevents/);
});
