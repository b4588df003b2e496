// Dead letters in deliverEventV3 with mocked activities: a target that fails for good (refused, or its retries ran
// out) is handed to its dead letter exactly once with its failure; the hand-off is retried on the dead letter's own
// schedule, and one that fails too is recorded beside the failed target; a target without a dead letter, or one that
// was delivered, hands nothing off. Runs on the stack's Temporal server; no target is contacted.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { DEFAULT_RETRY, type RetrySettings } from '../../src/config/retry';
import { buildEvent } from '../../src/events';
import { mockedWorker } from '../helpers/mocked-worker';
import type { Activities } from '../../activities';
import type { DeliverDeadLetterInput, DeliverToTargetInput, DeliverToTargetsInput } from '../../activities/deliver';
import type { DeliverInput, DeliveryResult, ResolvedTarget, TargetAttempt } from '../../src/delivery/types';
import {
  attemptFailure,
  deliveryResultOf,
  firstAttemptFailure,
  PERMANENT_FAILURE,
  PermanentDeliveryError,
} from '../../src/delivery/failure';
import { DELIVER_EVENT_V3 } from '../../src/delivery/workflow-types';
import { needs } from '../helpers/needs';

const { test } = needs('temporal');

const retry: RetrySettings = {
  ...DEFAULT_RETRY,
  fastIntervalMs: 10,
  initialIntervalMs: 10,
  maxIntervalMs: 50,
  maxDurationMs: 2_000,
};
const dlq = 'arn:minio:sqs:us-east-1:dlq:webhook';
/** The dead letter's own schedule: the server spaces retries by about a second however short the interval. */
const dlqRetry: RetrySettings = { ...retry, maxDurationMs: 20_000 };
/** A target whose dead letter is `dlq`, unless `deadLetter` is false. */
const target = (arn: string, overrides: Partial<RetrySettings> = {}, deadLetter = true): ResolvedTarget => ({
  arn,
  retry: { ...retry, ...overrides, ...(deadLetter ? { deadLetter: { arn: dlq, retry: dlqRetry } } : {}) },
});

let calls: string[] = [];
let handedOff: DeliverDeadLetterInput[] = [];
const script: {
  first?: (input: DeliverToTargetsInput) => Promise<TargetAttempt[]>;
  single?: (input: DeliverToTargetInput, local: boolean) => Promise<{ attempt: number }>;
  deadLetter?: (input: DeliverDeadLetterInput, attempt: number) => Promise<{ attempt: number }>;
} = {};

const mocks: Pick<Activities, 'resolveTargets' | 'deliverToTargets' | 'deliverToTarget' | 'deliverDeadLetter'> = {
  async resolveTargets() {
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
  async deliverDeadLetter(input) {
    const { attempt, activityId, isLocal } = Context.current().info;
    calls.push(`${isLocal ? 'local' : 'durable'} ${activityId} #${attempt}`);
    handedOff.push(input);
    return script.deadLetter ? script.deadLetter(input, attempt) : { attempt };
  },
};

const mocked = mockedWorker(mocks, 'dead-letter');

async function deliver(targets: ResolvedTarget[]): Promise<{ result: DeliveryResult; input: DeliverInput }> {
  calls = [];
  handedOff = [];
  const record = buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'mocked', key: `${randomUUID()}.jpg` });
  const input: DeliverInput = { eventId: randomUUID(), record, targets };
  try {
    const result = await mocked.client.workflow.execute(DELIVER_EVENT_V3, {
      taskQueue: mocked.taskQueue,
      workflowId: `dead-letter-${input.eventId}`,
      args: [input],
    });
    return { result, input };
  } catch (err) {
    const result = err instanceof WorkflowFailedError ? deliveryResultOf(err.cause) : undefined;
    if (result) return { result, input };
    throw err;
  }
}

const refusedFirst = (outcomes: TargetAttempt[]) => Promise.reject(firstAttemptFailure(outcomes));

test('a target refused for good hands the event and its failure to its dead letter once; the delivery stays failed', async () => {
  script.first = () =>
    refusedFirst([
      { arn: 'a', delivered: true },
      { arn: 'b', delivered: false, permanent: true, error: 'b: answered 400' },
    ]);
  const before = Date.now();
  const { result, input } = await deliver([target('a'), target('b')]);
  assert.equal(result.status, 'partial');
  assert.deepEqual(result.targets, [
    { arn: 'a', status: 'delivered', attempts: 1 },
    {
      arn: 'b',
      status: 'failed',
      attempts: 1,
      error: 'b: answered 400',
      deadLetter: { arn: dlq, status: 'delivered', attempts: 1 },
    },
  ]);
  assert.deepEqual(calls, ['first a,b', `durable dead-letter b ${dlq} #1`]);
  assert.equal(handedOff.length, 1);
  const [{ arn, eventId, record, failure }] = handedOff;
  assert.deepEqual({ arn, eventId, record }, { arn: dlq, eventId: input.eventId, record: input.record });
  const { firstAttemptAt, lastAttemptAt, runId, ...rest } = failure;
  assert.deepEqual(rest, {
    target: 'b',
    eventId: input.eventId,
    errorType: PERMANENT_FAILURE,
    error: 'b: answered 400',
    attempts: 1,
    workflowId: `dead-letter-${input.eventId}`,
  });
  assert.match(runId, /^[0-9a-f-]{36}$/);
  for (const at of [firstAttemptAt, lastAttemptAt]) {
    assert.ok(Date.parse(at) >= before - 1_000 && Date.parse(at) <= Date.now(), at);
  }
  assert.ok(firstAttemptAt <= lastAttemptAt);
});

test('retries that ran out (retry_max_duration) hand off too, as a Timeout (the server keeps no last error then)', async () => {
  script.first = () => refusedFirst([{ arn: 'a', delivered: false, error: 'a: 503' }]);
  script.single = async (input) => {
    const attempt = (input.attemptsBefore ?? 0) + Context.current().info.attempt;
    throw attemptFailure(new Error('503'), { arn: 'a', attempt }, `a: answered 503 (attempt ${attempt})`);
  };
  const { result } = await deliver([target('a', { fastAttempts: 2, maxDurationMs: 300 })]);
  assert.equal(result.status, 'failed');
  assert.equal(result.targets[0].deadLetter?.status, 'delivered');
  assert.equal(handedOff.length, 1);
  const { failure } = handedOff[0];
  assert.equal(failure.errorType, 'Timeout');
  assert.match(failure.error, /ScheduleToClose/);
  assert.deepEqual(calls.slice(0, 3), ['first a', 'fast a #2', 'durable a #3']);
  assert.equal(calls.at(-1), `durable dead-letter a ${dlq} #1`);
});

test('a durable attempt refused for good after retries hands off its own error and the attempts made', async () => {
  script.first = () => refusedFirst([{ arn: 'a', delivered: false, error: 'a: 503' }]);
  script.single = async (input, local) => {
    const attempt = (input.attemptsBefore ?? 0) + Context.current().info.attempt;
    const err = local || attempt < 4 ? new Error('503') : new PermanentDeliveryError('410');
    throw attemptFailure(err, { arn: 'a', attempt }, `a: answered ${err.message} (attempt ${attempt})`);
  };
  const { result } = await deliver([target('a', { fastAttempts: 2, maxDurationMs: 20_000 })]);
  assert.deepEqual(result.targets[0], {
    arn: 'a',
    status: 'failed',
    attempts: 4,
    error: 'a: answered 410 (attempt 4)',
    deadLetter: { arn: dlq, status: 'delivered', attempts: 1 },
  });
  const { failure } = handedOff[0];
  assert.deepEqual(
    [failure.errorType, failure.attempts, failure.error],
    [PERMANENT_FAILURE, 4, result.targets[0].error],
  );
  assert.deepEqual(calls, ['first a', 'fast a #2', 'durable a #3', 'durable a #4', `durable dead-letter a ${dlq} #1`]);
});

test("the dead letter down: the hand-off is retried on the dead letter's schedule until it takes the event", async () => {
  script.first = () => refusedFirst([{ arn: 'a', delivered: false, permanent: true, error: 'a: 403' }]);
  script.deadLetter = async (input, attempt) => {
    if (attempt < 3) throw attemptFailure(new Error('connection refused'), { arn: input.arn, attempt }, 'dlq down');
    return { attempt };
  };
  try {
    const { result } = await deliver([target('a')]);
    assert.deepEqual(result.targets[0].deadLetter, { arn: dlq, status: 'delivered', attempts: 3 });
    assert.deepEqual(calls, [
      'first a',
      `durable dead-letter a ${dlq} #1`,
      `durable dead-letter a ${dlq} #2`,
      `durable dead-letter a ${dlq} #3`,
    ]);
  } finally {
    delete script.deadLetter;
  }
});

test('the dead letter refusing for good too: both failures are in the result, nothing is dropped silently', async () => {
  script.first = () => refusedFirst([{ arn: 'a', delivered: false, permanent: true, error: 'a: 403' }]);
  script.deadLetter = async (input, attempt) => {
    throw attemptFailure(new PermanentDeliveryError('401'), { arn: input.arn, attempt }, `${input.arn}: answered 401`);
  };
  try {
    const { result } = await deliver([target('a')]);
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.targets, [
      {
        arn: 'a',
        status: 'failed',
        attempts: 1,
        error: 'a: 403',
        deadLetter: { arn: dlq, status: 'failed', attempts: 1, error: `${dlq}: answered 401` },
      },
    ]);
    assert.equal(calls.length, 2); // a permanent refusal is not retried
  } finally {
    delete script.deadLetter;
  }
});

test('nothing is handed off for a delivered target, nor for a failed one without a dead letter', async () => {
  script.first = () =>
    refusedFirst([
      { arn: 'a', delivered: true },
      { arn: 'b', delivered: false, permanent: true, error: 'b: 400' },
    ]);
  const { result } = await deliver([target('a'), target('b', {}, false)]);
  assert.equal(result.status, 'partial');
  assert.ok(result.targets.every((t) => t.deadLetter === undefined));
  assert.deepEqual(calls, ['first a,b']);
  assert.equal(handedOff.length, 0);
});
