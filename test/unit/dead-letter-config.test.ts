// The `dead_letter` parameter as the loader takes it (the JSON config and MINIO_NOTIFY_* env vars alike): the route
// a target's settings carry, each unusable value refused at load in one line naming the field, and the body a
// message target sends for a dead letter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadTargetsConfig, retrySettingsByArn, retrySettingsOf } from '../../src/config';
import { envelopeJson } from '../../src/targets/common';
import { deadLetterEventId, deliveryOf } from '../../activities/deliver';
import { buildEvent } from '../../src/events';
import type { DeadLetterFailure } from '../../src/delivery/types';

const arn = (id: string, type = 'webhook') => `arn:minio:sqs:us-east-1:${id}:${type}`;
const webhook = (extra: Record<string, unknown> = {}) => ({ enable: true, endpoint: 'http://127.0.0.1:9/', ...extra });
const load = (notify: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  loadTargetsConfig({ text: JSON.stringify({ notify }), env, region: 'us-east-1' }).targets;

test("a target's settings carry its dead letter with the dead letter's own schedule; others carry none", () => {
  const targets = load({
    webhook: { a: webhook({ dead_letter: arn('dlq', 'kafka') }), b: webhook() },
    kafka: { dlq: { enable: true, brokers: '127.0.0.1:9092', topic: 'dead', retry_max_duration: '1h' } },
  });
  const settings = retrySettingsByArn(targets);
  const dlq = targets.find((t) => t.arn === arn('dlq', 'kafka'))!;
  assert.deepEqual(settings.get(arn('a'))?.deadLetter, { arn: dlq.arn, retry: retrySettingsOf(dlq.config) });
  assert.equal(settings.get(arn('a'))?.deadLetter?.retry.maxDurationMs, 3_600_000);
  assert.equal(settings.get(arn('b'))?.deadLetter, undefined);
  assert.equal(settings.get(dlq.arn)?.deadLetter, undefined);
});

test('MINIO_NOTIFY_<TYPE>_DEAD_LETTER[_<ID>] sets it as the file does (deadLetter, the camelCase spelling, too)', () => {
  const env = { MINIO_NOTIFY_WEBHOOK_DEAD_LETTER_1: arn('dlq') };
  const targets = load({ webhook: { '1': webhook(), dlq: webhook() } }, env);
  assert.equal(retrySettingsByArn(targets).get(arn('1'))?.deadLetter?.arn, arn('dlq'));
  const camel = load({ webhook: { a: webhook({ deadLetter: arn('dlq') }), dlq: webhook() } });
  assert.equal(camel[0].config.dead_letter, arn('dlq'));
});

test('an unusable dead_letter is refused at load, one line naming the target and the field', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ webhook: { a: webhook({ dead_letter: 'dlq' }) } }, /dead_letter: ARN "dlq": expected arn:minio:sqs:/],
    [{ webhook: { a: webhook({ dead_letter: arn('nope') }) } }, /dead_letter: names no configured target: arn:.*nope/],
    [{ webhook: { a: webhook({ dead_letter: arn('a') }) } }, /dead_letter: a target cannot be its own dead letter/],
    [
      { webhook: { a: webhook({ dead_letter: arn('dlq') }), dlq: webhook({ enable: false }) } },
      /dead_letter: names a disabled target: arn:.*dlq/,
    ],
    [
      {
        webhook: { a: webhook({ dead_letter: arn('dlq', 'redis') }) },
        redis: { dlq: { enable: true, address: '127.0.0.1:6379', key: 'dead', format: 'namespace' } },
      },
      /dead_letter: arn:.*dlq:redis keeps one row per object \(format namespace\)/,
    ],
    [
      {
        webhook: {
          a: webhook({ dead_letter: arn('b') }),
          b: webhook({ dead_letter: arn('c') }),
          c: webhook({ dead_letter: arn('a') }),
        },
      },
      /dead_letter: dead letters run in a cycle: arn:.*:a:webhook -> arn:.*:b:webhook -> arn:.*:c:webhook -> arn:.*:a/,
    ],
  ];
  for (const [notify, problem] of cases) {
    assert.throws(
      () => load(notify),
      (err: Error) => {
        assert.ok(err instanceof ConfigError, err.message);
        assert.match(err.message, /^arn:minio:sqs:us-east-1:a:webhook: notify\.webhook\.a\.dead_letter: /);
        assert.match(err.message, problem);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      },
    );
  }
});

test('accepted: a chain (each target its own dead letter), an access-format store, a disabled target pointing anywhere', () => {
  const targets = load({
    webhook: {
      a: webhook({ dead_letter: arn('b') }),
      b: webhook({ dead_letter: arn('dlq', 'redis') }),
      off: { enable: false, endpoint: 'http://127.0.0.1:9/', dead_letter: arn('gone') },
    },
    redis: { dlq: { enable: true, address: '127.0.0.1:6379', key: 'dead', format: 'access' } },
  });
  const settings = retrySettingsByArn(targets);
  assert.equal(settings.get(arn('a'))?.deadLetter?.arn, arn('b'));
  assert.equal(settings.get(arn('a'))?.deadLetter?.retry.deadLetter, undefined); // a hand-off is not passed on
  assert.equal(settings.get(arn('b'))?.deadLetter?.arn, arn('dlq', 'redis'));
  assert.equal(settings.get(arn('off'))?.deadLetter, undefined);
});

test('a message target sends a dead letter as {"deadLetter": failure, "event": envelope}, under an id of its own', () => {
  const record = buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'photos', key: 'cat.jpg', size: 3 });
  const delivery = deliveryOf({ eventId: 'e'.repeat(32), record });
  const failure: DeadLetterFailure = {
    target: arn('a'),
    eventId: delivery.eventId,
    errorType: 'PermanentDeliveryError',
    error: `${arn('a')}: answered 400`,
    attempts: 1,
    firstAttemptAt: '2026-01-01T00:00:00.000Z',
    lastAttemptAt: '2026-01-01T00:00:01.000Z',
    workflowId: 'bucketflow-x',
    runId: 'r',
  };
  assert.deepEqual(JSON.parse(envelopeJson(delivery)), delivery.envelope);
  assert.deepEqual(JSON.parse(envelopeJson({ ...delivery, deadLetter: failure })), {
    deadLetter: failure,
    event: delivery.envelope,
  });
  const id = deadLetterEventId(delivery.eventId, arn('a'));
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.notEqual(id, delivery.eventId);
  assert.notEqual(id, deadLetterEventId(delivery.eventId, arn('b')));
  assert.equal(id, deadLetterEventId(delivery.eventId, arn('a')));
});
