// Per-key order's pieces that need no server: the `order` and `order_window` parameters (a bad value is one line
// naming the field), the retry settings a target with `order: key` carries, the workflow's sequencer order (the same
// as the store targets' orderingKey) and the per-(target, object) workflow ids.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadTargetsConfig } from '../../src/config';
import { DEFAULT_RETRY, retrySettingsOf } from '../../src/config/retry';
import { sequencerOrder } from '../../src/delivery/key-order';
import { buildEvent, orderingKey } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { KEY_ORDER_ID_PREFIX, keyOrderWorkflowId } from '../../src/publish/publisher';

const webhook = (extra: Record<string, unknown>) =>
  JSON.stringify({ webhook: { '1': { enable: true, endpoint: 'http://127.0.0.1:1/', ...extra } } });

test('order: key gives the target a hold window (1 s unless order_window says); none is the default', () => {
  const [plain] = loadTargetsConfig({ text: webhook({}), env: {} }).targets;
  assert.equal(retrySettingsOf(plain.config).keyOrder, undefined);
  assert.equal(DEFAULT_RETRY.keyOrder, undefined, 'a target this worker does not know is unordered');
  const [ordered] = loadTargetsConfig({ text: webhook({ order: 'key' }), env: {} }).targets;
  assert.deepEqual(retrySettingsOf(ordered.config).keyOrder, { windowMs: 1_000 });
  const [windowed] = loadTargetsConfig({ text: webhook({ order: 'key', order_window: '250ms' }), env: {} }).targets;
  assert.deepEqual(retrySettingsOf(windowed.config).keyOrder, { windowMs: 250 });
  const [fromEnv] = loadTargetsConfig({ text: webhook({}), env: { MINIO_NOTIFY_WEBHOOK_ORDER_1: 'key' } }).targets;
  assert.deepEqual(retrySettingsOf(fromEnv.config).keyOrder, { windowMs: 1_000 }, 'MINIO_NOTIFY_WEBHOOK_ORDER_1');
});

test('a bad order or order_window is one line naming the field', () => {
  for (const [extra, field] of [
    [{ order: 'sideways' }, 'notify.webhook.1.order: expected one of none, key'],
    [{ order: 'key', order_window: '2h' }, 'notify.webhook.1.order_window'],
  ] as const) {
    assert.throws(
      () => loadTargetsConfig({ text: webhook(extra), env: {} }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(field) && !e.message.includes('\n'),
      JSON.stringify(extra),
    );
  }
});

test("the workflow's sequencer order is the store targets' orderingKey", () => {
  const records: S3EventRecord[] = [
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k', size: 1, sequencer: '17F0A1B2C3D40001' }),
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k', size: 1, sequencer: 'ff' }),
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k', size: 1, sequencer: '017F0A1B2C3D400011' }),
  ];
  const missing = structuredClone(records[0]);
  (missing.s3.object as { sequencer?: string }).sequencer = undefined;
  for (const record of [...records, missing]) assert.equal(sequencerOrder(record), orderingKey(record));
  assert.ok(sequencerOrder(records[1]) < sequencerOrder(records[0]), 'a shorter sequencer is an older one');
  assert.ok(sequencerOrder(records[0]) < sequencerOrder(records[2]));
});

test('the per-(target, object) workflow id is readable when short, hashed when long or unprintable', () => {
  const arn = 'arn:minio:sqs::1:webhook';
  assert.equal(keyOrderWorkflowId(arn, 'photos', 'a/b.jpg'), `${KEY_ORDER_ID_PREFIX}${arn}/photos/a/b.jpg`);
  const long = keyOrderWorkflowId(arn, 'photos', 'x'.repeat(1000));
  assert.match(long, /^bucketflow-key-h-[0-9a-f]{40}$/);
  assert.notEqual(long, keyOrderWorkflowId(arn, 'photos', 'x'.repeat(1001)));
  assert.match(keyOrderWorkflowId(arn, 'photos', 'a b.jpg'), /^bucketflow-key-h-/);
  assert.equal(keyOrderWorkflowId(arn, 'photos', 'k'), keyOrderWorkflowId(arn, 'photos', 'k'), 'deterministic');
});
