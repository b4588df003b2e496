// Put and delete events through the real workflow into the stack's Redis, PostgreSQL, MySQL and
// Elasticsearch, read back in the guide's shapes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client as Elasticsearch } from '@elastic/elasticsearch';
import Redis from 'ioredis';
import { createPool } from 'mysql2/promise';
import { Pool } from 'pg';
import { endpoints, mysqlDsn } from '../../scripts/stack/endpoints';
import { buildEvent } from '../../src/events';
import { namespaceDocId } from '../../src/targets/elasticsearch';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal', 'redis', 'postgres', 'mariadb', 'elasticsearch');

const bucket = uniqueBucket('images');
const suffix = randomUUID().slice(0, 8);
const redisKey = `bucketevents-${suffix}`;
const table = `bucketevents_${suffix}`;
const [host, port] = endpoints.redis.split(':');
const redis = new Redis({ host, port: Number(port) });
const pg = new Pool({ connectionString: endpoints.postgres, max: 1 });
const mysql = createPool({ uri: endpoints.mysql, connectionLimit: 1 });
const es = new Elasticsearch({ node: endpoints.elasticsearch });
const esIndex = `bucketevents-${suffix}`;
const everyChange = ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'];
let engine: Engine;

before(async () => {
  engine = await startEngine({
    notify: {
      redis: { '1': { enable: true, address: endpoints.redis, key: redisKey, format: 'access' } },
      postgresql: { '1': { enable: true, connectionString: endpoints.postgres, table } },
      mysql: { '1': { enable: true, dsnString: mysqlDsn(), table } },
      elasticsearch: { '1': { enable: true, url: endpoints.elasticsearch, index: esIndex, format: 'namespace' } },
    },
    rules: {
      [bucket]: [
        { id: '1', arn: 'arn:minio:sqs:us-east-1:1:redis', events: everyChange, prefix: '', suffix: '.jpg' },
        { id: '2', arn: 'arn:minio:sqs:us-east-1:1:postgresql', events: everyChange, prefix: '', suffix: '.jpg' },
        { id: '3', arn: 'arn:minio:sqs:us-east-1:1:mysql', events: everyChange, prefix: '', suffix: '.jpg' },
        { id: '4', arn: 'arn:minio:sqs:us-east-1:1:elasticsearch', events: everyChange, prefix: '', suffix: '.jpg' },
      ],
    },
  });
});
after(async () => {
  await engine.stop();
  redis.disconnect();
  await pg.end();
  await mysql.query(`DROP TABLE IF EXISTS ${table}, ${table}_bucketflow_seq`);
  await mysql.end();
  await es.indices.delete({ index: [esIndex, `bucketflow-seq-${esIndex}`], ignore_unavailable: true });
  await es.close();
});

async function deliver(eventName: string, key: string, at: number) {
  const record = buildEvent({ eventName, bucket, key, size: 56060, eventTime: new Date(at) });
  const [published] = await engine.client.publish(record);
  const result = await engine.client.temporal.workflow.getHandle(published.workflowId).result();
  assert.equal(result.status, 'delivered');
  return record;
}

/** The guide's `select * from minio_images` (MySQL) as key/value pairs. */
async function mysqlRows() {
  const [rows] = await mysql.query(`SELECT key_name, value FROM ${table} ORDER BY key_name`);
  return rows as Array<{ key_name: string; value: unknown }>;
}

/** The guide's `curl .../<index>/_search`: each hit's id and `_source`. */
async function esHits() {
  await es.indices.refresh({ index: esIndex });
  const result = await es.search({ index: esIndex, size: 100 });
  return result.hits.hits
    .map((hit) => ({ id: hit._id, source: hit._source }))
    .sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

test("the guide's Redis list, PostgreSQL and MySQL tables and Elasticsearch index after puts and a delete through the workflow", async () => {
  const now = Date.now();
  const put = await deliver('s3:ObjectCreated:Put', 'myphoto.jpg', now);
  const keep = await deliver('s3:ObjectCreated:Put', 'keep.jpg', now + 1);
  assert.deepEqual((await pg.query(`SELECT key, value FROM ${table} ORDER BY key`)).rows, [
    { key: `${bucket}/keep.jpg`, value: { Records: [keep] } },
    { key: `${bucket}/myphoto.jpg`, value: { Records: [put] } },
  ]);
  assert.deepEqual(await mysqlRows(), [
    { key_name: `${bucket}/keep.jpg`, value: { Records: [keep] } },
    { key_name: `${bucket}/myphoto.jpg`, value: { Records: [put] } },
  ]);
  const keepDoc = { id: await namespaceDocId(`${bucket}/keep.jpg`), source: { Records: [keep] } };
  const putDoc = { id: await namespaceDocId(`${bucket}/myphoto.jpg`), source: { Records: [put] } };
  assert.deepEqual(
    await esHits(),
    [keepDoc, putDoc].sort((a, b) => a.id.localeCompare(b.id)),
  );

  const del = await deliver('s3:ObjectRemoved:Delete', 'myphoto.jpg', now + 2);
  assert.deepEqual((await pg.query(`SELECT key FROM ${table}`)).rows, [{ key: `${bucket}/keep.jpg` }]);
  assert.deepEqual(await mysqlRows(), [{ key_name: `${bucket}/keep.jpg`, value: { Records: [keep] } }]);
  assert.deepEqual(await esHits(), [keepDoc]);
  const list = (await redis.lrange(redisKey, 0, -1)).map((item) => JSON.parse(item));
  assert.deepEqual(list, [{ Records: [put] }, { Records: [keep] }, { Records: [del] }]);
});
