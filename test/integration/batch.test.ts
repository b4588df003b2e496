// The high-volume mode on the real engine (BUCKETFLOW_BATCH_MAX_EVENTS > 1): events published together go
// into one batch workflow by group commit and reach real targets (a webhook receiver, Redis and PostgreSQL)
// in its first workflow task; an event a target refuses leaves the batch for its own per-event delivery
// while the others complete; each publish resolves only once its batch is started; duplicates are dropped.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { DELIVER_BATCH, DELIVER_EVENT_V3 } from '../../src/delivery/workflow-types';
import type { BatchResult, DeliveryResult } from '../../src/delivery/types';
import { BucketflowClient } from '../../src/publish/publisher';
import { messageWithCause } from '../../src/errors';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { eventTypes } from '../helpers/history';
import { Receiver } from '../helpers/receiver';
import { cliFor, eventually } from '../helpers/cli';
import { needs } from '../helpers/needs';

const { after, before, describe, test } = needs('temporal', 'redis');

const arn = (id: string, type = 'webhook') => `arn:minio:sqs:us-east-1:${id}:${type}`;
const put = (bucket: string, key: string, sequencer?: string): S3EventRecord =>
  buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key, size: 1, ...(sequencer ? { sequencer } : {}) });

describe('batch mode', () => {
  const bucket = uniqueBucket('batch');
  const redisKey = `bucketflow-test-${bucket}`;
  let engine: Engine;
  let hooks: Receiver;
  let picky: Receiver;
  let once: Receiver;
  let redis: Redis;

  before(async () => {
    hooks = await Receiver.start();
    // Only objects under picky/ go to it: it answers 503 to the batch's attempt and the first fast retry, then 200.
    picky = await Receiver.start([503, 503]);
    // Objects under once/: refuses the batch's attempt, takes the next.
    once = await Receiver.start([503]);
    redis = new Redis(`redis://${endpoints.redis}`);
    engine = await startEngine({
      notify: {
        webhook: {
          hooks: { enable: true, endpoint: hooks.url },
          picky: { enable: true, endpoint: picky.url, fast_retry_interval: '10ms', retry_initial_interval: '50ms' },
          once: { enable: true, endpoint: once.url, fast_retry_interval: '10ms' },
        },
        redis: { '1': { enable: true, address: endpoints.redis, key: redisKey, format: 'access' } },
      },
      rules: {
        [bucket]: [
          { id: 'hooks', arn: arn('hooks'), events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
          { id: 'redis', arn: arn('1', 'redis'), events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
          { id: 'picky', arn: arn('picky'), events: ['s3:ObjectCreated:*'], prefix: 'picky/', suffix: '' },
          { id: 'once', arn: arn('once'), events: ['s3:ObjectCreated:*'], prefix: 'once/', suffix: '' },
        ],
      },
      batch: { maxEvents: 50, maxWaitMs: 0, dedupeWindowMs: 60_000 },
    });
  });
  after(async () => {
    await engine?.stop();
    await redis.del(redisKey, `${redisKey}:bucketflow:ids`);
    redis.disconnect();
    await hooks.close();
    await picky.close();
    await once.close();
  });

  async function batchResult(workflowId: string): Promise<BatchResult> {
    const handle = engine.client.temporal.workflow.getHandle(workflowId);
    assert.equal((await handle.describe()).type, DELIVER_BATCH);
    return handle.result();
  }

  test('events published together go into one batch, delivered to every target in its first workflow task', async () => {
    const records = Array.from({ length: 20 }, (_, n) => put(bucket, `together/${n}.txt`));
    const before = hooks.requests.length;
    // 20 POSTs at once: the first starts a batch alone, the others wait for it and share the next.
    const published = (await Promise.all(records.map((record) => engine.client.publish(record)))).flat();
    assert.equal(published.length, 20);
    assert.ok(published.every((p) => !p.duplicate));
    const batches = [...new Set(published.map((p) => p.workflowId))];
    assert.ok(batches.length >= 1 && batches.length < 20, `20 events in ${batches.length} batches`);

    let delivered = 0;
    for (const id of batches) {
      const result = await batchResult(id);
      // The Web UI's summary names the batch's size and first event; the memo lists every event.
      const description = await engine.client.temporal.workflow.getHandle(id).describe();
      assert.match(
        (await description.staticSummary()) ?? '',
        new RegExp(`^batch of ${result.events} events?: s3:ObjectCreated:Put ${bucket}/together/`),
      );
      assert.equal((description.memo as { events: unknown[] }).events.length, result.events);
      assert.equal(result.continued, 0);
      delivered += result.delivered;
      for (const outcome of result.outcomes)
        assert.deepEqual(outcome.targets.map((t) => [t.arn, t.delivered]).sort(), [
          [arn('1', 'redis'), true],
          [arn('hooks'), true],
        ]);
      const history = await engine.client.temporal.workflow.getHandle(id).fetchHistory();
      assert.deepEqual(eventTypes(history), [
        'WORKFLOW_EXECUTION_STARTED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_COMPLETED',
        'MARKER_RECORDED',
        'WORKFLOW_EXECUTION_COMPLETED',
      ]);
    }
    assert.equal(delivered, 20);
    const received = hooks.requests
      .slice(before)
      .map((r) => JSON.parse(r.body).Key as string)
      .sort();
    assert.deepEqual(received, records.map((r) => `${bucket}/${r.s3.object.key.replace(/%2F/g, '/')}`).sort());
    const ids = new Set(published.map((p) => p.eventId));
    const inRedis = (await redis.lrange(redisKey, 0, -1)).length;
    assert.ok(inRedis >= 20, `${inRedis} Redis entries`);
    for (const id of ids) assert.equal(await redis.sismember(`${redisKey}:bucketflow:ids`, id), 1);
  });

  test('one target failing for one event: that event continues per event for that target only, the rest complete', async () => {
    const refused = put(bucket, 'picky/refused.txt');
    const fine = Array.from({ length: 5 }, (_, n) => put(bucket, `fine/${n}.txt`));
    const hooksBefore = hooks.requests.length;
    const published = (await Promise.all([refused, ...fine].map((record) => engine.client.publish(record)))).flat();
    const [refusedPublished] = published;
    const batchId = refusedPublished.workflowId;
    const result = await batchResult(batchId);
    const outcome = result.outcomes.find((o) => o.eventId === refusedPublished.eventId)!;
    assert.equal(outcome.continuedIn, `bucketflow-${refusedPublished.eventId}`);
    assert.deepEqual(
      outcome.targets
        .filter((t) => t.delivered)
        .map((t) => t.arn)
        .sort(),
      [arn('1', 'redis'), arn('hooks')],
    );

    // Its own delivery: deliverEventV3 for the picky target only, attempt 1 being the batch's.
    const handle = engine.client.temporal.workflow.getHandle(outcome.continuedIn!);
    assert.equal((await handle.describe()).type, DELIVER_EVENT_V3);
    const continued: DeliveryResult = await handle.result();
    assert.deepEqual(
      continued.targets.map((t) => [t.arn, t.status, t.attempts]),
      [[arn('picky'), 'delivered', 3]],
    );
    // The healthy events were sent once each: no batch re-sent them.
    const keys = hooks.requests.slice(hooksBefore).map((r) => JSON.parse(r.body).Key as string);
    assert.equal(keys.length, 6);
    assert.equal(new Set(keys).size, 6);
  });

  test('deliveries show and list find an event delivered inside a batch, with its outcome and its batch', async () => {
    const record = put(bucket, 'audit/shown.txt');
    const others = Array.from({ length: 4 }, (_, n) => put(bucket, `audit/other-${n}.txt`));
    const published = (await Promise.all([record, ...others].map((r) => engine.client.publish(r)))).flat();
    const [shown] = published;
    await batchResult(shown.workflowId);
    const cli = cliFor(engine.settings);

    // By event id and by bucket/key, side by side.
    const shows = await Promise.all(
      [shown.eventId, `${bucket}/audit/shown.txt`].map((ref) =>
        eventually(async () => {
          const { code, out, err } = await cli('deliveries', 'show', ref, '--json');
          assert.ok(code === 0 || /no delivery/.test(err), err);
          return code === 0 ? JSON.parse(out) : undefined;
        }, `deliveries show ${ref}`),
      ),
    );
    for (const details of shows) {
      assert.equal(details.eventId, shown.eventId);
      assert.equal(details.batch, shown.workflowId);
      assert.equal(details.status, 'delivered');
      assert.equal(details.key, 'audit/shown.txt');
      assert.match(details.url, new RegExp(`/workflows/${shown.workflowId}$`));
      assert.deepEqual(
        details.outcomes.map((t: { arn: string; state: string; batch: boolean }) => [t.arn, t.state, t.batch]).sort(),
        [
          [arn('1', 'redis'), 'delivered', true],
          [arn('hooks'), 'delivered', true],
        ],
      );
    }
    const text = (await cli('deliveries', 'show', shown.eventId)).out;
    assert.match(text, new RegExp(`in batch\\s+${shown.workflowId}`));
    assert.match(text, new RegExp(`${arn('hooks')}\\s+delivered\\s+1\\s+batch`));

    // list: by bucket and prefix, by key, by status (the batch completed: delivered) and by target.
    const listed = async (...args: string[]) =>
      JSON.parse((await cli('deliveries', 'list', '--bucket', bucket, '--json', ...args)).out) as Array<{
        eventId?: string;
        status: string;
        batch?: string;
      }>;
    const [byPrefix, byKey, byTarget, failed] = await Promise.all([
      listed('--prefix', 'audit/'),
      listed('--key', 'audit/shown.txt'),
      listed('--prefix', 'audit/', '--status', 'delivered', '--target', arn('hooks')),
      listed('--prefix', 'audit/', '--status', 'failed'),
    ]);
    assert.deepEqual(byPrefix.map((r) => r.eventId).sort(), published.map((p) => p.eventId).sort());
    assert.ok(byPrefix.every((r) => r.status === 'delivered' && r.batch));
    assert.deepEqual(
      byKey.map((r) => r.eventId),
      [shown.eventId],
    );
    assert.ok(byTarget.some((r) => r.eventId === shown.eventId));
    assert.ok(!failed.some((r) => r.eventId === shown.eventId));
  });

  test('deliveries show of an event that continued on its own: the targets its batch delivered and the one it took over', async () => {
    const [published] = await engine.client.publish(put(bucket, 'once/continued.txt'));
    const result = await batchResult(published.workflowId);
    const continuedIn = result.outcomes[0].continuedIn!;
    assert.equal(continuedIn, `bucketflow-${published.eventId}`);
    await engine.client.temporal.workflow.getHandle(continuedIn).result();
    const { out } = await cliFor(engine.settings)('deliveries', 'show', published.eventId, '--json');
    const details = JSON.parse(out);
    assert.equal(details.workflowId, continuedIn);
    assert.equal(details.batch, published.workflowId);
    assert.equal(details.status, 'delivered');
    assert.deepEqual(
      details.outcomes
        .map((t: { arn: string; state: string; attempts: number; batch?: boolean }) => [
          t.arn,
          t.state,
          t.attempts,
          Boolean(t.batch),
        ])
        .sort(),
      [
        [arn('1', 'redis'), 'delivered', 1, true],
        [arn('hooks'), 'delivered', 1, true],
        [arn('once'), 'delivered', 2, true],
      ],
    );
  });

  test('group commit: each publish resolves only once the batch carrying its events is started, and events that arrive meanwhile share the next', async () => {
    const started: string[] = [];
    const records = Array.from({ length: 12 }, (_, n) => put(bucket, `group/${n}.txt`));
    const settled = records.map((record) =>
      engine.client.publish(record).then((published) => {
        started.push(published[0].workflowId);
        return published[0];
      }),
    );
    const published = await Promise.all(settled);
    for (const p of published) {
      // Resolved means started: the workflow exists, its memo lists the event.
      const description = await engine.client.temporal.workflow.getHandle(p.workflowId).describe();
      assert.equal(description.type, DELIVER_BATCH);
      const memo = description.memo as { events: Array<{ id: string }> };
      assert.ok(memo.events.some((e) => e.id === p.eventId));
    }
    // The first event ready found no start in flight and went alone; the rest waited for it and went together.
    const sizes = [...new Set(published.map((p) => p.workflowId))].map(
      (id) => published.filter((p) => p.workflowId === id).length,
    );
    assert.equal(Math.min(...sizes), 1, `batch sizes ${sizes}`);
    assert.ok(sizes.length < records.length, `batch sizes ${sizes}`);
  });

  test(
    'one publish of more full batches than start side by side (a Kafka fetch): every batch is started and the publish resolves',
    { timeout: 120_000 },
    async () => {
      // 260 events at 50 a batch: five full batches and a partial one, more than the four starts kept in flight.
      const records = Array.from({ length: 260 }, (_, n) => put(bucket, `fetch/${n}.txt`));
      const before = hooks.requests.length;
      const published = await engine.client.publish(records);
      assert.equal(published.length, records.length);
      assert.ok(published.every((p) => !p.duplicate));
      const batches = [...new Set(published.map((p) => p.workflowId))];
      assert.ok(batches.length >= 6, `260 events in ${batches.length} batches`);
      let delivered = 0;
      for (const id of batches) delivered += (await batchResult(id)).delivered;
      assert.equal(delivered, records.length);
      await hooks.waitForRequests(before + records.length);
    },
  );

  test('a publish whose batch the server refuses fails, and its events are not remembered as accepted', async () => {
    // Temporal refuses task queue names over 1,000 characters: a real refusal of the start.
    const refused = new BucketflowClient(engine.client.temporal, {
      taskQueue: 'q'.repeat(1001),
      batch: { maxEvents: 10, maxWaitMs: 0, dedupeWindowMs: 60_000 },
    });
    const record = put(bucket, 'group/unstartable.txt');
    const refusal = (err: Error) => /task ?queue/i.test(messageWithCause(err));
    await assert.rejects(refused.publish(record), refusal);
    // Published again, it is tried again (not answered as a duplicate of what was never started).
    await assert.rejects(refused.publish(record), refusal);
  });

  test('dedupe: the same event published again within the window is not delivered twice', async () => {
    const record = put(bucket, 'dedupe/again.txt', '17F00000000000AA');
    const before = hooks.requests.length;
    const [first, concurrent] = (
      await Promise.all([engine.client.publish(record), engine.client.publish(record)])
    ).flat();
    const [later] = await engine.client.publish({
      EventName: record.eventName,
      Key: `${bucket}/dedupe/again.txt`,
      Records: [record],
    });
    assert.equal(first.duplicate, false);
    assert.equal(concurrent.duplicate, true);
    assert.equal(later.duplicate, true);
    assert.equal(concurrent.workflowId, first.workflowId);
    assert.equal(later.workflowId, first.workflowId);
    await batchResult(first.workflowId);
    await hooks.waitForRequests(before + 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(
      hooks.requests.slice(before).filter((r) => JSON.parse(r.body).Key === `${bucket}/dedupe/again.txt`).length,
      1,
    );
  });
});
