// Creating a topic on the stack's Kafka for a test or a bench, and waiting until every partition has a leader that
// serves it. kafkajs's own `createTopics({ waitForLeaders: true })` retries only LEADER_NOT_AVAILABLE, and a broker
// that has just started (a fresh CI machine) or is loaded answers the metadata request that follows the creation with
// UNKNOWN_TOPIC_OR_PARTITION ("This server does not host this topic-partition") for a moment: that failed a test's
// before() hook on CI. Here both answers mean "not yet", retried for up to TOPIC_READY_TIMEOUT_MS.
import type { Admin } from 'kafkajs';

const TOPIC_READY_TIMEOUT_MS = 30_000;
const RETRY_EVERY_MS = 200;
/** Kafka's answers while a new topic's metadata propagates. */
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/** Creates `topic` (false when it existed already, as createTopics says); resolves once its partitions have leaders. */
export async function createTopic(admin: Admin, topic: string, numPartitions = 1): Promise<boolean> {
  const created = await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: false });
  const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
  for (;;) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = topics[0]?.partitions ?? [];
      if (partitions.length >= numPartitions && partitions.every((p) => p.leader >= 0)) return created;
    } catch (err) {
      if (!NOT_YET.has((err as { type?: string }).type ?? '')) throw err;
    }
    if (Date.now() > deadline) throw new Error(`Kafka topic ${topic}: no leader for every partition after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
  }
}
