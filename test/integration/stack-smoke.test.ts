// One real round trip per stack service (see scripts/stack), using the project's client libraries and
// the loopback endpoints every test uses. Run after `npm run stack -- up`; each test declares its service, so one
// service down skips (in CI fails) only its own round trip.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe } from 'node:test';
import { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import amqp from 'amqplib';
import Redis from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { connectAsync } from 'mqtt';
import mysql from 'mysql2/promise';
import { AckPolicy, connect as connectNats, StringCodec } from 'nats';
import { Client as PgClient } from 'pg';
import { endpoints } from '../../scripts/stack/endpoints';
import { temporalCliPath } from '../../scripts/stack/services/temporal';
import { indexedValueType } from '../../src/temporal/register-search-attributes';
import { SEARCH_ATTRIBUTES, searchKeys } from '../../src/delivery/search-attributes';
import * as activities from '../fixtures/stack/activities';
import { greetingWorkflow } from '../fixtures/stack/workflows';
import { needsEach } from '../helpers/needs';
import { createTopic } from '../../scripts/stack/kafka-topics';

const service = needsEach(
  'temporal',
  'temporal-cli',
  'postgres',
  'mariadb',
  'redis',
  'rabbitmq',
  'nats',
  'mosquitto',
  'kafka',
  'elasticsearch',
);
const TIMEOUT = { timeout: 120_000 };
Runtime.install({ logger: new DefaultLogger('WARN') });
const unique = () => randomUUID().replace(/-/g, '').slice(0, 12);

describe('stack smoke: one round trip per service', () => {
  service.temporal.test(
    'temporal runs a workflow on an in-process worker and serves its history',
    TIMEOUT,
    async () => {
      const taskQueue = `stack-smoke-${unique()}`;
      const workflowId = `stack-smoke-${unique()}`;
      const workerConnection = await NativeConnection.connect({ address: endpoints.temporal });
      const connection = await Connection.connect({ address: endpoints.temporal });
      try {
        const worker = await Worker.create({
          connection: workerConnection,
          taskQueue,
          activities,
          workflowsPath: require.resolve('../fixtures/stack/workflows'),
        });
        const client = new Client({ connection });
        const result = await worker.runUntil(
          client.workflow.execute(greetingWorkflow, {
            taskQueue,
            workflowId,
            args: ['stack'],
            typedSearchAttributes: [{ key: searchKeys.bucket, value: 'smoke-bucket' }],
          }),
        );
        assert.equal(result, 'hello stack');

        const handle = client.workflow.getHandle(workflowId);
        const events = (await handle.fetchHistory()).events ?? [];
        // Each history event carries the attributes of its type.
        const kinds = events.flatMap((event) => Object.keys(event).filter((key) => key.endsWith('EventAttributes')));
        for (const kind of ['workflowExecutionStarted', 'activityTaskCompleted', 'workflowExecutionCompleted']) {
          assert.ok(kinds.includes(`${kind}EventAttributes`), `history has ${kind}: ${kinds.join(', ')}`);
        }
        const description = await handle.describe();
        assert.equal(description.typedSearchAttributes.get(searchKeys.bucket), 'smoke-bucket');
      } finally {
        await connection.close();
        await workerConnection.close();
      }
    },
  );

  service.temporal.test('temporal has the project search attributes registered', TIMEOUT, async () => {
    const connection = await Connection.connect({ address: endpoints.temporal });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
        assert.equal(customAttributes?.[name], indexedValueType(type), `search attribute ${name}: ${type}`);
      }
    } finally {
      await connection.close();
    }
  });

  service['temporal-cli'].test(
    "@temporalio/testing runs its own dev server from the stack's temporal CLI",
    TIMEOUT,
    async () => {
      const env = await TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'existing-path', path: temporalCliPath() } },
      });
      try {
        const taskQueue = `stack-smoke-${unique()}`;
        const worker = await Worker.create({
          connection: env.nativeConnection,
          taskQueue,
          activities,
          workflowsPath: require.resolve('../fixtures/stack/workflows'),
        });
        const result = await worker.runUntil(
          env.client.workflow.execute(greetingWorkflow, {
            taskQueue,
            workflowId: `stack-smoke-${unique()}`,
            args: ['testing'],
          }),
        );
        assert.equal(result, 'hello testing');
      } finally {
        await env.teardown();
      }
    },
  );

  service.postgres.test('postgres writes and reads a row', TIMEOUT, async () => {
    const client = new PgClient({ connectionString: endpoints.postgres });
    await client.connect();
    try {
      await client.query('CREATE TABLE IF NOT EXISTS stack_smoke (id text PRIMARY KEY, body jsonb NOT NULL)');
      const id = unique();
      await client.query('INSERT INTO stack_smoke (id, body) VALUES ($1, $2)', [id, { hello: 'postgres' }]);
      const { rows } = await client.query('SELECT body FROM stack_smoke WHERE id = $1', [id]);
      assert.deepEqual(rows, [{ body: { hello: 'postgres' } }]);
      await client.query('DELETE FROM stack_smoke WHERE id = $1', [id]);
    } finally {
      await client.end();
    }
  });

  service.mariadb.test('mariadb writes and reads a row', TIMEOUT, async () => {
    const connection = await mysql.createConnection({ uri: endpoints.mysql });
    try {
      await connection.query('CREATE TABLE IF NOT EXISTS stack_smoke (id VARCHAR(64) PRIMARY KEY, body JSON NOT NULL)');
      const id = unique();
      await connection.query('INSERT INTO stack_smoke (id, body) VALUES (?, ?)', [
        id,
        JSON.stringify({ hello: 'mysql' }),
      ]);
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT body FROM stack_smoke WHERE id = ?', [id]);
      const body: unknown = rows[0].body;
      assert.deepEqual(typeof body === 'string' ? JSON.parse(body) : body, { hello: 'mysql' });
      await connection.query('DELETE FROM stack_smoke WHERE id = ?', [id]);
    } finally {
      await connection.end();
    }
  });

  service.redis.test('redis RPUSH then LRANGE', TIMEOUT, async () => {
    const [host, port] = endpoints.redis.split(':');
    const redis = new Redis({ host, port: Number(port) });
    try {
      const key = `stack-smoke:${unique()}`;
      await redis.rpush(key, 'first', 'second');
      assert.deepEqual(await redis.lrange(key, 0, -1), ['first', 'second']);
      await redis.del(key);
    } finally {
      redis.disconnect();
    }
  });

  service.rabbitmq.test('rabbitmq publishes and consumes a message', TIMEOUT, async () => {
    const connection = await amqp.connect(endpoints.amqp);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      const received = new Promise<string>((resolve) => {
        void channel.consume(queue, (message) => {
          if (!message) return;
          channel.ack(message);
          resolve(message.content.toString());
        });
      });
      channel.sendToQueue(queue, Buffer.from('hello amqp'));
      assert.equal(await received, 'hello amqp');
      await channel.close();
    } finally {
      await connection.close();
    }
  });

  service.nats.test('nats jetstream stores and delivers a message on a new stream', TIMEOUT, async () => {
    const connection = await connectNats({ servers: endpoints.nats });
    const stream = `STACK_SMOKE_${unique()}`;
    const codec = StringCodec();
    try {
      const manager = await connection.jetstreamManager();
      await manager.streams.add({ name: stream, subjects: [`${stream}.>`] });
      const ack = await connection.jetstream().publish(`${stream}.hello`, codec.encode('hello jetstream'));
      assert.equal(ack.stream, stream);
      await manager.consumers.add(stream, { durable_name: 'smoke', ack_policy: AckPolicy.Explicit });
      const consumer = await connection.jetstream().consumers.get(stream, 'smoke');
      const message = await consumer.next({ expires: 10_000 });
      assert.ok(message, 'jetstream delivered the message');
      assert.equal(codec.decode(message.data), 'hello jetstream');
      message.ack();
      await manager.streams.delete(stream);
    } finally {
      await connection.close();
    }
  });

  service.mosquitto.test('mosquitto delivers a published message to a subscriber', TIMEOUT, async () => {
    const client = await connectAsync(endpoints.mqtt);
    try {
      const topic = `stack-smoke/${unique()}`;
      await client.subscribeAsync(topic, { qos: 1 });
      const received = new Promise<[string, Buffer]>((resolve) => {
        client.once('message', (gotTopic, payload) => resolve([gotTopic, payload]));
      });
      await client.publishAsync(topic, 'hello mqtt', { qos: 1 });
      const [gotTopic, payload] = await received;
      assert.equal(gotTopic, topic);
      assert.equal(payload.toString(), 'hello mqtt');
    } finally {
      await client.endAsync();
    }
  });

  service.kafka.test('kafka produces to a topic and consumes it back', TIMEOUT, async () => {
    const kafka = new Kafka({ brokers: [endpoints.kafka], clientId: 'stack-smoke', logLevel: logLevel.WARN });
    const topic = `stack-smoke-${unique()}`;
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const consumer = kafka.consumer({ groupId: `stack-smoke-${unique()}` });
    await admin.connect();
    try {
      await createTopic(admin, topic, 1);
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello kafka' }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({ eachMessage: async ({ message }) => resolve(String(message.value)) });
      });
      assert.equal(await received, 'hello kafka');
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  service.elasticsearch.test('elasticsearch indexes and finds a document', TIMEOUT, async () => {
    const client = new ElasticsearchClient({ node: endpoints.elasticsearch });
    const index = `stack-smoke-${unique()}`;
    try {
      await client.index({
        index,
        id: 'doc-1',
        document: { Key: 'bucket/photo.jpg', EventName: 's3:ObjectCreated:Put' },
        refresh: true,
      });
      const result = await client.search<{ Key: string }>({
        index,
        query: { match: { EventName: 's3:ObjectCreated:Put' } },
      });
      assert.equal(result.hits.hits.length, 1);
      assert.equal(result.hits.hits[0]._source?.Key, 'bucket/photo.jpg');
    } finally {
      await client.indices.delete({ index }, { ignore: [404] });
      await client.close();
    }
  });
});
