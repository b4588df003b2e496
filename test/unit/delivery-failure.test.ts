// The delivery-failure contract (src/delivery/failure.ts): every failure an attempt or a delivery reports
// decodes to what was encoded, as a workflow receives it (an SDK error, perhaps wrapped in an ActivityFailure)
// and as a history records it (a proto failure, read by `deliveries show`); malformed details decode to
// nothing instead of throwing; and every failure in the recorded histories (test/fixtures/histories) decodes.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  ActivityFailure,
  ApplicationFailure,
  DefaultFailureConverter,
  defaultPayloadConverter,
  RetryState,
  type ProtoFailure,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import {
  attemptDetailsOf,
  attemptFailure,
  DELIVERY_FAILED,
  deliveryFailure,
  deliveryResultOf,
  failureFromHistory,
  firstAttemptFailure,
  firstAttemptOutcomesOf,
  isPermanentFailure,
  PERMANENT_FAILURE,
  PermanentDeliveryError,
  RETRYABLE_FAILURE,
  TARGET_HELD,
  TargetHeld,
} from '../../src/delivery/failure';
import type { DeliveryResult, TargetAttempt } from '../../src/delivery/types';

const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const converter = new DefaultFailureConverter();

/** The failure as a history records it, read back as `deliveries show` reads it. */
function throughHistory(err: Error): Error | undefined {
  const proto: ProtoFailure = temporal.api.failure.v1.Failure.fromObject(
    temporal.api.failure.v1.Failure.toObject(
      temporal.api.failure.v1.Failure.create(converter.errorToFailure(err, defaultPayloadConverter)),
    ),
  );
  return failureFromHistory(proto);
}

/** The failure of a regular activity as the workflow receives it: wrapped in an ActivityFailure. */
function asActivityFailure(cause: Error): ActivityFailure {
  return new ActivityFailure(
    'Activity task failed',
    'deliverToTarget',
    `deliver ${arn}`,
    RetryState.NON_RETRYABLE_FAILURE,
    'worker',
    cause,
  );
}

/** Every way the failure reaches a decoder: as thrown, wrapped by the SDK, recorded in a history, both. */
function everyForm(failure: ApplicationFailure): Array<[string, Error | undefined]> {
  return [
    ['as thrown', failure],
    ['in an ActivityFailure', asActivityFailure(failure)],
    ['from a history', throughHistory(failure)],
    ['in an ActivityFailure from a history', throughHistory(asActivityFailure(failure))],
  ];
}

test('a retryable attempt failure carries its attempt and target; not permanent; retried on the schedule', () => {
  const failure = attemptFailure(
    new Error('503 Service Unavailable'),
    { arn, attempt: 4 },
    `${arn}: 503 Service Unavailable`,
  );
  assert.equal(failure.type, RETRYABLE_FAILURE);
  assert.equal(failure.nonRetryable, false);
  assert.equal(failure.nextRetryDelay, undefined);
  assert.equal(failure.message, `${arn}: 503 Service Unavailable`);
  for (const [form, err] of everyForm(failure)) {
    assert.deepEqual(attemptDetailsOf(err), { attempt: 4, arn }, form);
    assert.equal(isPermanentFailure(err), false, form);
  }
});

test('a permanent attempt failure is never retried and decodes as permanent in every form', () => {
  const failure = attemptFailure(
    new PermanentDeliveryError('400 Bad Request'),
    { arn, attempt: 1 },
    `${arn}: 400 Bad Request`,
  );
  assert.equal(failure.type, PERMANENT_FAILURE);
  assert.equal(failure.nonRetryable, true);
  for (const [form, err] of everyForm(failure)) {
    assert.deepEqual(attemptDetailsOf(err), { attempt: 1, arn }, form);
    assert.equal(isPermanentFailure(err), true, form);
  }
});

test('a held target: TargetHeld, retried in a second, the reason in the details', () => {
  const held = new TargetHeld(arn, 'circuit open');
  const failure = attemptFailure(held, { arn, attempt: 2 }, held.message);
  assert.equal(failure.type, TARGET_HELD);
  assert.equal(failure.nextRetryDelay, '1s');
  assert.equal(failure.message, `${arn}: circuit open`);
  for (const [form, err] of everyForm(failure)) {
    assert.deepEqual(attemptDetailsOf(err), { attempt: 2, arn, held: 'circuit open' }, form);
    assert.equal(isPermanentFailure(err), false, form);
  }
});

test('a first attempt at several targets: every outcome comes back, the message counts the failed ones', () => {
  const outcomes: TargetAttempt[] = [
    { arn: 'a', delivered: true },
    { arn: 'b', delivered: false, permanent: true, error: 'b: 400' },
    { arn: 'c', delivered: false, permanent: false, error: 'c: 503' },
  ];
  const failure = firstAttemptFailure(outcomes);
  assert.equal(failure.type, RETRYABLE_FAILURE);
  assert.equal(failure.message, '2 of 3 targets failed: b: 400; c: 503');
  for (const [form, err] of everyForm(failure)) {
    assert.deepEqual(firstAttemptOutcomesOf(err), outcomes, form);
    assert.deepEqual(attemptDetailsOf(err), { attempt: 1 }, form);
  }
});

test('a failed delivery ends its workflow with DeliveryFailed, the result in its details', () => {
  const result: DeliveryResult = {
    eventId: 'e1',
    status: 'partial',
    targets: [
      { arn: 'a', status: 'delivered', attempts: 1 },
      { arn: 'b', status: 'failed', attempts: 3, error: 'b: 503' },
    ],
  };
  const failure = deliveryFailure(result);
  assert.equal(failure.type, DELIVERY_FAILED);
  assert.equal(failure.nonRetryable, true);
  assert.equal(failure.message, 'delivery partial: b');
  assert.deepEqual(deliveryResultOf(failure), result);
  assert.deepEqual(deliveryResultOf(throughHistory(failure)), result);
  // Another failure type carrying a result-shaped detail is not a delivery's result.
  assert.equal(deliveryResultOf(ApplicationFailure.create({ type: RETRYABLE_FAILURE, details: [result] })), undefined);
});

test('malformed or missing details decode to nothing, never throw', () => {
  const malformed = [
    ApplicationFailure.create({ type: RETRYABLE_FAILURE, message: 'no details' }),
    ApplicationFailure.create({ type: RETRYABLE_FAILURE, details: [{ attempt: '3' }] }),
    ApplicationFailure.create({ type: RETRYABLE_FAILURE, details: ['a string'] }),
    ApplicationFailure.create({ type: RETRYABLE_FAILURE, details: [null] }),
    ApplicationFailure.create({
      type: RETRYABLE_FAILURE,
      details: [{ attempt: 1, outcomes: [{ arn: 'a', delivered: 'yes' }] }],
    }),
    ApplicationFailure.create({
      type: DELIVERY_FAILED,
      details: [{ eventId: 'e', status: 'failed', targets: [{ arn: 'a', status: 'lost' }] }],
    }),
  ];
  for (const failure of malformed) {
    for (const [form, err] of everyForm(failure)) {
      assert.equal(firstAttemptOutcomesOf(err), undefined, `${form}: ${JSON.stringify(failure.details)}`);
      assert.equal(deliveryResultOf(err), undefined, `${form}: ${JSON.stringify(failure.details)}`);
    }
  }
  assert.equal(attemptDetailsOf(malformed[1]), undefined);
  assert.deepEqual(attemptDetailsOf(ApplicationFailure.create({ details: [{ attempt: 2, arn: 7, held: 'bored' }] })), {
    attempt: 2,
  });
  assert.equal(attemptDetailsOf(undefined), undefined);
  assert.equal(failureFromHistory(null), undefined);
});

test('every failure in the recorded histories decodes through the contract', () => {
  const dir = path.resolve(__dirname, '../fixtures/histories');
  const seen = { [PERMANENT_FAILURE]: 0, [RETRYABLE_FAILURE]: 0, firstAttempts: 0, [DELIVERY_FAILED]: 0 };
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.json'))) {
    const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
    for (const event of history.events) {
      const recorded =
        event.markerRecordedEventAttributes?.failure ??
        event.activityTaskFailedEventAttributes?.failure ??
        event.workflowExecutionFailedEventAttributes?.failure;
      if (!recorded) continue;
      const where = `${file} event ${event.eventId}`;
      const failure = failureFromHistory(recorded);
      assert.ok(failure instanceof ApplicationFailure, where);
      if (failure.type === DELIVERY_FAILED) {
        const result = deliveryResultOf(failure);
        assert.ok(result, where);
        assert.ok(
          result.targets.some((t) => t.status === 'failed'),
          where,
        );
        assert.match(failure.message, new RegExp(`^delivery ${result.status}: `), where);
        seen[DELIVERY_FAILED]++;
        continue;
      }
      assert.ok(failure.type === PERMANENT_FAILURE || failure.type === RETRYABLE_FAILURE, `${where}: ${failure.type}`);
      seen[failure.type]++;
      const details = attemptDetailsOf(failure);
      assert.ok(details && details.attempt >= 1, where);
      assert.equal(isPermanentFailure(failure), failure.type === PERMANENT_FAILURE, where);
      const counted = /^(\d+) of (\d+) targets failed: /.exec(failure.message);
      if (counted) {
        // A first attempt at several targets: an outcome per target, as many failed as the message says.
        const outcomes = firstAttemptOutcomesOf(failure);
        assert.ok(outcomes, where);
        assert.equal(details.attempt, 1, where);
        assert.equal(outcomes.length, Number(counted[2]), where);
        assert.equal(outcomes.filter((o) => !o.delivered).length, Number(counted[1]), where);
        seen.firstAttempts++;
      } else {
        // Histories recorded before the arn was added to the details: the message still starts with it.
        assert.match(failure.message, /^arn:minio:sqs:/, where);
      }
    }
  }
  for (const [kind, count] of Object.entries(seen))
    assert.ok(count > 0, `the recorded histories hold a ${kind} failure`);
});
