// Put and delete events through the real workflow into the stack's Redis and PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent } from '../../src/events';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';

const bucket = uniqueBucket('images');
const suffix = randomUUID().slice(0, 8);
const redisKey = `bucketevents-${suffix}`;
const table = `bucketevents_${suffix}`;
const [host, port] = endpoints.redis.split(':');
const redis = new Redis({ host, port: Number(port) });
const pg = new Pool({ connectionString: endpoints.postgres, max: 1 });
let engine: Engine;

before(async () => {
  engine = await startEngine({
    notify: {
      redis: { '1': { enable: true, address: endpoints.redis, key: redisKey, format: 'access' } },
      postgresql: { '1': { enable: true, connectionString: endpoints.postgres, table } },
    },
    rules: {
      [bucket]: [
        { id: '1', arn: 'arn:minio:sqs:us-east-1:1:redis', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], prefix: '', suffix: '.jpg' },
        { id: '2', arn: 'arn:minio:sqs:us-east-1:1:postgresql', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], prefix: '', suffix: '.jpg' },
      ],
    },
  });
});
after(async () => {
  await engine.stop();
  redis.disconnect();
  await pg.end();
});

async function deliver(eventName: string, key: string, at: number) {
  const record = buildEvent({ eventName, bucket, key, size: 56060, eventTime: new Date(at) });
  const [published] = await engine.client.publish(record);
  const result = await engine.client.temporal.workflow.getHandle(published.workflowId).result();
  assert.equal(result.status, 'delivered');
  return record;
}

test('the guide\'s Redis list and PostgreSQL table after a put and a delete through the workflow', async () => {
  const now = Date.now();
  const put = await deliver('s3:ObjectCreated:Put', 'myphoto.jpg', now);
  const keep = await deliver('s3:ObjectCreated:Put', 'keep.jpg', now + 1);
  assert.deepEqual((await pg.query(`SELECT key, value FROM ${table} ORDER BY key`)).rows, [
    { key: `${bucket}/keep.jpg`, value: { Records: [keep] } },
    { key: `${bucket}/myphoto.jpg`, value: { Records: [put] } },
  ]);
  const del = await deliver('s3:ObjectRemoved:Delete', 'myphoto.jpg', now + 2);
  assert.deepEqual((await pg.query(`SELECT key FROM ${table}`)).rows, [{ key: `${bucket}/keep.jpg` }]);
  const list = (await redis.lrange(redisKey, 0, -1)).map((item) => JSON.parse(item));
  assert.deepEqual(list, [{ Records: [put] }, { Records: [keep] }, { Records: [del] }]);
});
