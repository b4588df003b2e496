// The delivery workflow on the real Temporal dev server, with real webhook receivers as targets.
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { buildEvent } from '../../src/events';
import { deliveryResultOf } from '../../src/delivery/failure';
import type { DeliveryResult } from '../../src/delivery/types';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { eventTypes, localActivityAttempts } from '../helpers/history';
import { Receiver } from '../helpers/receiver';
import { statusClause } from '../../src/operator/deliveries/query';
import { needs } from '../helpers/needs';

const { after, before, describe, test } = needs('temporal');

const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;
const fastRetry = { retry_initial_interval: '100ms', retry_max_interval: '1s' };

function put(bucket: string, key: string, sequencer = '17F0A1B2C3D4E5F6') {
  return buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key, size: 42, sequencer });
}

async function resultOf(engine: Engine, workflowId: string): Promise<DeliveryResult> {
  try {
    return await engine.client.temporal.workflow.getHandle(workflowId).result();
  } catch (err) {
    const result = err instanceof WorkflowFailedError ? deliveryResultOf(err.cause) : undefined;
    if (result) return result;
    throw err;
  }
}

describe('delivery workflow', () => {
  const bucket = uniqueBucket('images');
  let jpg: Receiver;
  let docs: Receiver;
  let engine: Engine;

  before(async () => {
    jpg = await Receiver.start();
    docs = await Receiver.start();
    engine = await startEngine({
      notify: {
        webhook: {
          jpg: { enable: true, endpoint: jpg.url, ...fastRetry },
          docs: { enable: true, endpoint: docs.url, ...fastRetry },
        },
      },
      rules: {
        [bucket]: [
          { id: '1', arn: arn('jpg'), events: ['s3:ObjectCreated:*'], prefix: '', suffix: '.jpg' },
          { id: '2', arn: arn('docs'), events: ['s3:ObjectCreated:*'], prefix: 'docs/', suffix: '' },
        ],
      },
    });
  });
  after(async () => {
    await engine.stop();
    await Promise.all([jpg.close(), docs.close()]);
  });

  test('delivers to the matching target only, with the MinIO envelope', async () => {
    const record = put(bucket, 'photos/cat one.jpg');
    const [published] = await engine.client.publish(record);
    const result = await resultOf(engine, published.workflowId);

    assert.equal(result.status, 'delivered');
    assert.deepEqual(
      result.targets.map((t) => [t.arn, t.status, t.attempts]),
      [[arn('jpg'), 'delivered', 1]],
    );
    assert.equal(docs.requests.length, 0);
    const body = JSON.parse(jpg.requests.at(-1)!.body);
    assert.equal(body.EventName, 's3:ObjectCreated:Put');
    assert.equal(body.Key, `${bucket}/photos/cat one.jpg`);
    assert.deepEqual(body.Records, [record]);
  });

  test('a publisher that cannot see the rules: the workflow matches them itself, with the same outcome', async () => {
    const [published] = await engine.plainClient.publish(put(bucket, 'docs/plain.jpg'));
    const result = await resultOf(engine, published.workflowId);
    assert.deepEqual(result.targets.map((t) => [t.arn, t.status]).sort(), [
      [arn('docs'), 'delivered'],
      [arn('jpg'), 'delivered'],
    ]);
    const history = await engine.client.temporal.workflow.getHandle(published.workflowId).fetchHistory();
    assert.deepEqual(
      localActivityAttempts(history).map((a) => a.activityType),
      ['resolveTargets', 'deliverToTargets'],
    );
  });

  test('a healthy delivery is one workflow task and 2 billable actions: started, one marker for its targets, completed (no search-attribute write)', async () => {
    const [published] = await engine.client.publish(put(bucket, 'one-task.jpg'));
    await resultOf(engine, published.workflowId);
    const history = await engine.client.temporal.workflow.getHandle(published.workflowId).fetchHistory();
    assert.deepEqual(eventTypes(history), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'MARKER_RECORDED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
  });

  test('an event no rule matches ends cleanly as no-targets', async () => {
    const [published] = await engine.client.publish(put(bucket, 'notes.txt'));
    const result = await resultOf(engine, published.workflowId);
    assert.deepEqual(result, { eventId: published.eventId, status: 'no-targets', targets: [] });
  });

  test('the same event published twice is delivered once; another event for the key gets its own workflow', async () => {
    const before = jpg.requests.length;
    const record = put(bucket, 'twice.jpg', '17F0000000000001');
    const [first] = await engine.client.publish(record);
    await resultOf(engine, first.workflowId);
    const [second] = await engine.client.publish({
      EventName: record.eventName,
      Key: `${bucket}/twice.jpg`,
      Records: [record],
    });
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true);
    assert.equal(second.workflowId, first.workflowId);

    const [newer] = await engine.client.publish(put(bucket, 'twice.jpg', '17F0000000000002'));
    assert.notEqual(newer.workflowId, first.workflowId);
    await resultOf(engine, newer.workflowId);
    assert.equal(jpg.requests.length - before, 2);
  });

  test('search attributes find a delivery by bucket, key, event, target and status', async () => {
    const [published] = await engine.client.publish(put(bucket, 'docs/findme.jpg'));
    await resultOf(engine, published.workflowId);
    const query =
      `BucketflowBucket = '${bucket}' AND BucketflowKey = 'docs/findme.jpg' AND BucketflowEvent = 's3:ObjectCreated:Put' ` +
      `AND BucketflowTargets = '${arn('docs')}' AND ${statusClause(['delivered'], (v) => `'${v}'`)}`;
    const found = await assertQueryFinds(engine, query, [published.workflowId]);
    assert.equal(found.length, 1);
  });
});

describe('retries and failures', () => {
  const bucket = uniqueBucket('retries');
  let flaky: Receiver;
  let stubborn: Receiver;
  let rejecting: Receiver;
  let healthy: Receiver;
  let engine: Engine;

  before(async () => {
    flaky = await Receiver.start([503, 503]);
    stubborn = await Receiver.start([503, 503, 503, 503]);
    rejecting = await Receiver.start([], 400);
    healthy = await Receiver.start();
    engine = await startEngine({
      notify: {
        webhook: {
          flaky: { enable: true, endpoint: flaky.url, ...fastRetry },
          stubborn: { enable: true, endpoint: stubborn.url, ...fastRetry, fast_retry_interval: '10ms' },
          rejecting: { enable: true, endpoint: rejecting.url, ...fastRetry },
          healthy: { enable: true, endpoint: healthy.url, ...fastRetry },
        },
      },
      rules: {
        [bucket]: [
          { id: 'flaky', arn: arn('flaky'), events: ['s3:ObjectCreated:*'], prefix: 'flaky/', suffix: '' },
          { id: 'stubborn', arn: arn('stubborn'), events: ['s3:ObjectCreated:*'], prefix: 'stubborn/', suffix: '' },
          { id: 'rejecting', arn: arn('rejecting'), events: ['s3:ObjectCreated:*'], prefix: 'mixed/', suffix: '' },
          { id: 'healthy', arn: arn('healthy'), events: ['s3:ObjectCreated:*'], prefix: 'mixed/', suffix: '' },
        ],
      },
    });
  });
  after(async () => {
    await engine.stop();
    await Promise.all([flaky.close(), stubborn.close(), rejecting.close(), healthy.close()]);
  });

  test('a target failing twice then succeeding is delivered, with the attempts in the history', async () => {
    const [published] = await engine.client.publish(put(bucket, 'flaky/a.bin'));
    const result = await resultOf(engine, published.workflowId);
    assert.deepEqual(result.targets, [{ arn: arn('flaky'), status: 'delivered', attempts: 3 }]);
    assert.equal(flaky.requests.length, 3);

    // The fast path: one local-activity marker per attempt (the first one for all targets of the event),
    // each failed one with its error and number.
    const history = await engine.client.temporal.workflow.getHandle(published.workflowId).fetchHistory();
    const attempts = localActivityAttempts(history);
    assert.deepEqual(
      attempts.map((a) => [a.activityType, a.attempt]),
      [
        ['deliverToTargets', 1],
        ['deliverToTarget', 2],
        ['deliverToTarget', undefined],
      ],
    );
    assert.match(attempts[0].error ?? '', /503/);
    assert.match(attempts[1].error ?? '', /503/);
    assert.equal(attempts[2].error, undefined);
    assert.ok(!history.events!.some((e) => e.activityTaskScheduledEventAttributes), 'no regular activity was needed');
  });

  test("a target still failing after the fast attempts goes durable: a regular activity with the target's backoff", async () => {
    const [published] = await engine.client.publish(put(bucket, 'stubborn/a.bin'));
    const result = await resultOf(engine, published.workflowId);
    assert.deepEqual(result.targets, [{ arn: arn('stubborn'), status: 'delivered', attempts: 5 }]);
    assert.equal(stubborn.requests.length, 5);

    const history = await engine.client.temporal.workflow.getHandle(published.workflowId).fetchHistory();
    const fast = localActivityAttempts(history);
    assert.deepEqual(
      fast.map((a) => a.attempt),
      [1, 2, 3],
    );
    assert.ok(fast.every((a) => /503/.test(a.error ?? '')));
    const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes);
    const deliverStart = started.at(-1)!.activityTaskStartedEventAttributes!;
    assert.equal(deliverStart.attempt, 2);
    assert.match(deliverStart.lastFailure?.message ?? '', /503/);
  });

  test('a permanent failure fails fast and does not stop the other target', async () => {
    const [published] = await engine.client.publish(put(bucket, 'mixed/b.bin'));
    const handle = engine.client.temporal.workflow.getHandle(published.workflowId);
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'DeliveryFailed');
      return true;
    });
    const result = await resultOf(engine, published.workflowId);
    assert.equal(result.status, 'partial');
    const byArn = Object.fromEntries(result.targets.map((t) => [t.arn, t]));
    assert.equal(byArn[arn('healthy')].status, 'delivered');
    assert.equal(byArn[arn('rejecting')].status, 'failed');
    assert.equal(byArn[arn('rejecting')].attempts, 1);
    assert.match(byArn[arn('rejecting')].error!, /400/);
    assert.equal(rejecting.requests.length, 1);
    assert.equal(healthy.requests.length, 1);

    const query = `BucketflowBucket = '${bucket}' AND BucketflowStatus = 'partial' AND BucketflowFailedTargets = '${arn('rejecting')}'`;
    await assertQueryFinds(engine, query, [published.workflowId]);
  });
});

describe('deliveries that fail for good', () => {
  const bucket = uniqueBucket('failed');
  let unavailable: Receiver;
  let rejectingA: Receiver;
  let rejectingB: Receiver;
  let engine: Engine;

  before(async () => {
    unavailable = await Receiver.start([], 503);
    rejectingA = await Receiver.start([], 400);
    rejectingB = await Receiver.start([], 422);
    engine = await startEngine({
      notify: {
        webhook: {
          // Retryable failures for ever: only retry_max_duration ends the delivery.
          unavailable: {
            enable: true,
            endpoint: unavailable.url,
            retry_initial_interval: '100ms',
            retry_max_interval: '300ms',
            retry_max_duration: '2s',
          },
          rejectingA: { enable: true, endpoint: rejectingA.url, ...fastRetry },
          rejectingB: { enable: true, endpoint: rejectingB.url, ...fastRetry },
        },
      },
      rules: {
        [bucket]: [
          { id: '1', arn: arn('unavailable'), events: ['s3:ObjectCreated:*'], prefix: 'slow/', suffix: '' },
          { id: '2', arn: arn('rejectingA'), events: ['s3:ObjectCreated:*'], prefix: 'bad/', suffix: '' },
          { id: '3', arn: arn('rejectingB'), events: ['s3:ObjectCreated:*'], prefix: 'bad/', suffix: '' },
        ],
      },
    });
  });
  after(async () => {
    await engine.stop();
    await Promise.all([unavailable.close(), rejectingA.close(), rejectingB.close()]);
  });

  /** BucketflowStatus and BucketflowFailedTargets find exactly this workflow in the bucket. */
  async function assertFoundAs(workflowId: string, status: string, failedArns: string[]): Promise<void> {
    const failed = failedArns.map((a) => ` AND BucketflowFailedTargets = '${a}'`).join('');
    await assertQueryFinds(engine, `BucketflowBucket = '${bucket}' AND BucketflowStatus = '${status}'${failed}`, [
      workflowId,
    ]);
  }

  test('retry_max_duration ends a delivery that keeps failing: the target and the delivery are failed', async () => {
    const began = Date.now();
    const [published] = await engine.client.publish(put(bucket, 'slow/a.bin'));
    const result = await resultOf(engine, published.workflowId);
    const took = Date.now() - began;

    assert.equal(result.status, 'failed');
    assert.deepEqual(
      result.targets.map((t) => [t.arn, t.status]),
      [[arn('unavailable'), 'failed']],
    );
    assert.ok(unavailable.requests.length >= 2, `retried before giving up (${unavailable.requests.length} requests)`);
    assert.ok(
      took >= 2_000 && took < 30_000,
      `gave up after the 2 s budget, not before and not much later (${took} ms)`,
    );
    // Given up for good: no attempt after the result.
    const attempts = unavailable.requests.length;
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(unavailable.requests.length, attempts);
    await assertFoundAs(published.workflowId, 'failed', [arn('unavailable')]);
  });

  test('every target failing makes the delivery failed (not partial), each target named', async () => {
    const [published] = await engine.client.publish(put(bucket, 'bad/b.bin'));
    const result = await resultOf(engine, published.workflowId);
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.targets.map((t) => [t.arn, t.status]).sort(), [
      [arn('rejectingA'), 'failed'],
      [arn('rejectingB'), 'failed'],
    ]);
    assert.equal(rejectingA.requests.length, 1);
    assert.equal(rejectingB.requests.length, 1);
    await assertFoundAs(published.workflowId, 'failed', [arn('rejectingA'), arn('rejectingB')]);
  });
});

/** A visibility query finds exactly `workflowIds` (retried: visibility is eventually consistent). */
function assertQueryFinds(engine: Engine, query: string, workflowIds: string[]): Promise<string[]> {
  return eventually(async () => {
    const ids: string[] = [];
    for await (const wf of engine.client.temporal.workflow.list({ query })) ids.push(wf.workflowId);
    assert.deepEqual(ids, workflowIds);
    return ids;
  });
}

/** Visibility is eventually consistent: retry an assertion for a few seconds. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
