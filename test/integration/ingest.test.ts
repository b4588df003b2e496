// The HTTP ingest endpoint, as an unmodified MinIO webhook target would call it.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { workflowIdFor } from '../../src/publish/publisher';
import { buildEvent, eventIdentity, toEnvelope } from '../../src/events';
import { buildIngestServer } from '../../src/http/server';
import { oneWebhook, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const bucket = uniqueBucket('ingest');
let receiver: Receiver;
let engine: Engine;
let app: FastifyInstance;
let url: string;

before(async () => {
  receiver = await Receiver.start();
  engine = await startEngine({
    ...oneWebhook(receiver.url, bucket),
  });
  app = buildIngestServer({ publisher: engine.client, authToken: 's3cr3t' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/minio/events`;
});
after(async () => {
  await app.close();
  await engine.stop();
  await receiver.close();
});

const post = (body: string, authorization?: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body,
  });

test('202 once the delivery is durably started, and the event reaches the target', async () => {
  const record = buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket,
    key: 'a b.jpg',
    size: 7,
    sequencer: '17F0A1B2C3D4E5F8',
  });
  const response = await post(JSON.stringify(toEnvelope(record)), 'Bearer s3cr3t');
  assert.equal(response.status, 202);
  const { accepted } = (await response.json()) as { accepted: Array<{ workflowId: string; duplicate: boolean }> };
  assert.equal(accepted.length, 1);
  assert.equal(accepted[0].duplicate, false);
  const result = await engine.client.temporal.workflow.getHandle(accepted[0].workflowId).result();
  assert.equal(result.status, 'delivered');
  assert.deepEqual(JSON.parse(receiver.requests.at(-1)!.body).Records, [record]);
});

test('401 without the configured bearer token', async () => {
  const body = JSON.stringify(
    toEnvelope(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'x', sequencer: '1' })),
  );
  assert.equal((await post(body)).status, 401);
  assert.equal((await post(body, 'Bearer wrong')).status, 401);
});

test('400 naming the problem for malformed JSON and malformed events', async () => {
  const badJson = await post('{"Records": [', 'Bearer s3cr3t');
  assert.equal(badJson.status, 400);
  assert.match(((await badJson.json()) as { error: string }).error, /JSON/i);

  const record = buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket,
    key: 'y',
    sequencer: '2',
  }) as unknown as Record<string, any>;
  delete record.s3.bucket.name;
  const badEvent = await post(JSON.stringify({ Records: [record] }), 'Bearer s3cr3t');
  assert.equal(badEvent.status, 400);
  assert.match(((await badEvent.json()) as { error: string }).error, /Records\[0\]\.s3\.bucket\.name/);
});

test('a MinIO body {"Records": [valid, invalid]} is refused whole (400 naming the bad record): the valid record is not started', async () => {
  const valid = buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `mixed-${Date.now()}.jpg` });
  const invalid = buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'mixed-bad.jpg' }) as unknown as Record<
    string,
    any
  >;
  invalid.eventName = 's3:ObjectCreated:Upload';
  const response = await post(JSON.stringify({ Records: [valid, invalid] }), 'Bearer s3cr3t');
  assert.equal(response.status, 400);
  assert.deepEqual(await response.json(), {
    error: 'Records[1].eventName: unknown event name "s3:ObjectCreated:Upload"',
  });
  await assert.rejects(
    engine.client.temporal.workflow.getHandle(workflowIdFor(eventIdentity(valid))).describe(),
    WorkflowNotFoundError,
  );
  // The same valid record alone is accepted: the refusal was about the other one.
  assert.equal((await post(JSON.stringify({ Records: [valid] }), 'Bearer s3cr3t')).status, 202);
});

test('health reports the Temporal connection', async () => {
  const response = await fetch(new URL('/health', url));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { status: 'ok' });
});
