import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpoints } from '../../scripts/stack/endpoints';
import { PostgresRulesStore, type NotificationRule } from '../../src/rules';

const a = 'arn:minio:sqs:us-east-1:1:amqp';
const rule = (prefix: string): NotificationRule => ({ id: '1', arn: a, events: ['s3:ObjectCreated:*'], prefix, suffix: '' });

test('the PostgreSQL store shares rules between stores (workers) at once', async () => {
  const one = new PostgresRulesStore(endpoints.postgres);
  const two = new PostgresRulesStore(endpoints.postgres);
  const bucket = `pg-${Date.now()}`;
  try {
    await one.put(bucket, [rule('x/')]);
    assert.deepEqual(await two.get(bucket), [rule('x/')]);
    assert.ok((await two.buckets()).includes(bucket));
    await two.remove(bucket);
    assert.deepEqual(await one.get(bucket), []);
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
});
