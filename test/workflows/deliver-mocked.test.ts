// deliverEventV3 (the default version) with mocked activities, as in Temporal's samples: the workflow's decisions
// (which
// targets, how many attempts, which outcome) for failures that are awkward to cause with real targets.
// Runs on the stack's Temporal server; the activities are scripted stand-ins, no target is contacted.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { DEFAULT_RETRY, type RetrySettings } from '../../src/config/retry';
import { buildEvent } from '../../src/events';
import { mockedWorker } from '../helpers/mocked-worker';
import type { Activities } from '../../activities';
import type { DeliverToTargetInput, DeliverToTargetsInput } from '../../activities/deliver';
import type { DeliverInput, DeliveryResult, ResolvedTarget } from '../../src/delivery/types';
import { attemptFailure, deliveryResultOf, firstAttemptFailure, PERMANENT_FAILURE } from '../../src/delivery/failure';
import type { TargetAttempt } from '../../src/delivery/types';
import { DELIVER_EVENT_V3 } from '../../src/delivery/workflow-types';
import { needs } from '../helpers/needs';

const { test } = needs('temporal');

const retry: RetrySettings = { ...DEFAULT_RETRY, fastIntervalMs: 10, initialIntervalMs: 10, maxIntervalMs: 50 };
const target = (arn: string, overrides: Partial<RetrySettings> = {}): ResolvedTarget => ({
  arn,
  retry: { ...retry, ...overrides },
});

/** What the mocked activities were asked to do, in order. */
let calls: string[] = [];
/** Each test scripts the activities' behaviour. */
const script: {
  first?: (input: DeliverToTargetsInput) => Promise<TargetAttempt[]>;
  single?: (input: DeliverToTargetInput, local: boolean) => Promise<{ attempt: number }>;
} = {};

const mocks: Omit<
  Activities,
  'deliverBatchEvents' | 'scanPages' | 'backfillChunk' | 'countBackfillObjects' | 'deliverDeadLetter' | 'handOffOrdered'
> = {
  async resolveTargets() {
    calls.push('resolveTargets');
    return [];
  },
  async deliverToTargets(input) {
    calls.push(`first ${input.arns.join(',')}`);
    return script.first!(input);
  },
  async deliverToTarget(input) {
    const { isLocal, attempt } = Context.current().info;
    calls.push(`${isLocal ? 'fast' : 'durable'} ${input.arn} #${(input.attemptsBefore ?? 0) + attempt}`);
    return script.single!(input, isLocal);
  },
};

const mocked = mockedWorker(mocks, 'mocked');

/** Runs a delivery to `targets`; a failed delivery's result is read from its DeliveryFailed details. */
async function deliver(targets: ResolvedTarget[], more: Partial<DeliverInput> = {}): Promise<DeliveryResult> {
  calls = [];
  const record = buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket: 'mocked',
    key: `${randomUUID()}.jpg`,
    size: 1,
  });
  const input: DeliverInput = { eventId: randomUUID(), record, targets, ...more };
  try {
    return await mocked.client.workflow.execute(DELIVER_EVENT_V3, {
      taskQueue: mocked.taskQueue,
      workflowId: `mocked-${input.eventId}`,
      args: [input],
    });
  } catch (err) {
    const result = err instanceof WorkflowFailedError ? deliveryResultOf(err.cause) : undefined;
    if (result) return result;
    throw err;
  }
}

/** The mocks fail as the real activities do: through the failure contract (src/delivery/failure.ts). */
const failedFirst = (outcomes: TargetAttempt[]) => Promise.reject(firstAttemptFailure(outcomes));

test('partial: one target delivered and one refused permanently in the first attempt; nothing is retried', async () => {
  script.first = () =>
    failedFirst([
      { arn: 'a', delivered: true },
      { arn: 'b', delivered: false, permanent: true, error: 'b: 400' },
    ]);
  const result = await deliver([target('a'), target('b')]);
  assert.equal(result.status, 'partial');
  assert.deepEqual(result.targets, [
    { arn: 'a', status: 'delivered', attempts: 1 },
    { arn: 'b', status: 'failed', attempts: 1, error: 'b: 400' },
  ]);
  assert.deepEqual(calls, ['first a,b']);
});

test('failed: every target refused', async () => {
  script.first = () =>
    failedFirst([
      { arn: 'a', delivered: false, permanent: true, error: 'a: 403' },
      { arn: 'b', delivered: false, permanent: true, error: 'b: 400' },
    ]);
  const result = await deliver([target('a'), target('b')]);
  assert.equal(result.status, 'failed');
  assert.deepEqual(
    result.targets.map((t) => [t.arn, t.status]),
    [
      ['a', 'failed'],
      ['b', 'failed'],
    ],
  );
});

test('a first attempt that failed as a whole (no outcomes) counts as attempt 1 for every target; each retries on its own', async () => {
  script.first = () => Promise.reject(new Error('worker lost the attempt'));
  script.single = async (input) => ({ attempt: (input.attemptsBefore ?? 0) + 1 });
  const result = await deliver([target('a'), target('b')]);
  assert.equal(result.status, 'delivered');
  assert.deepEqual(result.targets, [
    { arn: 'a', status: 'delivered', attempts: 2 },
    { arn: 'b', status: 'delivered', attempts: 2 },
  ]);
  assert.deepEqual(calls, ['first a,b', 'fast a #2', 'fast b #2']);
});

test('the fast attempts used up: the durable activity takes over, attempt numbers running on', async () => {
  script.first = () => failedFirst([{ arn: 'a', delivered: false, error: 'a: 503' }]);
  script.single = async (input, local) => {
    if (local) throw attemptFailure(new Error('503'), { arn: 'a', attempt: (input.attemptsBefore ?? 0) + 1 }, 'a: 503');
    return { attempt: (input.attemptsBefore ?? 0) + Context.current().info.attempt };
  };
  const result = await deliver([target('a', { fastAttempts: 2 })]);
  assert.deepEqual(result.targets, [{ arn: 'a', status: 'delivered', attempts: 3 }]);
  assert.deepEqual(calls, ['first a', 'fast a #2', 'durable a #3']);
});

test('missing attempt count: a durable failure without details still fails the target, its attempts unknown', async () => {
  script.first = () => failedFirst([{ arn: 'a', delivered: false, error: 'a: 503' }]);
  script.single = async () => {
    throw ApplicationFailure.create({ type: PERMANENT_FAILURE, message: 'a: gone for good', nonRetryable: true });
  };
  const result = await deliver([target('a', { fastAttempts: 1 })]);
  assert.equal(result.status, 'failed');
  assert.deepEqual(result.targets, [{ arn: 'a', status: 'failed', error: 'a: gone for good' }]); // no attempts field
  assert.deepEqual(calls, ['first a', 'durable a #2']);
});

test('fast_attempts 0: no fast attempt at all, the durable activity only', async () => {
  script.single = async (input) => ({ attempt: (input.attemptsBefore ?? 0) + Context.current().info.attempt });
  const result = await deliver([target('a', { fastAttempts: 0 }), target('b', { fastAttempts: 0 })]);
  assert.deepEqual(result.targets, [
    { arn: 'a', status: 'delivered', attempts: 1 },
    { arn: 'b', status: 'delivered', attempts: 1 },
  ]);
  assert.deepEqual(calls.sort(), ['durable a #1', 'durable b #1']);
});

test('no matching target: no-targets, no delivery attempted', async () => {
  const result = await deliver([]);
  assert.equal(result.status, 'no-targets');
  assert.deepEqual(calls, []);
});

test("continuing a batch: the batch's attempt is attempt 1, the fast path goes on from attempt 2 without a first attempt of its own", async () => {
  script.single = async (input) => ({ attempt: (input.attemptsBefore ?? 0) + 1 });
  const result = await deliver([target('a')], {
    firstAttempt: [{ arn: 'a', delivered: false, error: 'a: 503' }],
    batch: 'bucketflow-batch-x',
  });
  assert.deepEqual(result.targets, [{ arn: 'a', status: 'delivered', attempts: 2 }]);
  assert.deepEqual(calls, ['fast a #2']);
});

test('continuing a batch that was refused permanently: failed at once, nothing sent again', async () => {
  const result = await deliver([target('a')], {
    firstAttempt: [{ arn: 'a', delivered: false, permanent: true, error: 'a: 400' }],
    batch: 'bucketflow-batch-x',
  });
  assert.equal(result.status, 'failed');
  assert.deepEqual(result.targets, [{ arn: 'a', status: 'failed', attempts: 1, error: 'a: 400' }]);
  assert.deepEqual(calls, []);
});
