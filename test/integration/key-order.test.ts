// Per-key order where the workflow matches the rules (a publisher that cannot see them: `npm run ingest`, the
// library): an object's events published out of sequencer order in one call reach an `order: key` webhook in
// sequencer order, handed over by deliverEventV3's local activity (per-event mode) or by the batch's activity
// (high-volume mode), each recorded (`handed-off` outcomes, the batch's `handedOff`). An unordered target beside it
// is delivered by the event's own workflow. A redelivery of a delivered event reaches the ordered target again.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { buildEvent, eventIdentity } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import type { BatchResult, DeliveryResult } from '../../src/delivery/types';
import { DELIVER_EVENT_V3 } from '../../src/delivery/workflow-types';
import { keyOrderWorkflowId, workflowIdFor } from '../../src/publish/publisher';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';

const { after, test } = needs('temporal');

const ORDERED = 'arn:minio:sqs:us-east-1:1:webhook';
const PLAIN = 'arn:minio:sqs:us-east-1:2:webhook';
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function setUp(batchEvents?: number, orderWindow = '500ms') {
  const bucket = uniqueBucket('ordered');
  const ordered = await Receiver.start();
  const plain = await Receiver.start();
  cleanups.push(
    () => ordered.close(),
    () => plain.close(),
  );
  const engine: Engine = await startEngine({
    notify: {
      webhook: {
        '1': { enable: true, endpoint: ordered.url, order: 'key', order_window: orderWindow },
        '2': { enable: true, endpoint: plain.url },
      },
    },
    rules: {
      [bucket]: [ORDERED, PLAIN].map((arn, i) => ({
        id: String(i),
        arn,
        events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
        prefix: '',
        suffix: '',
      })),
    },
    ...(batchEvents ? { batch: { maxEvents: batchEvents } } : {}),
  });
  cleanups.push(() => engine.stop());
  const key = `photos/${randomUUID()}.jpg`;
  const records: S3EventRecord[] = Array.from({ length: 6 }, (_, n) =>
    buildEvent({
      eventName: n % 2 === 0 ? 's3:ObjectCreated:Put' : 's3:ObjectRemoved:Delete',
      bucket,
      key,
      size: n + 1,
      sequencer: (0x17f0a1b2c3d40000n + BigInt(n)).toString(16).toUpperCase(),
    }),
  );
  return { bucket, key, ordered, plain, engine, records, ids: records.map(eventIdentity) };
}

/** The event ids a receiver got, in arrival order. */
function arrivedIds(receiver: Receiver): string[] {
  return receiver.requests.map((r) => String(r.headers[EVENT_ID_HEADER.toLowerCase()]));
}

test('per-event mode, rules matched by the workflow: handed over by deliverEventV3, delivered in order', async () => {
  const { bucket, key, ordered, plain, engine, records, ids } = await setUp();
  // One call, newest first: the deliveries start side by side, so their hand-overs race.
  const published = await engine.plainClient.publishParsed(
    [...records].reverse().map((record) => ({ source: 'minio' as const, record })),
  );
  assert.deepEqual(
    published.map((p) => p.workflowId),
    [...ids].reverse().map(workflowIdFor),
  );
  await ordered.waitForRequests(records.length, 30_000);
  assert.deepEqual(arrivedIds(ordered), ids, 'the ordered webhook got the object in sequencer order');
  const keyWorkflow = keyOrderWorkflowId(ORDERED, bucket, key);
  for (const id of ids) {
    const result: DeliveryResult = await engine.client.temporal.workflow.getHandle(workflowIdFor(id)).result();
    assert.deepEqual(
      result.targets.find((t) => t.arn === ORDERED),
      {
        arn: ORDERED,
        status: 'handed-off',
        workflowId: keyWorkflow,
      },
    );
    assert.equal(result.targets.find((t) => t.arn === PLAIN)?.status, 'delivered');
  }
  await plain.waitForRequests(records.length, 30_000);

  // An operator's redelivery of the first event (a workflow of its own) reaches the ordered target again.
  const targets = engine.deps.targets;
  await engine.client.temporal.workflow.execute(DELIVER_EVENT_V3, {
    taskQueue: engine.settings.taskQueue,
    workflowId: `${workflowIdFor(ids[0])}-redelivery`,
    args: [{ eventId: ids[0], record: records[0], targets: [{ arn: ORDERED, retry: targets.retryFor(ORDERED)! }] }],
  });
  await ordered.waitForRequests(records.length + 1, 30_000);
  assert.equal(arrivedIds(ordered).at(-1), ids[0], 'the redelivery was sent, not dropped as a repeat');
});

test('high-volume mode, rules matched by the batch: handed over in sequencer order, delivered in order', async () => {
  // No hold: the order comes from the batch's hand-overs alone (one object's, one after the other, oldest first).
  const { ordered, plain, engine, records, ids } = await setUp(20, '0s');
  const published = await engine.plainClient.publishParsed(
    [...records].reverse().map((record) => ({ source: 'minio' as const, record })),
  );
  const batches = [...new Set(published.map((p) => p.workflowId))];
  await ordered.waitForRequests(records.length, 30_000);
  assert.deepEqual(arrivedIds(ordered), ids, 'the ordered webhook got the object in sequencer order');
  await plain.waitForRequests(records.length, 30_000);
  for (const batch of batches) {
    const result: BatchResult = await engine.client.temporal.workflow.getHandle(batch).result();
    for (const outcome of result.outcomes) {
      assert.deepEqual(
        outcome.handedOff?.map((h) => h.arn),
        [ORDERED],
      );
      assert.deepEqual(
        outcome.targets.map((t) => t.arn),
        [PLAIN],
        'the batch sent to the unordered target only',
      );
    }
  }
});
