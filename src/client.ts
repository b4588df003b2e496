// The library a storage server (or the ingest endpoint) uses to hand events to bucketflow: one durable
// workflow per event, its id derived from the event identity so a resent event is not delivered twice.
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { decodeObjectKey, eventIdentity, parseIncomingEvents } from './events';
import type { S3EventRecord } from './events/types';
import { searchKeys } from './search-attributes';
import { loadSettings, type Settings } from './settings';
import { deliverEvent } from '../workflows/deliver';

export interface PublishedEvent {
  eventId: string;
  workflowId: string;
  /** The event was already published before (same identity): no second delivery was started. */
  duplicate: boolean;
}

const START_CONCURRENCY = 32;

export function workflowIdFor(eventId: string): string {
  return `bucketflow-${eventId}`;
}

export class BucketflowClient {
  constructor(
    readonly temporal: Client,
    private readonly taskQueue: string,
    private readonly ownedConnection?: Connection,
  ) {}

  static async connect(overrides: Partial<Settings> = {}): Promise<BucketflowClient> {
    const settings = { ...loadSettings(), ...overrides };
    const connection = await Connection.connect({ address: settings.temporalAddress });
    const client = new Client({ connection, namespace: settings.namespace });
    return new BucketflowClient(client, settings.taskQueue, connection);
  }

  /** Accepts MinIO's webhook envelope, `{Records: [...]}`, a bare record, or an array of those. */
  async publish(body: unknown): Promise<PublishedEvent[]> {
    return this.startAll(parseIncomingEvents(body));
  }

  /** Validates every body first, so a malformed one starts nothing. */
  async publishMany(bodies: unknown[]): Promise<PublishedEvent[]> {
    return this.startAll(bodies.flatMap((body) => parseIncomingEvents(body)));
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }

  private async startAll(records: S3EventRecord[]): Promise<PublishedEvent[]> {
    const results: PublishedEvent[] = new Array(records.length);
    let next = 0;
    const worker = async () => {
      while (next < records.length) {
        const index = next++;
        results[index] = await this.start(records[index]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, records.length) }, worker));
    return results;
  }

  /** Resolves once the server has durably recorded the workflow start. */
  private async start(record: S3EventRecord): Promise<PublishedEvent> {
    const eventId = eventIdentity(record);
    const workflowId = workflowIdFor(eventId);
    const rawKey = decodeObjectKey(record.s3.object.key);
    try {
      await this.temporal.workflow.start(deliverEvent, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [{ eventId, record }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `${record.eventName} ${record.s3.bucket.name}/${rawKey}`,
        typedSearchAttributes: [
          { key: searchKeys.bucket, value: record.s3.bucket.name },
          { key: searchKeys.key, value: rawKey },
          { key: searchKeys.event, value: record.eventName },
          { key: searchKeys.status, value: 'pending' },
        ],
      });
      return { eventId, workflowId, duplicate: false };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { eventId, workflowId, duplicate: true };
      throw err;
    }
  }
}
