// The high-volume mode on the real engine (BUCKETFLOW_BATCH_MAX_EVENTS > 1): events published together go
// into one batch workflow by group commit and reach real targets (a webhook receiver, Redis and PostgreSQL)
// in its first workflow task; an event a target refuses leaves the batch for its own per-event delivery
// while the others complete; each publish resolves only once its batch is started; duplicates are dropped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { DELIVER_BATCH, DELIVER_EVENT_V3 } from '../../src/delivery/workflow-types';
import type { BatchResult, DeliveryResult } from '../../workflows/types';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { eventTypes } from '../helpers/history';
import { Receiver } from '../helpers/receiver';

const arn = (id: string, type = 'webhook') => `arn:minio:sqs:us-east-1:${id}:${type}`;
const put = (bucket: string, key: string, sequencer?: string): S3EventRecord =>
  buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key, size: 1, ...(sequencer ? { sequencer } : {}) });

describe('batch mode', () => {
  const bucket = uniqueBucket('batch');
  const redisKey = `bucketflow-test-${bucket}`;
  let engine: Engine;
  let hooks: Receiver;
  let picky: Receiver;
  let redis: Redis;

  before(async () => {
    hooks = await Receiver.start();
    // Only objects under picky/ go to it: it answers 503 to the batch's attempt and the first fast retry, then 200.
    picky = await Receiver.start([503, 503]);
    redis = new Redis(`redis://${endpoints.redis}`);
    engine = await startEngine({
      notify: {
        webhook: {
          hooks: { enable: true, endpoint: hooks.url },
          picky: { enable: true, endpoint: picky.url, fast_retry_interval: '10ms', retry_initial_interval: '50ms' },
        },
        redis: { '1': { enable: true, address: endpoints.redis, key: redisKey, format: 'access' } },
      },
      rules: {
        [bucket]: [
          { id: 'hooks', arn: arn('hooks'), events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
          { id: 'redis', arn: arn('1', 'redis'), events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
          { id: 'picky', arn: arn('picky'), events: ['s3:ObjectCreated:*'], prefix: 'picky/', suffix: '' },
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
      assert.equal(result.continued, 0);
      delivered += result.delivered;
      for (const outcome of result.outcomes) assert.deepEqual(outcome.targets.map((t) => [t.arn, t.delivered]).sort(), [[arn('1', 'redis'), true], [arn('hooks'), true]]);
      const history = await engine.client.temporal.workflow.getHandle(id).fetchHistory();
      assert.deepEqual(eventTypes(history), [
        'WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_COMPLETED',
        'MARKER_RECORDED', 'WORKFLOW_EXECUTION_COMPLETED',
      ]);
    }
    assert.equal(delivered, 20);
    const received = hooks.requests.slice(before).map((r) => JSON.parse(r.body).Key as string).sort();
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
    assert.deepEqual(outcome.targets.filter((t) => t.delivered).map((t) => t.arn).sort(), [arn('1', 'redis'), arn('hooks')]);

    // Its own delivery: deliverEventV3 for the picky target only, attempt 1 being the batch's.
    const handle = engine.client.temporal.workflow.getHandle(outcome.continuedIn!);
    assert.equal((await handle.describe()).type, DELIVER_EVENT_V3);
    const continued: DeliveryResult = await handle.result();
    assert.deepEqual(continued.targets.map((t) => [t.arn, t.status, t.attempts]), [[arn('picky'), 'delivered', 3]]);
    // The healthy events were sent once each: no batch re-sent them.
    const keys = hooks.requests.slice(hooksBefore).map((r) => JSON.parse(r.body).Key as string);
    assert.equal(keys.length, 6);
    assert.equal(new Set(keys).size, 6);
  });
});
