// The record size limit lives in the publisher (src/publish/publisher.ts), the one place every path goes through: the
// library's BucketflowClient.publish, per-event and in the high-volume mode, refuses a record too large to travel
// as a workflow input with RecordTooLargeError naming it, before anything of the call starts (the small record
// beside it is not started, so publishing it again alone is no duplicate, and it is then delivered). The ingest's
// 413 is in poison-events.test.ts, the Kafka source's skip in kafka-source.test.ts.
import assert from 'node:assert/strict';
import { BucketflowClient, MAX_RECORD_BYTES } from '../../src/publish/publisher';
import { RecordTooLargeError } from '../../src/errors';
import { buildEvent, eventIdentity } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { oneWebhook, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const bucket = uniqueBucket('record-size');
let receiver: Receiver;
let engine: Engine;

before(async () => {
  receiver = await Receiver.start();
  engine = await startEngine({
    ...oneWebhook(receiver.url, bucket),
  });
});
after(async () => {
  await engine?.stop();
  await receiver?.close();
});

const put = (key: string, padding = 0): S3EventRecord =>
  buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket,
    key,
    ...(padding ? { userMetadata: { padding: 'x'.repeat(padding) } } : {}),
  });

async function delivered(eventId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const at = () => receiver.requests.some((r) => r.headers[EVENT_ID_HEADER.toLowerCase()] === eventId);
  while (!at() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(at(), `event ${eventId} reached the receiver`);
}

for (const mode of ['per-event', 'high-volume'] as const) {
  test(`${mode} mode: publish refuses a record over ${MAX_RECORD_BYTES} bytes naming it; nothing of the call starts`, async () => {
    const client =
      mode === 'per-event'
        ? engine.client
        : new BucketflowClient(engine.client.temporal, {
            taskQueue: engine.settings.taskQueue,
            batch: { maxEvents: 10, maxWaitMs: 0, dedupeWindowMs: 60_000 },
          });
    const small = put(`${mode}/small.txt`);
    const large = put(`${mode}/large.txt`, 300 * 1024);
    const refusal = await client.publish({ Records: [small, large] }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(refusal instanceof RecordTooLargeError, `rejected with RecordTooLargeError, not ${String(refusal)}`);
    assert.equal(refusal.field, 'Records[1]');
    assert.equal(refusal.limit, MAX_RECORD_BYTES);
    assert.ok(refusal.bytes > MAX_RECORD_BYTES);
    assert.match(
      refusal.message,
      /^Records\[1\]: \d+ bytes once encoded; a record may carry at most 262144 to become a delivery \(Temporal's payload limit\)$/,
    );
    // The small record was not started (nor remembered by the high-volume mode's dedupe window): alone, it starts now.
    const [published] = await client.publish(small);
    assert.equal(published.duplicate, false);
    await delivered(eventIdentity(small));
  });
}
