// The benchmark's Kafka backlog, for the `kafka` group of `npm run bench`: the run's events written, before any
// worker starts, to a fresh topic of the stack's broker as MinIO's Kafka target writes them (key
// `<bucket>/<raw key>`, value the `{EventName, Key, Records:[record]}` envelope), with a fresh consumer group, so
// the worker's Kafka source (src/sources/kafka.ts) reads the whole backlog from offset 0. Also finds the
// workflows a run started through its task queue (the source answers nobody with their ids), so their
// billable actions can be counted (bench/actions.ts).
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { endpoints } from '../scripts/stack/endpoints';
import { objectPath, toEnvelope } from '../src/events';
import type { BenchEvent } from './events';
import { createTopic } from '../scripts/stack/kafka-topics';

/** Messages per produce request: well under the broker's 1 MiB record batch limit (~0.9 KB a record). */
const MESSAGES_PER_SEND = 250;

export interface Backlog {
  brokers: string[];
  topic: string;
  /** A consumer group no one has used: its first member starts at the topic's beginning. */
  group: string;
  /** Bytes of the records' values, all written. */
  valueBytes: number;
  /** Deletes the topic and the consumer group (after the worker left it). */
  close(): Promise<void>;
}

export async function writeBacklog(events: BenchEvent[], partitions: number): Promise<Backlog> {
  const kafka = new Kafka({
    brokers: [endpoints.kafka],
    clientId: 'bucketflow-bench-backlog',
    logLevel: logLevel.NOTHING,
  });
  const suffix = randomUUID();
  const topic = `bench-source-${suffix}`;
  const group = `bench-source-${suffix}`;
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer();
  try {
    await createTopic(admin, topic, partitions);
    await producer.connect();
    const messages = events.map(({ record }) => ({
      key: objectPath(record),
      value: JSON.stringify(toEnvelope(record)),
    }));
    for (let i = 0; i < messages.length; i += MESSAGES_PER_SEND) {
      await producer.send({ topic, messages: messages.slice(i, i + MESSAGES_PER_SEND) });
    }
    const written = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    if (written !== events.length)
      throw new Error(`kafka backlog: ${written} records on ${topic}, expected ${events.length}`);
    return {
      brokers: [endpoints.kafka],
      topic,
      group,
      valueBytes: messages.reduce((sum, m) => sum + Buffer.byteLength(m.value), 0),
      async close() {
        await admin.deleteGroups([group]).catch(() => undefined);
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
        await admin.disconnect();
      },
    };
  } catch (err) {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    throw err;
  } finally {
    await producer.disconnect();
  }
}

/**
 * Every workflow started on this task queue (each run has its own), read from visibility until two reads a
 * second apart agree and hold at least `atLeast`, or 30 s have passed.
 */
export async function workflowsOnTaskQueue(client: Client, taskQueue: string, atLeast: number): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  let previous: string[] = [];
  for (;;) {
    const ids: string[] = [];
    for await (const workflow of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` }))
      ids.push(workflow.workflowId);
    if ((ids.length >= atLeast && ids.length === previous.length) || Date.now() > deadline) return ids;
    previous = ids;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
