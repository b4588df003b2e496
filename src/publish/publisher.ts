// The publisher: how events become deliveries, for every path that hands events to bucketflow (the library a
// storage server uses, the HTTP ingest, the Kafka source): one durable workflow per event, its id derived from
// the event identity so a resent event is not delivered twice; or, with BUCKETFLOW_BATCH_MAX_EVENTS > 1, batch
// workflows of many events by group commit (src/publish/group-commit.ts). The package exports it from src/index.ts.
import { createHash, randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { decodeObjectKey, eventIdentity, parseIncomingEvents } from '../events';
import type { ParsedEvent } from '../events/sources';
import type { S3EventRecord } from '../events/types';
import { searchKeys } from '../delivery/search-attributes';
import { loadSettings, type BatchSettings, type Settings } from '../settings';
import { connectTemporal } from '../temporal/connection';
import { FAST_RECONNECT_CHANNEL_ARGS } from '../temporal/reachability';
import { clientTracingInterceptors } from '../telemetry/tracing';
import { RecordTooLargeError } from '../errors';
import type { deliverEvent } from '../../workflows/deliver-v1';
import type { deliverEventV3 } from '../../workflows/deliver-v3';
import type { deliverBatch } from '../../workflows/deliver-batch';
import type { deliverKeyOrdered } from '../../workflows/key-order';
import type { BatchEvent, DeliverInput, HandedOff, ResolvedTarget } from '../delivery/types';
import { DELIVER_BATCH, DELIVER_EVENT_V1, DELIVER_EVENT_V3, DELIVER_KEY_ORDERED } from '../delivery/workflow-types';
import { KEY_ORDER_ENQUEUE_SIGNAL, isKeyOrdered, type OrderedEvent } from '../delivery/key-order';
import { BatchIndex, fnv1a, type BatchMemoEvent } from '../delivery/batch-index';
import { printable } from '../delivery/printable';
import { BATCH_ID_PREFIX, continuationIdFor, KEY_ORDER_ID_PREFIX, workflowIdFor } from '../delivery/workflow-ids';
import type { PublishableEvent, PublishedEvent } from '../delivery/types';
import { GroupCommit, MAX_BATCH_BYTES, type BatchItem, type StartedBatch } from './group-commit';

export interface PublishOptions {
  taskQueue: string;
  /** Start `deliverEventV3`, the fast path (default); false starts the first workflow version, `deliverEvent`. */
  fastPath?: boolean;
  /** The high-volume mode: with maxEvents > 1 (and the fast path), events go into batch workflows by group commit. */
  batch?: BatchSettings;
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

export interface PublishCallOptions {
  /**
   * The high-volume mode: these events go into batches of their own (no other call's events join them), each
   * with an id derived from the lane and its events, so publishing the same events again in the same lane finds
   * the batches already started instead of delivering again (a backfill's chunk resumed after its worker died).
   */
  lane?: string;
}

const START_CONCURRENCY = 32;
/** Batches of listed events started side by side (as the group commit's full batches). */
const LISTED_STARTS_IN_FLIGHT = 4;

/**
 * A record too large to travel as a workflow input (Temporal refuses payloads over 2 MB, and every durable retry
 * carries the record again in the history): refused whole before anything starts. S3 records are a few KB.
 */
export const MAX_RECORD_BYTES = 256 * 1024;

/** Throws RecordTooLargeError naming the first record (`Records[i]`, its index in `events`) over MAX_RECORD_BYTES. */
export function checkRecordSizes(events: readonly ParsedEvent[]): void {
  events.forEach(({ record }, i) => {
    const bytes = Buffer.byteLength(JSON.stringify(record));
    if (bytes > MAX_RECORD_BYTES) throw new RecordTooLargeError(`Records[${i}]`, bytes, MAX_RECORD_BYTES);
  });
}

// The ids and the publishing types have their homes in src/delivery (the activities use them too); the package's
// public entry and the publisher's callers take them from here as well.
export { BATCH_ID_PREFIX, continuationIdFor, KEY_ORDER_ID_PREFIX, workflowIdFor } from '../delivery/workflow-ids';
export type { PublishableEvent, PublishedEvent } from '../delivery/types';

/** Readable per-key order ids up to this many bytes; longer ones (or outside printable ASCII) are hashed. */
const READABLE_KEY_ORDER_ID_BYTES = 255;

/**
 * The workflow of one (ordered target, bucket, object key): `bucketflow-key-<arn>/<bucket>/<key>` when short and
 * printable (an ARN has no `/`, a bucket name neither, so it is unambiguous), else `bucketflow-key-h-<sha256>`.
 */
export function keyOrderWorkflowId(arn: string, bucket: string, key: string): string {
  const readable = `${KEY_ORDER_ID_PREFIX}${arn}/${bucket}/${key}`;
  if (Buffer.byteLength(readable) <= READABLE_KEY_ORDER_ID_BYTES && /^[\x21-\x7e]+$/.test(readable)) return readable;
  const hash = createHash('sha256')
    .update(JSON.stringify([arn, bucket, key]))
    .digest('hex')
    .slice(0, 40);
  return `${KEY_ORDER_ID_PREFIX}h-${hash}`;
}

/** A lane's batch: `bucketflow-batch-<lane>-<hash of its event ids>`, the same for the same events in the same lane. */
export function laneBatchId(lane: string, eventIds: readonly string[]): string {
  return `${BATCH_ID_PREFIX}${lane}-${createHash('sha256').update(eventIds.join(',')).digest('hex').slice(0, 24)}`;
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
    const connection = await connectTemporal(settings, (options) =>
      Connection.connect({ ...options, channelArgs: FAST_RECONNECT_CHANNEL_ARGS }),
    );
    const client = new Client({ connection, namespace: settings.namespace, interceptors: clientTracingInterceptors() });
    return new BucketflowClient(
      client,
      { taskQueue: settings.taskQueue, fastPath: settings.fastPath, batch: settings.batch },
      connection,
    );
  }

  private groupCommit?: GroupCommit<BatchEvent>;

  /**
   * Accepts MinIO's webhook envelope, `{Records: [...]}`, a bare record, or an array of those. Rejects with
   * EventValidationError naming the bad field, or RecordTooLargeError naming the record too large (nothing started).
   */
  async publish(body: unknown): Promise<PublishedEvent[]> {
    return this.publishParsed(parseIncomingEvents(body).map((record) => ({ source: 'minio', record })));
  }

  /**
   * Events already parsed from any source (the ingest's parseEventBody): the source is kept with each delivery.
   * Every path in goes through here: a record over MAX_RECORD_BYTES rejects the whole call (RecordTooLargeError)
   * before anything of it starts.
   */
  async publishParsed(events: PublishableEvent[], call: PublishCallOptions = {}): Promise<PublishedEvent[]> {
    checkRecordSizes(events);
    const { batch, fastPath = true } = this.options;
    if (fastPath && batch && batch.maxEvents > 1) return this.publishBatched(events, batch, call.lane);
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
  private async start({ record, source, targets: matched }: PublishableEvent): Promise<PublishedEvent> {
    const { fastPath = true, resolveTargets } = this.options;
    const eventId = eventIdentity(record);
    const resolved = fastPath ? (matched ?? (resolveTargets ? await resolveTargets(record) : undefined)) : undefined;
    // Targets with `order: key` get the event now, before it is acknowledged: the next event of the object is
    // accepted only after this one is in its per-key workflow, whatever happens to the worker after.
    const { targets, handedOff } = await this.handOffOrderedOf(resolved, { eventId, record, source });
    if (handedOff.length > 0 && targets?.length === 0)
      return { eventId, workflowId: handedOff[0].workflowId, duplicate: false, inOrderOnly: true };
    const input: DeliverInput = {
      eventId,
      record,
      source,
      ...(targets ? { targets } : {}),
      ...(handedOff.length > 0 ? { handedOff } : {}),
    };
    const workflowId = await this.startDelivery(input, fastPath ? DELIVER_EVENT_V3 : DELIVER_EVENT_V1);
    return { eventId, workflowId: workflowId ?? workflowIdFor(eventId), duplicate: workflowId === undefined };
  }

  /**
   * Hands one event to the per-key workflow of one ordered target (signal-with-start: started if none runs, its
   * input the target and the object). Resolves with the workflow id once Temporal recorded the signal. An event
   * handed over twice is delivered once (the workflow drops a repeated event id).
   */
  async handOffOrdered(target: ResolvedTarget, event: OrderedEvent): Promise<string> {
    const bucket = event.record.s3.bucket.name;
    const key = decodeObjectKey(event.record.s3.object.key);
    const workflowId = keyOrderWorkflowId(target.arn, bucket, key);
    await this.temporal.workflow.signalWithStart<typeof deliverKeyOrdered, [OrderedEvent]>(DELIVER_KEY_ORDERED, {
      taskQueue: this.options.taskQueue,
      workflowId,
      args: [{ target, bucket, key }],
      signal: KEY_ORDER_ENQUEUE_SIGNAL,
      signalArgs: [event],
      staticSummary: printable(`${target.arn}: ${bucket}/${key} in sequencer order`),
    });
    return workflowId;
  }

  /** The targets left once the ordered ones (if any) have the event; `handedOff` says where each went. */
  private async handOffOrderedOf(
    targets: ResolvedTarget[] | undefined,
    event: OrderedEvent,
  ): Promise<{ targets: ResolvedTarget[] | undefined; handedOff: HandedOff[] }> {
    const ordered = targets?.filter(isKeyOrdered) ?? [];
    if (ordered.length === 0) return { targets, handedOff: [] };
    const handedOff = await Promise.all(
      ordered.map(async (target) => ({ arn: target.arn, workflowId: await this.handOffOrdered(target, event) })),
    );
    return { targets: targets!.filter((target) => !isKeyOrdered(target)), handedOff };
  }

  /**
   * An event a batch could not deliver to every target, continued as its own per-event delivery (the same
   * workflow id as in per-event mode) for the targets still owed. Resolves with its workflow id, also when it
   * was already started (the batch's activity ran again: `duplicate`). When that id belongs to another delivery
   * of the same event (an earlier batch's continuation, or the event's own delivery, published again after the
   * dedupe window: a backfill run again), the continuation takes an id of this batch's instead
   * (`bucketflow-<event id>-<hash of the batch>`): the owed targets are never left undelivered.
   */
  async continueFromBatch(input: DeliverInput): Promise<PublishedEvent> {
    const own = workflowIdFor(input.eventId);
    let workflowId = await this.startDelivery(input, DELIVER_EVENT_V3, own);
    if (workflowId === undefined && input.batch) {
      const existing = await this.temporal.workflow.getHandle(own).describe();
      if ((existing.memo as { batch?: string } | undefined)?.batch !== input.batch) {
        const ofBatch = continuationIdFor(input.eventId, input.batch);
        workflowId = await this.startDelivery(input, DELIVER_EVENT_V3, ofBatch);
        return { eventId: input.eventId, workflowId: workflowId ?? ofBatch, duplicate: workflowId === undefined };
      }
    }
    return { eventId: input.eventId, workflowId: workflowId ?? own, duplicate: workflowId === undefined };
  }

  /** Starts one event's delivery workflow; undefined when one with its id already exists (a duplicate). */
  private async startDelivery(
    input: DeliverInput,
    type: string,
    workflowId = workflowIdFor(input.eventId),
  ): Promise<string | undefined> {
    const { taskQueue, eagerStart = false } = this.options;
    const { record, source, targets } = input;
    const rawKey = decodeObjectKey(record.s3.object.key);
    // deliverEventV3 writes no status while healthy: its execution status says pending or delivered. The first
    // version starts as pending. The rest is written when something goes wrong.
    const searchAttributes: SearchAttributePair[] = [
      { key: searchKeys.bucket, value: record.s3.bucket.name },
      { key: searchKeys.key, value: rawKey },
      { key: searchKeys.event, value: record.eventName },
      ...(source ? [{ key: searchKeys.source, value: source }] : []),
      ...(type === DELIVER_EVENT_V1 ? [{ key: searchKeys.status, value: 'pending' }] : []),
      ...(targets ? [{ key: searchKeys.targets, value: targets.map((t) => t.arn) }] : []),
      ...(input.batch ? [{ key: searchKeys.batch, value: input.batch }] : []),
    ];
    try {
      await this.temporal.workflow.start<typeof deliverEventV3 | typeof deliverEvent>(type, {
        taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: printable(
          `${record.eventName} ${record.s3.bucket.name}/${rawKey}${input.batch ? ` (continues ${input.batch})` : ''}`,
        ),
        ...(input.batch ? { memo: { batch: input.batch } } : {}),
        typedSearchAttributes: searchAttributes,
        requestEagerStart: type !== DELIVER_EVENT_V1 && eagerStart,
      });
      return workflowId;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
      throw err;
    }
  }

  /** The high-volume mode: each event joins the next batch workflow (group commit), at most once per dedupe window. */
  private async publishBatched(
    events: PublishableEvent[],
    settings: BatchSettings,
    lane: string | undefined,
  ): Promise<PublishedEvent[]> {
    this.groupCommit ??= new GroupCommit<BatchEvent>(settings, (items) => this.startBatch(items));
    const { resolveTargets } = this.options;
    // A lane's events are the same events again only for the same targets (a backfill to another target is not).
    const targetsKey = new Map<string, string>();
    const dedupeKey = (eventId: string, targets: ResolvedTarget[] = []) => {
      const arns = targets
        .map((t) => t.arn)
        .sort()
        .join(' ');
      let hash = targetsKey.get(arns);
      if (hash === undefined) targetsKey.set(arns, (hash = fnv1a(arns)));
      return `${eventId}>${hash}`;
    };
    const inOrderOnly = new Map<number, PublishedEvent>();
    const items = await Promise.all(
      events.map(async ({ record, source, targets: matched }, index): Promise<BatchItem<BatchEvent> | undefined> => {
        const eventId = eventIdentity(record);
        const resolved = matched ?? (resolveTargets ? await resolveTargets(record) : undefined);
        // Ordered targets get the event now (as in start()); the batch carries it to the others only.
        const { targets, handedOff } = await this.handOffOrderedOf(resolved, { eventId, record, source });
        if (handedOff.length > 0 && targets?.length === 0) {
          inOrderOnly.set(index, { eventId, workflowId: handedOff[0].workflowId, duplicate: false, inOrderOnly: true });
          return undefined;
        }
        return {
          eventId,
          bucket: record.s3.bucket.name,
          key: decodeObjectKey(record.s3.object.key),
          entry: { eventId, record, source, ...(targets ? { targets } : {}) },
          ...(lane ? { lane, dedupeKey: dedupeKey(eventId, resolved) } : {}),
        };
      }),
    );
    if (inOrderOnly.size === 0) return this.groupCommit.publish(items as Array<BatchItem<BatchEvent>>);
    const batched = items.filter((item): item is BatchItem<BatchEvent> => item !== undefined);
    const published = batched.length > 0 ? await this.groupCommit.publish(batched) : [];
    let next = 0;
    return items.map((item, index) => (item ? published[next++] : inOrderOnly.get(index)!));
  }

  /**
   * Events found by listing a bucket (a scan, a reconciliation: src/s3/records.ts), targets already matched, in batch
   * workflows of at most `maxEvents` whose ids derive from the events they carry (`bucketflow-batch-l<hash>`): a page
   * published again, because the activity that listed it resumed after its worker died, starts nothing twice (the
   * same batch is refused as already started, within the namespace's retention). Resolves once every batch is
   * durably started; an event of a batch that existed already is a duplicate.
   */
  async publishListed(events: BatchEvent[], maxEvents: number): Promise<PublishedEvent[]> {
    const items = events.map((entry): BatchItem<BatchEvent> => ({
      eventId: entry.eventId,
      bucket: entry.record.s3.bucket.name,
      key: decodeObjectKey(entry.record.s3.object.key),
      entry,
    }));
    const batches: Array<Array<BatchItem<BatchEvent>>> = [];
    let index = new BatchIndex();
    let bytes = 0;
    for (const item of items) {
      const size = Buffer.byteLength(JSON.stringify(item.entry));
      let current = batches[batches.length - 1];
      if (
        !current ||
        current.length >= maxEvents ||
        bytes + size > MAX_BATCH_BYTES ||
        !index.add(item.eventId, item.bucket, item.key)
      ) {
        current = [];
        batches.push(current);
        index = new BatchIndex();
        index.add(item.eventId, item.bucket, item.key);
        bytes = 0;
      }
      current.push(item);
      bytes += size;
    }
    const results: PublishedEvent[] = [];
    let next = 0;
    const starter = async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        const workflowId = `${BATCH_ID_PREFIX}l${createHash('sha256')
          .update(batch.map((item) => item.eventId).join(','))
          .digest('hex')
          .slice(0, 32)}`;
        const duplicate = (await this.startBatch(batch, workflowId)).existed === true;
        for (const item of batch) results.push({ eventId: item.eventId, workflowId, duplicate });
      }
    };
    await Promise.all(Array.from({ length: Math.min(LISTED_STARTS_IN_FLIGHT, batches.length) }, starter));
    return results;
  }

  /**
   * One batch workflow: its events' index in search attributes (src/delivery/batch-index.ts, sized by the group
   * commit to fit), each event's id and object in the memo, a readable summary and details for the Web UI.
   */
  private async startBatch(items: Array<BatchItem<BatchEvent>>, listedId?: string): Promise<StartedBatch> {
    const { taskQueue, eagerStart = false } = this.options;
    const lane = items[0].lane;
    // A listing's or a lane's batch id is derived from its events, so it can come again: the same events published
    // again.
    const derived = listedId !== undefined || Boolean(lane);
    const workflowId =
      listedId ??
      (lane
        ? laneBatchId(
            lane,
            items.map((item) => item.eventId),
          )
        : `${BATCH_ID_PREFIX}${randomUUID()}`);
    const index = new BatchIndex();
    for (const item of items) index.add(item.eventId, item.bucket, item.key);
    const memoEvents: BatchMemoEvent[] = items.map((item) => ({
      id: item.eventId,
      bucket: item.bucket,
      key: item.key,
      event: item.entry.record.eventName,
    }));
    const arns = [...new Set(items.flatMap((item) => item.entry.targets?.map((t) => t.arn) ?? []))];
    const sources = [...new Set(items.map((item) => item.entry.source))];
    const searchAttributes: SearchAttributePair[] = [
      { key: searchKeys.batchEvents, value: index.eventsText() },
      { key: searchKeys.batchObjects, value: index.objectsText() },
      ...(arns.length > 0 ? [{ key: searchKeys.targets, value: arns }] : []),
      ...(sources.length === 1 && sources[0] ? [{ key: searchKeys.source, value: sources[0] }] : []),
    ];
    const first = items[0];
    try {
      await this.temporal.workflow.start<typeof deliverBatch>(DELIVER_BATCH, {
        taskQueue,
        workflowId,
        args: [{ events: items.map((item) => item.entry) }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: printable(
          `batch of ${items.length} event${items.length === 1 ? '' : 's'}: ${first.entry.record.eventName} ${first.bucket}/${first.key}${items.length > 1 ? ', ...' : ''}`,
        ),
        staticDetails: batchDetails(memoEvents),
        memo: { events: memoEvents },
        typedSearchAttributes: searchAttributes,
        requestEagerStart: eagerStart,
      });
    } catch (err) {
      if (derived && err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, existed: true };
      throw err;
    }
    return { workflowId };
  }
}

/**
 * The Web UI's details of a batch: one line per event (Markdown), within the few KB the UI shows; an object's
 * control characters escaped (a newline would end its row) and its `|` too (it would end its cell).
 */
function batchDetails(events: BatchMemoEvent[]): string {
  const lines = ['| event id | event | object |', '| --- | --- | --- |'];
  let bytes = 0;
  for (const [n, event] of events.entries()) {
    const line = `| ${event.id} | ${event.event} | ${printable(`${event.bucket}/${event.key}`).replace(/\|/g, '\\|')} |`;
    if (bytes + line.length > 16_000) {
      lines.push(`| ... | ${events.length - n} more in the memo | |`);
      break;
    }
    bytes += line.length;
    lines.push(line);
  }
  return lines.join('\n');
}
