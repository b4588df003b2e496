// The ingest server with Temporal out of reach (a port where nothing listens), as MinIO would meet it:
// an event that could not be recorded is never acknowledged (503, so MinIO retries or queues it), and
// /health says so; a body that can never become a delivery is still refused for good (413). Needs no stack.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { BucketflowClient } from '../../src/publish/publisher';
import { buildEvent, toEnvelope } from '../../src/events';
import { buildIngestServer } from '../../src/http/server';
import { freePort } from '../helpers/target-config';

let connection: Connection;
let app: FastifyInstance;
let url: string;

before(async () => {
  // Two quick attempts instead of the SDK's ten with backoff (~20 s): the answer is the same, only sooner.
  const retry = makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 2, initialIntervalMs: () => 50 }));
  connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, interceptors: [retry] });
  app = buildIngestServer({ publisher: new BucketflowClient(new Client({ connection }), { taskQueue: 'bucketflow' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await app.close();
  await connection.close();
});

test('an event posted while Temporal is unreachable gets 503, not 202', async () => {
  const record = buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'a.jpg', size: 1 });
  const response = await fetch(`${url}/minio/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(toEnvelope(record)),
  });
  assert.equal(response.status, 503);
  assert.equal(
    ((await response.json()) as { error: string }).error,
    'Temporal unreachable (connection refused); retry later',
  );
});

test('/health answers 503 with the reason while Temporal is unreachable', async () => {
  const response = await fetch(`${url}/health`);
  assert.equal(response.status, 503);
  const body = (await response.json()) as { status: string; error: string };
  assert.equal(body.status, 'unavailable');
  assert.match(body.error, /^Temporal unreachable \((connection refused|not answering)\); retry later$/);
});

test('a record too large for a workflow input is a 413 also while Temporal is unreachable: a permanent refusal, never a 503 to retry', async () => {
  const record = buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket: 'images',
    key: 'huge.jpg',
    size: 1,
    userMetadata: { padding: 'x'.repeat(300 * 1024) },
  });
  const response = await fetch(`${url}/minio/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(toEnvelope(record)),
  });
  assert.equal(response.status, 413);
  assert.match(
    ((await response.json()) as { error: string }).error,
    /^Records\[0\]: \d+ bytes once encoded; a record may carry at most 262144 to become a delivery/,
  );
});
