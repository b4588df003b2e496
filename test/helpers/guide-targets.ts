// The guide's targets on the stack's servers, as the benchmark and the large tests watch them: a local webhook
// receiver and Redis's MONITOR stamp every event's arrival; every other server is counted until it holds all N
// events (`counts`, cheap, polled); `tally` reads every message target back once at the end (each event id it holds,
// and how many times), for the tests that bound duplicates.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client as Elasticsearch } from '@elastic/elasticsearch';
import amqplib from 'amqplib';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import mqtt from 'mqtt';
import { createPool } from 'mysql2/promise';
import { connect as natsConnect } from 'nats';
import { Pool } from 'pg';
import { endpoints, mysqlDsn } from '../../scripts/stack/endpoints';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { createTopic } from '../../scripts/stack/kafka-topics';

/** `guide`: the guide's eight targets (AMQP, Elasticsearch, Redis, NATS, PostgreSQL, MySQL, Kafka, webhook); `all` adds
 * MQTT. */
export type TargetSet = 'webhook' | 'redis' | 'guide' | 'all';

/** One run's targets: the MinIO `notify` section to load, and what watches the servers. */
export interface Watch {
  notify: Record<string, Record<string, Record<string, unknown>>>;
  /** Arrival time (epoch ms) per event id at the stamping target (webhook, else Redis). */
  arrivals: Map<string, number>;
  /** Events each watched server holds now (a message target's duplicates included). */
  counts(): Promise<Record<string, number>>;
  /**
   * Per target: the events it holds or received (`held`) and the distinct event ids among them (`distinct`), read
   * back from each server (a message target's queue, stream or topic is read whole; an AMQP queue is emptied).
   * Store targets keep one row or document per object: held = distinct.
   */
  tally(): Promise<Record<string, { held: number; distinct: number }>>;
  close(): Promise<void>;
}

const [redisHost, redisPort] = endpoints.redis.split(':');

/** Wall-clock ms since the epoch with sub-ms precision (comparable with Redis's MONITOR times). */
const nowMs = () => performance.timeOrigin + performance.now();

/** Answers 200 to every POST and stamps the event id's arrival. */
async function startReceiver(arrivals: Map<string, number>) {
  const received = { posts: 0 };
  const server = createServer((req, res) => {
    const id = String(req.headers[EVENT_ID_HEADER.toLowerCase()] ?? '');
    req.resume();
    req.on('end', () => {
      received.posts++;
      if (!arrivals.has(id)) arrivals.set(id, nowMs());
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Redis's own clock stamps each EVALSHA of the access-format script; its 6th argument is the event id. */
async function monitorRedis(arrivals: Map<string, number>) {
  const client = new Redis({ host: redisHost, port: Number(redisPort) });
  const monitor = await client.monitor();
  monitor.on('monitor', (time: string, args: string[]) => {
    if (/^evalsha$|^eval$/i.test(args[0]) && args.length >= 6 && !arrivals.has(args[5]))
      arrivals.set(args[5], Number(time) * 1000);
  });
  return {
    close: async () => {
      monitor.disconnect();
      client.disconnect();
    },
  };
}

export async function watchTargets(set: TargetSet): Promise<Watch> {
  const suffix = randomUUID().slice(0, 8);
  const arrivals = new Map<string, number>();
  const closers: Array<() => Promise<void>> = [];
  const counters: Record<string, () => Promise<number>> = {};
  const tallies: Record<string, () => Promise<{ held: number; distinct: number }>> = {};
  const notify: Watch['notify'] = {};

  if (set !== 'redis') {
    const receiver = await startReceiver(arrivals);
    closers.push(receiver.close);
    notify.webhook = { '1': { enable: true, endpoint: receiver.url } };
    counters.webhook = async () => arrivals.size;
    tallies.webhook = async () => ({ held: receiver.received.posts, distinct: arrivals.size });
  }
  if (set !== 'webhook') {
    const key = `bench-${suffix}`;
    const redis = new Redis({ host: redisHost, port: Number(redisPort) });
    if (set === 'redis') closers.push((await monitorRedis(arrivals)).close);
    closers.push(async () => {
      await redis.del(key, `${key}:bucketflow:ids`);
      redis.disconnect();
    });
    notify.redis = { '1': { enable: true, address: endpoints.redis, key, format: 'access' } };
    counters.redis = () => redis.llen(key);
  }
  if (set === 'guide' || set === 'all')
    await watchEveryOtherServer(suffix, notify, counters, tallies, closers, set === 'all');

  return {
    notify,
    arrivals,
    async counts() {
      const entries = await Promise.all(
        Object.entries(counters).map(async ([name, count]) => [name, await count()] as const),
      );
      return Object.fromEntries(entries);
    },
    async tally() {
      const entries = await Promise.all(
        Object.entries(counters).map(async ([name, count]) => {
          const read = tallies[name];
          if (read) return [name, await read()] as const;
          const held = await count(); // stores (one row/document per object) and Redis's id-guarded list
          return [name, { held, distinct: held }] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    },
  };
}

/** PostgreSQL, MySQL and Elasticsearch in namespace format (one row/document per object, all keys distinct), AMQP, NATS
 * JetStream, Kafka, and MQTT if asked. */
async function watchEveryOtherServer(
  suffix: string,
  notify: Watch['notify'],
  counters: Record<string, () => Promise<number>>,
  tallies: Record<string, () => Promise<{ held: number; distinct: number }>>,
  closers: Array<() => Promise<void>>,
  withMqtt: boolean,
) {
  const table = `bench_${suffix}`;
  const pg = new Pool({ connectionString: endpoints.postgres, max: 1 });
  notify.postgresql = { '1': { enable: true, connectionString: endpoints.postgres, table, format: 'namespace' } };
  counters.postgresql = async () =>
    countRows(() => pg.query(`SELECT count(*)::int AS n FROM ${table}`).then((r) => r.rows[0].n));
  closers.push(async () => {
    await pg.query(`DROP TABLE IF EXISTS ${table}, ${table}_bucketflow_seq`);
    await pg.end();
  });

  const mysql = createPool({ uri: endpoints.mysql, connectionLimit: 1 });
  notify.mysql = { '1': { enable: true, dsnString: mysqlDsn(), table, format: 'namespace' } };
  counters.mysql = async () =>
    countRows(async () => ((await mysql.query(`SELECT count(*) AS n FROM ${table}`))[0] as Array<{ n: number }>)[0].n);
  closers.push(async () => {
    await mysql.query(`DROP TABLE IF EXISTS ${table}, ${table}_bucketflow_seq`);
    await mysql.end();
  });

  const index = `bench-${suffix}`;
  const es = new Elasticsearch({ node: endpoints.elasticsearch });
  notify.elasticsearch = { '1': { enable: true, url: endpoints.elasticsearch, index, format: 'namespace' } };
  // No forced refresh: it cost Elasticsearch more CPU than the indexing. Documents show within the
  // index's 1 s refresh interval, so the all-targets end time may be late by up to 1 s.
  counters.elasticsearch = async () => countRows(async () => (await es.count({ index })).count);
  closers.push(async () => {
    await es.indices.delete({ index: [index, `bucketflow-seq-${index}`], ignore_unavailable: true });
    await es.close();
  });

  // AMQP: the guide's fanout exchange with one bound queue, counted by the broker.
  const exchange = `bench-${suffix}`;
  const amqp = await amqplib.connect(endpoints.amqp);
  const channel = await amqp.createChannel();
  await channel.assertExchange(exchange, 'fanout', { durable: false });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, '');
  notify.amqp = {
    '1': {
      enable: true,
      url: endpoints.amqp,
      exchange,
      exchangeType: 'fanout',
      routingKey: 'bucketlogs',
      durable: false,
    },
  };
  counters.amqp = async () => (await channel.checkQueue(queue)).messageCount;
  tallies.amqp = async () => {
    // The target sets messageId = event id. Read with acks off until the queue is empty.
    const ids = new Set<string>();
    let held = 0;
    for (
      let message = await channel.get(queue, { noAck: true });
      message;
      message = await channel.get(queue, { noAck: true })
    ) {
      held++;
      ids.add(String(message.properties.messageId));
    }
    return { held, distinct: ids.size };
  };
  closers.push(async () => {
    await channel.deleteExchange(exchange);
    await amqp.close();
  });

  // NATS: a JetStream stream on the subject; the target waits for each PubAck.
  const subject = `bench.${suffix}`;
  const nats = await natsConnect({ servers: endpoints.nats });
  const jsm = await nats.jetstreamManager();
  await jsm.streams.add({ name: `bench-${suffix}`, subjects: [subject] });
  notify.nats = { '1': { enable: true, address: endpoints.nats, subject, jetstream: true } };
  counters.nats = async () => (await jsm.streams.info(`bench-${suffix}`)).state.messages;
  tallies.nats = async () => {
    // JetStream dedupes on Nats-Msg-Id (= event id) within its duplicate window; what it stored is read whole.
    const held = (await jsm.streams.info(`bench-${suffix}`)).state.messages;
    const ids = new Set<string>();
    const consumer = await nats.jetstream().consumers.get(`bench-${suffix}`);
    for (let read = 0; read < held;) {
      const batch = await consumer.fetch({ max_messages: 5_000, expires: 5_000 });
      let got = 0;
      for await (const message of batch) {
        got++;
        ids.add(message.headers?.get('Nats-Msg-Id') ?? '');
      }
      if (got === 0) break;
      read += got;
    }
    return { held, distinct: ids.size };
  };
  closers.push(async () => {
    await jsm.streams.delete(`bench-${suffix}`);
    await nats.close();
  });

  const topic = `bench-${suffix}`;
  const kafka = new Kafka({ brokers: [endpoints.kafka], clientId: 'bucketflow-bench', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await createTopic(admin, topic, 1);
  notify.kafka = { '1': { enable: true, brokers: [endpoints.kafka], topic } };
  counters.kafka = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  tallies.kafka = async () => {
    const held = await counters.kafka();
    const ids = new Set<string>();
    let read = 0;
    const consumer = kafka.consumer({ groupId: `bench-tally-${suffix}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        if (held === 0) return resolve();
        consumer
          .run({
            eachBatch: async ({ batch }) => {
              for (const message of batch.messages) {
                ids.add(String(message.headers?.[EVENT_ID_HEADER] ?? ''));
                if (++read >= held) resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return { held, distinct: ids.size };
  };
  closers.push(async () => {
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  if (!withMqtt) return;
  const mqttTopic = `bench/${suffix}`;
  const subscriber = await mqtt.connectAsync(endpoints.mqtt.replace(/^tcp:/, 'mqtt:'));
  let mqttReceived = 0;
  subscriber.on('message', (t) => {
    if (t === mqttTopic) mqttReceived++;
  });
  await subscriber.subscribeAsync(mqttTopic, { qos: 1 });
  notify.mqtt = { '1': { enable: true, broker: endpoints.mqtt, topic: mqttTopic, qos: 1 } };
  counters.mqtt = async () => mqttReceived;
  closers.push(() => subscriber.endAsync());
}

/** 0 until the target has created its table or index at first use. */
async function countRows(count: () => Promise<number>): Promise<number> {
  try {
    return await count();
  } catch {
    return 0;
  }
}
