// The Kafka source, for volume: a storage server's own Kafka target (MinIO's, with `queue_dir`, `batch_size`
// and `batch_commit_timeout`; Ceph RGW's `kafka://` push endpoint) writes each event to a topic, and the worker
// consumes it (BUCKETFLOW_SOURCE_KAFKA_BROKERS / _TOPIC / _GROUP). Each fetch becomes one publish of all its
// events, so the batch mode carries many events per workflow; offsets are committed only after the publish
// resolved, i.e. after the workflows carrying those records are durably started. A record that can never
// become an event (not JSON, not an event body, an event too large for a workflow input: the publisher's own
// size check) is logged and skipped with a visible count: it never blocks its partition. In the worker a fetch
// waits (heartbeating its group) while the worker holds its admission bound of deliveries, so a backlog stays
// in Kafka. Several workers in one consumer group share the partitions. kafkajs loads only when used. The source
// starts in the background: a topic not created yet is waited for, brokers that do not answer are retried (their
// outage one WARN line and one INFO: kafka-log.ts), and only an error kafkajs would not retry stops it.
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { checkRecordSizes } from '../publish/publisher';
import { ConfigError } from '../config';
import { RecordTooLargeError, errorMessage } from '../errors';
import { EventValidationError, parseEventBody, parseJson, type ParsedEvent } from '../events';
import { log } from '../telemetry/log';
import { metrics } from '../telemetry/metrics';
import type { KafkaSourceSettings } from '../settings';
import { KafkaOutageLog, isTransientKafkaError } from './kafka-log';

/**
 * Starts the deliveries of one fetch's events; resolves once every one of them is durably started. It may wait
 * for room first (the worker's admission control), calling `waitForRoom` between tries (it heartbeats the group
 * and answers false once the partition is no longer this consumer's); `false` back means it gave up before
 * starting them all: nothing of the fetch is committed, and the partition's new owner reads it again.
 */
export type PublishEvents = (events: ParsedEvent[], waitForRoom: () => Promise<boolean>) => Promise<unknown>;

/** How often a fetch waiting for room in the worker asks again (and heartbeats its group). */
const ROOM_POLL_MS = 100;
/** How often a source waiting for its topic to be created asks the brokers whether it exists (one metadata request). */
const TOPIC_POLL_MS = 2_000;
/** Between start attempts while no broker answers (kafkajs retries within each attempt too). */
const START_RETRY_MS = [1_000, 2_000, 5_000, 10_000];
/** How long stop() waits for a start attempt under way before it disconnects. */
const STOP_WAIT_MS = 1_000;

export interface KafkaSource {
  /** Records skipped as poison since start. */
  readonly skipped: number;
  /** Resolves once the source consumes its topic (after waiting for it, or for the brokers); rejects with a fatal start
   * error. */
  readonly consuming: Promise<void>;
  /** Rejects with the error that stopped the source for good (at start, or a crash kafkajs does not restart from);
   * never resolves. */
  readonly failed: Promise<never>;
  /** Stops consuming, or stops waiting (for the topic, for the brokers). */
  stop(): Promise<void>;
}

/** What one record holds: its events, or why it can never hold any. */
export type RecordContent = { events: ParsedEvent[] } | { skip: string };

/** The record's value is the body the storage server would have POSTed to a webhook. */
export function eventsOfRecord(value: Buffer | null): RecordContent {
  if (!value || value.length === 0) return { skip: 'empty value' };
  try {
    // The ingest's own JSON reading: not JSON, or nested too deep for a workflow input, is poison here too.
    const { events } = parseEventBody(parseJson(value.toString('utf8'), 'value'));
    // The publisher would refuse the whole fetch for it: one record's events are checked here, as it checks them.
    checkRecordSizes(events);
    return { events };
  } catch (err) {
    if (err instanceof EventValidationError || err instanceof RecordTooLargeError) return { skip: errorMessage(err) };
    throw err;
  }
}

/**
 * Starts the source in the background and returns at once: the worker runs its workflows meanwhile. A topic that
 * does not exist yet (a storage server's Kafka target creates it on its first send) is waited for, one INFO line
 * naming it; brokers that do not answer are retried, one WARN line for the outage (KafkaOutageLog). An error kafkajs
 * would not retry (an invalid topic name, a refused authorization) rejects `consuming` and `failed` with itself.
 */
export function startKafkaSource(settings: KafkaSourceSettings, publish: PublishEvents): KafkaSource {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when the source is configured
  const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');
  const outage = new KafkaOutageLog({ topic: settings.topic, brokers: settings.brokers });
  const kafka = new Kafka({
    clientId: 'bucketflow-source',
    brokers: settings.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => outage.observe(entry),
  });
  // The source never creates its topic: the storage server's target (or the operator, with its partitions) does.
  const consumer: Consumer = kafka.consumer({ groupId: settings.group, allowAutoTopicCreation: false });
  let skipped = 0;
  let stopped = false;
  const wake = new Wakeable();

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    const events: ParsedEvent[] = [];
    for (const message of batch.messages) {
      const content = eventsOfRecord(message.value);
      if ('skip' in content) {
        skipped++;
        metrics.sourceRecords.inc({ source: 'kafka', outcome: 'skipped' });
        log(
          'WARN',
          'kafka source: record skipped, it can never become an event',
          where(batch.topic, batch.partition, message, content.skip),
        );
        continue;
      }
      metrics.sourceRecords.inc({ source: 'kafka', outcome: 'accepted' });
      events.push(...content.events);
    }
    const ours = () => isRunning() && !isStale(); // false once a rebalance took the partition: its new owner fetches these again
    if (!ours()) return;
    const waitForRoom = async () => {
      await heartbeat();
      await new Promise((resolve) => setTimeout(resolve, ROOM_POLL_MS));
      return ours();
    };
    // Throws while Temporal is unreachable: nothing is committed, and kafkajs fetches the batch again.
    if (events.length > 0 && (await publish(events, waitForRoom)) === false) return;
    resolveOffset(batch.lastOffset()); // the fetch position: the next fetch starts after this batch
    await consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
    ]);
    await heartbeat();
  };

  let fail: (err: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {}); // read by whoever runs the source (the engine), not required
  // Kafka answered: an open outage ends. A crash kafkajs does not restart from stops the source for good.
  for (const event of [consumer.events.CONNECT, consumer.events.GROUP_JOIN, consumer.events.FETCH])
    consumer.on(event, () => outage.reachable());
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart && !stopped) fail(fatalError(settings, payload.error));
  });

  const start = async (): Promise<boolean> => {
    let waitingSince: number | undefined;
    for (let attempt = 0; !stopped; attempt++) {
      try {
        await consumer.connect(); // kafkajs retries a few times within; a no-op once connected
        outage.reachable();
        await consumer.subscribe({ topic: settings.topic, fromBeginning: true });
        break;
      } catch (err) {
        if (stopped) break;
        if ((err as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION') {
          if (waitingSince === undefined) {
            waitingSince = Date.now();
            log('INFO', 'kafka source waiting for its topic to be created', {
              topic: settings.topic,
              group: settings.group,
              brokers: settings.brokers,
            });
          }
          await wake.sleep(TOPIC_POLL_MS);
        } else if (isTransientKafkaError(err)) {
          outage.failed(errorMessage(err));
          await wake.sleep(START_RETRY_MS[Math.min(attempt, START_RETRY_MS.length - 1)]);
        } else {
          throw fatalError(settings, err);
        }
      }
    }
    if (stopped) {
      await consumer.disconnect(); // a connect that ended after stop() began
      return false;
    }
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
    log('INFO', 'kafka source consuming', {
      topic: settings.topic,
      group: settings.group,
      brokers: settings.brokers,
      ...(waitingSince === undefined
        ? {}
        : { waitedForTopicSeconds: Math.round((Date.now() - waitingSince) / 100) / 10 }),
    });
    return true;
  };
  const started = start();
  const consuming = started.then(
    (running) => {
      if (!running) throw new Error('kafka source stopped before it consumed its topic');
    },
    (err: unknown) => {
      fail(err as Error);
      throw err;
    },
  );
  consuming.catch(() => {});

  return {
    get skipped() {
      return skipped;
    },
    consuming,
    failed,
    async stop() {
      stopped = true;
      wake.now();
      // A start attempt under way ends at its next step; kafkajs's connect retries while no broker answers can take
      // ~15 s, so they are not waited for past STOP_WAIT_MS (the start disconnects itself once its connect ends).
      await Promise.race([
        started.catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref()),
      ]);
      await consumer.disconnect();
    },
  };
}

/** The error that stops the source for good, naming the setting it is about. */
function fatalError(settings: KafkaSourceSettings, err: unknown): Error {
  const type = (err as { type?: unknown } | undefined)?.type;
  const problem = `Kafka refused it: ${errorMessage(err)}${typeof type === 'string' ? ` (${type})` : ''}`;
  if (typeof type === 'string' && type.includes('TOPIC'))
    return new ConfigError('BUCKETFLOW_SOURCE_KAFKA_TOPIC', `${problem}; topic "${settings.topic}"`);
  if (typeof type === 'string' && type.includes('GROUP'))
    return new ConfigError('BUCKETFLOW_SOURCE_KAFKA_GROUP', `${problem}; group "${settings.group}"`);
  return new Error(
    `kafka source (brokers ${settings.brokers.join(',')}, topic "${settings.topic}"): ${errorMessage(err)}`,
    { cause: err },
  );
}

/** Sleeps that stop() can cut short. */
class Wakeable {
  private waking = new Set<() => void>();
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waking.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waking.add(done);
    });
  }
  now(): void {
    for (const done of [...this.waking]) done();
  }
}

function where(topic: string, partition: number, message: KafkaMessage, reason: string): Record<string, unknown> {
  return { topic, partition, offset: message.offset, key: message.key?.toString('utf8').slice(0, 200), reason };
}
