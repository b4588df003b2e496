// The library a storage server (or the ingest endpoint) uses to hand events to bucketflow: one durable
// workflow per event, its id derived from the event identity so a resent event is not delivered twice.
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { decodeObjectKey, eventIdentity, parseIncomingEvents } from './events';
import type { ParsedEvent } from './events/sources';
import type { S3EventRecord } from './events/types';
import { searchKeys } from './delivery/search-attributes';
import { loadSettings, type Settings } from './settings';
import { connectTemporal } from './temporal/connection';
import { FAST_RECONNECT_CHANNEL_ARGS } from './temporal/reachability';
import { clientTracingInterceptors } from './telemetry/tracing';
import type { deliverEvent } from '../workflows/deliver-v1';
import type { deliverEventV2 } from '../workflows/deliver-v2';
import type { DeliverInput, ResolvedTarget } from '../workflows/types';
import { DELIVER_EVENT_V1, DELIVER_EVENT_V2 } from './delivery/workflow-types';

export { parseSigningSecrets, verifyWebhook, WebhookSignatureError } from './config/webhook-signature';
// The package's public types (package.json `exports` points here).
export type { EventEnvelope, Identity, S3EventRecord, S3Object } from './events/types';
export type { EventSource, ParsedEvent } from './events/sources';

export interface PublishedEvent {
  eventId: string;
  workflowId: string;
  /** The event was already published before (same identity): no second delivery was started. */
  duplicate: boolean;
}

export interface PublishOptions {
  taskQueue: string;
  /** Start `deliverEventV2`, the fast path (default); false starts the first workflow version, `deliverEvent`. */
  fastPath?: boolean;
  /**
   * Matches the bucket's rules where the event is accepted, so the targets travel in the workflow input
   * (one local activity fewer). Only a process that sees the rules and targets (a worker) can pass this.
   */
  resolveTargets?: (record: S3EventRecord) => Promise<ResolvedTarget[]>;
  /**
   * Ask the server to hand the first workflow task back with the start response. Only for a client on
   * the NativeConnection of a worker in this process that polls `taskQueue`.
   */
  eagerStart?: boolean;
}

const START_CONCURRENCY = 32;

export function workflowIdFor(eventId: string): string {
  return `bucketflow-${eventId}`;
}

export class BucketflowClient {
  constructor(
    readonly temporal: Client,
    private readonly options: PublishOptions,
    private readonly ownedConnection?: Connection,
  ) {}

  /** A client of its own connection: for storage-side services and a separate ingest (no rules, no eager start). */
  static async connect(overrides: Partial<Settings> = {}): Promise<BucketflowClient> {
    const settings = { ...loadSettings(), ...overrides };
    const connection = await connectTemporal(settings, (options) => Connection.connect({ ...options, channelArgs: FAST_RECONNECT_CHANNEL_ARGS }));
    const client = new Client({ connection, namespace: settings.namespace, interceptors: clientTracingInterceptors() });
    return new BucketflowClient(client, { taskQueue: settings.taskQueue, fastPath: settings.fastPath }, connection);
  }

  /** Accepts MinIO's webhook envelope, `{Records: [...]}`, a bare record, or an array of those. */
  async publish(body: unknown): Promise<PublishedEvent[]> {
    return this.publishParsed(parseIncomingEvents(body).map((record) => ({ source: 'minio', record })));
  }

  /** Events already parsed from any source (the ingest's parseEventBody): the source is kept with each delivery. */
  async publishParsed(events: ParsedEvent[]): Promise<PublishedEvent[]> {
    const results: PublishedEvent[] = new Array(events.length);
    let next = 0;
    const starter = async () => {
      while (next < events.length) {
        const index = next++;
        results[index] = await this.start(events[index]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, events.length) }, starter));
    return results;
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }

  /** Resolves once the server has durably recorded the workflow start. */
  private async start({ record, source }: ParsedEvent): Promise<PublishedEvent> {
    const { taskQueue, fastPath = true, resolveTargets, eagerStart = false } = this.options;
    const eventId = eventIdentity(record);
    const workflowId = workflowIdFor(eventId);
    const rawKey = decodeObjectKey(record.s3.object.key);
    const targets = fastPath && resolveTargets ? await resolveTargets(record) : undefined;
    const input: DeliverInput = { eventId, record, source, ...(targets ? { targets } : {}) };
    // BucketflowStatus=pending from the start keeps a stuck delivery findable; the rest is written at the end.
    const searchAttributes: SearchAttributePair[] = [
      { key: searchKeys.bucket, value: record.s3.bucket.name },
      { key: searchKeys.key, value: rawKey },
      { key: searchKeys.event, value: record.eventName },
      { key: searchKeys.status, value: 'pending' },
      { key: searchKeys.source, value: source },
      ...(targets ? [{ key: searchKeys.targets, value: targets.map((t) => t.arn) }] : []),
    ];
    try {
      await this.temporal.workflow.start<typeof deliverEventV2 | typeof deliverEvent>(fastPath ? DELIVER_EVENT_V2 : DELIVER_EVENT_V1, {
        taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `${record.eventName} ${record.s3.bucket.name}/${rawKey}`,
        typedSearchAttributes: searchAttributes,
        requestEagerStart: fastPath && eagerStart,
      });
      return { eventId, workflowId, duplicate: false };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { eventId, workflowId, duplicate: true };
      throw err;
    }
  }
}
