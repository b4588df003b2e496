// The high-volume mode on the real engine: an event published again in a later batch (after the dedupe window: a
// backfill run again, a server resending much later) whose target fails again continues per event although its
// own workflow id (`bucketflow-<event id>`) is held by the earlier batch's continuation, closed: the continuation
// takes an id of its batch's and the target gets the event. Before, the start was refused as a duplicate and the
// target never got the event from the second batch.
import assert from 'node:assert/strict';
import { buildEvent } from '../../src/events';
import type { BatchResult, DeliveryResult } from '../../src/delivery/types';
import { continuationIdFor, workflowIdFor } from '../../src/publish/publisher';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const bucket = uniqueBucket('continuation');
const ARN = 'arn:minio:sqs:us-east-1:flaky:webhook';
let engine: Engine;
let flaky: Receiver;
/** Requests per event id: the first of each pair is refused (503), the second taken. */
const seen = new Map<string, number>();

before(async () => {
  flaky = await Receiver.start([], 200, {
    answer: (request) => {
      const id = String(request.headers[EVENT_ID_HEADER.toLowerCase()]);
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      return n % 2 === 1 ? 503 : 200;
    },
  });
  engine = await startEngine({
    notify: { webhook: { flaky: { enable: true, endpoint: flaky.url, fast_retry_interval: '10ms' } } },
    rules: { [bucket]: [{ id: '1', arn: ARN, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
    // No dedupe window: publishing the same event again makes a new batch, as it would after the window.
    batch: { maxEvents: 10, maxWaitMs: 0, dedupeWindowMs: 0 },
  });
});
after(async () => {
  await engine?.stop();
  await flaky?.close();
});

async function publishAndContinue(): Promise<{ batch: string; continuedIn: string }> {
  const record = buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket,
    key: 'again.jpg',
    size: 1,
    eventTime: new Date('2026-01-01T00:00:00Z'),
  });
  const [published] = await engine.client.publish(record);
  assert.equal(published.duplicate, false);
  const result: BatchResult = await engine.client.temporal.workflow.getHandle(published.workflowId).result();
  const { continuedIn } = result.outcomes[0];
  assert.ok(continuedIn, 'the refused event continues per event');
  const delivered: DeliveryResult = await engine.client.temporal.workflow.getHandle(continuedIn).result();
  assert.equal(delivered.status, 'delivered');
  return { batch: published.workflowId, continuedIn };
}

test("the same event in a later batch, refused again: its continuation takes its batch's id and the target gets it", async () => {
  const first = await publishAndContinue();
  const eventId = first.continuedIn.slice('bucketflow-'.length);
  assert.equal(first.continuedIn, workflowIdFor(eventId));
  const second = await publishAndContinue();
  assert.notEqual(second.batch, first.batch);
  assert.equal(second.continuedIn, continuationIdFor(eventId, second.batch));
  const answers = flaky.requests
    .map((r) => String(r.headers[EVENT_ID_HEADER.toLowerCase()]))
    .filter((id) => id === eventId);
  assert.equal(answers.length, 4, "each batch's attempt refused, each continuation taken");
});
