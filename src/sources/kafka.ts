// The Kafka source, for volume: a storage server's own Kafka target (MinIO's, with `queue_dir`, `batch_size`
// and `batch_commit_timeout`; Ceph RGW's `kafka://` push endpoint) writes each event to a topic, and the worker
// consumes it (BUCKETFLOW_SOURCE_KAFKA_BROKERS / _TOPIC / _GROUP). Each fetch becomes one publish of all its
// events, so the batch mode carries many events per workflow; offsets are committed only after the publish
// resolved, i.e. after the workflows carrying those records are durably started. A record that can never
// become an event (not JSON, not an event body, an event too large for a workflow input: the publisher's own
// size check) is logged and skipped with a visible count: it never blocks its partition. In the worker a fetch
// waits (heartbeating its group) while the worker holds its admission bound of deliveries, so a backlog stays
// in Kafka. Several workers in one consumer group share the partitions. kafkajs loads only when used.
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { checkRecordSizes } from '../publish/publisher';
import { RecordTooLargeError, errorMessage } from '../errors';
import { EventValidationError, parseEventBody, parseJson, type ParsedEvent } from '../events';
import { log } from '../telemetry/log';
import { metrics } from '../telemetry/metrics';
import type { KafkaSourceSettings } from '../settings';


/**
 * Starts the deliveries of one fetch's events; resolves once every one of them is durably started. It may wait
 * for room first (the worker's admission control), calling `waitForRoom` between tries (it heartbeats the group
 * and answers false once the partition is no longer this consumer's); `false` back means it gave up before
 * starting them all: nothing of the fetch is committed, and the partition's new owner reads it again.
 */
export type PublishEvents = (events: ParsedEvent[], waitForRoom: () => Promise<boolean>) => Promise<unknown>;

/** How often a fetch waiting for room in the worker asks again (and heartbeats its group). */
const ROOM_POLL_MS = 100;

export interface KafkaSource {
  /** Records skipped as poison since start. */
  readonly skipped: number;
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

export async function startKafkaSource(settings: KafkaSourceSettings, publish: PublishEvents): Promise<KafkaSource> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when the source is configured
  const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');
  const kafka = new Kafka({
    clientId: 'bucketflow-source',
    brokers: settings.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }) => {
      if (level <= logLevel.WARN) log(level <= logLevel.ERROR ? 'ERROR' : 'WARN', `kafka source: ${entry.message}`, { topic: settings.topic });
    },
  });
  const consumer: Consumer = kafka.consumer({ groupId: settings.group });
  let skipped = 0;

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    const events: ParsedEvent[] = [];
    for (const message of batch.messages) {
      const content = eventsOfRecord(message.value);
      if ('skip' in content) {
        skipped++;
        metrics.sourceRecords.inc({ source: 'kafka', outcome: 'skipped' });
        log('WARN', 'kafka source: record skipped, it can never become an event', where(batch.topic, batch.partition, message, content.skip));
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
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
    await heartbeat();
  };

  await consumer.connect();
  await consumer.subscribe({ topic: settings.topic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
  log('INFO', 'kafka source consuming', { topic: settings.topic, group: settings.group, brokers: settings.brokers });
  return {
    get skipped() {
      return skipped;
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}

function where(topic: string, partition: number, message: KafkaMessage, reason: string): Record<string, unknown> {
  return { topic, partition, offset: message.offset, key: message.key?.toString('utf8').slice(0, 200), reason };
}
