// One end-to-end run per source: the body as the server sends it -> the ingest -> a delivery workflow -> a real
// webhook target, which receives MinIO's envelope. Bucket names are made unique per run (event ids derive from them).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { workflowIdFor } from '../../src/publish/publisher';
import { eventIdentity, parseEventBody } from '../../src/events';
import { buildIngestServer } from '../../src/http/server';
import { FakeSns } from '../helpers/certificates';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { defaultPayloadConverter } from '@temporalio/common';
import { searchKeys } from '../../src/delivery/search-attributes';
import type { DeliverInput } from '../../src/delivery/types';
import { sourceFixture } from '../helpers/fixtures';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const buckets = {
  ceph: uniqueBucket('ceph'),
  aws: uniqueBucket('aws'),
  sns: uniqueBucket('sns'),
  eventbridge: uniqueBucket('eb'),
};
const tokens = { ceph: 'ceph-token', 'aws-s3': 'aws-token', 'aws-sns': 'sns-token', 'aws-eventbridge': 'eb-token' };
let receiver: Receiver;
let engine: Engine;
let sns: FakeSns;
let app: FastifyInstance;
let url: string;

before(async () => {
  receiver = await Receiver.start();
  sns = await FakeSns.start();
  const rule = { id: '1', arn, events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], prefix: '', suffix: '' };
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } },
    rules: Object.fromEntries(Object.values(buckets).map((bucket) => [bucket, [rule]])),
  });
  app = buildIngestServer({
    publisher: engine.client,
    authToken: 'minio-token',
    sourceTokens: tokens,
    sns: { origins: [sns.origin], topics: ['arn:aws:sns:us-west-2:123456789012:MyTopic'] },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
});
after(async () => {
  await app.close();
  await engine.stop();
  await receiver.close();
  await sns.close();
});

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
const post = (body: unknown, authorization?: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });

/** Posts, expects 202, waits for every workflow, and returns the envelopes the webhook received for them. */
async function deliver(body: unknown, authorization: string, source: string): Promise<Array<Record<string, any>>> {
  const response = await post(body, authorization);
  const answer = (await response.json()) as {
    accepted: Array<{ workflowId: string; eventId: string }>;
    source: string;
    error?: string;
  };
  assert.equal(response.status, 202, answer.error);
  assert.equal(answer.source, source);
  for (const { workflowId } of answer.accepted) {
    const handle = engine.client.temporal.workflow.getHandle(workflowId);
    assert.equal((await handle.result()).status, 'delivered');
    // The source travels in the workflow input and in the BucketflowSource search attribute.
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(searchKeys.source), answer.source);
    const started = (await handle.fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
    assert.equal(defaultPayloadConverter.fromPayload<DeliverInput>(started.input!.payloads![0]).source, answer.source);
  }
  const ids = new Set(answer.accepted.map((a) => a.eventId));
  return receiver.requests
    .filter((r) => ids.has(String(r.headers['x-bucketflow-event-id'])))
    .map((r) => JSON.parse(r.body));
}

test('Ceph RGW: both records delivered as MinIO envelopes; the token travels as basic auth from the push-endpoint URL', async () => {
  const body = sourceFixture('ceph-notifications.json');
  for (const record of body.Records) record.s3.bucket.name = buckets.ceph;
  const envelopes = await deliver(body, basic(`rgw:${tokens.ceph}`), 'ceph');
  assert.deepEqual(envelopes.map((e) => e.EventName).sort(), [
    's3:ObjectCreated:Put',
    's3:ObjectRemoved:DeleteMarkerCreated',
  ]);
  const put = envelopes.find((e) => e.EventName === 's3:ObjectCreated:Put')!;
  assert.equal(put.Key, `${buckets.ceph}/photos/my image1.jpg`);
  assert.equal(put.Records[0].s3.object.key, 'photos%2Fmy+image1.jpg');
  assert.equal(put.Records[0].eventSource, 'ceph:s3');
  assert.deepEqual(put.Records[0].s3.object.userMetadata, { 'x-amz-meta-owner': 'alice', 'x-amz-meta-camera': 'x100' });
});

test('AWS S3 records posted raw: delivered with the key re-escaped as MinIO does', async () => {
  const body = sourceFixture('aws-s3-object-created.json');
  for (const record of body.Records) record.s3.bucket.name = buckets.aws;
  const envelopes = await deliver(body, `Bearer ${tokens['aws-s3']}`, 'aws-s3');
  const put = envelopes.find((e) => e.EventName === 's3:ObjectCreated:Put')!;
  assert.equal(put.Key, `${buckets.aws}/photos/red flower(1).jpg`);
  assert.equal(put.Records[0].s3.object.sequencer, '0055AED6DCD90281E5');
  assert.ok(envelopes.some((e) => e.EventName === 's3:ObjectRemoved:DeleteMarkerCreated'));
});

test('AWS SNS: the subscription is confirmed, a signed Notification is delivered, a tampered one is refused', async () => {
  const confirmation = await post(
    sns.sign(sourceFixture('sns-subscription-confirmation.json')),
    basic(`sns:${tokens['aws-sns']}`),
  );
  assert.equal(confirmation.status, 200);
  assert.ok(sns.requests.some((path) => path.startsWith('/?Action=ConfirmSubscription')));

  const notification = sourceFixture('sns-notification.json');
  const message = JSON.parse(notification.Message);
  message.Records[0].s3.bucket.name = buckets.sns;
  const signed = sns.sign({ ...notification, Message: JSON.stringify(message) });
  const [envelope] = await deliver(signed, basic(`sns:${tokens['aws-sns']}`), 'aws-sns');
  assert.equal(envelope.EventName, 's3:ObjectCreated:CompleteMultipartUpload');
  assert.equal(envelope.Key, `${buckets.sns}/videos/cat video.mp4`);

  const tampered = await post(
    { ...signed, Message: signed.Message.replace('cat+video', 'dog+video') },
    basic(`sns:${tokens['aws-sns']}`),
  );
  assert.equal(tampered.status, 403);
  assert.match(((await tampered.json()) as { error: string }).error, /Signature: does not match/);
});

test('EventBridge: Object Created delivered as s3:ObjectCreated:Put', async () => {
  const body = sourceFixture('eventbridge-object-created.json');
  body.detail.bucket.name = buckets.eventbridge;
  const [envelope] = await deliver(body, `Bearer ${tokens['aws-eventbridge']}`, 'aws-eventbridge');
  assert.equal(envelope.EventName, 's3:ObjectCreated:Put');
  assert.equal(envelope.Key, `${buckets.eventbridge}/reports/q4 2021.csv`);
});

test("per-source tokens: one source's token does not open another", async () => {
  const ceph = sourceFixture('ceph-notifications.json');
  for (const record of ceph.Records) record.s3.bucket.name = uniqueBucket('ceph');
  for (const authorization of [
    `Bearer ${tokens['aws-eventbridge']}`,
    'Bearer minio-token',
    basic(`rgw:${tokens['aws-s3']}`),
    undefined,
  ]) {
    const response = await post(ceph, authorization);
    assert.equal(response.status, 401, String(authorization));
    assert.equal(response.headers.get('www-authenticate'), 'Basic realm="bucketflow"');
  }
  const eventbridge = sourceFixture('eventbridge-object-created.json');
  assert.equal((await post(eventbridge, basic(`rgw:${tokens.ceph}`))).status, 401);
});

test('a body with one invalid record starts nothing; an unknown format is a 400 naming what was expected', async () => {
  const body = sourceFixture('ceph-notifications.json');
  for (const record of body.Records) record.s3.bucket.name = uniqueBucket('ceph');
  delete body.Records[1].s3.object.key;
  const response = await post(body, basic(`rgw:${tokens.ceph}`));
  assert.equal(response.status, 400);
  assert.equal(((await response.json()) as { error: string }).error, 'Records[1].s3.object.key: required');
  delete body.Records[1];
  body.Records.length = 1;
  const [first] = parseEventBody(body).events;
  await assert.rejects(
    engine.client.temporal.workflow.getHandle(workflowIdFor(eventIdentity(first.record))).describe(),
    WorkflowNotFoundError,
  );

  const unknown = await post({ hello: 'world' }, 'Bearer minio-token');
  assert.equal(unknown.status, 400);
  assert.match(((await unknown.json()) as { error: string }).error, /^body: expected MinIO's webhook body/);
});
