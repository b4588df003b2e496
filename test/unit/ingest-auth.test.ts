// The ingest's authentication fails closed (src/http/auth.ts), checked before the body is read, and its answers
// carry no internal error text. Temporal is out of reach here (a port where nothing listens): a request that
// passes authentication gets 503, one that does not gets 401. Needs no stack.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { BucketflowClient } from '../../src/publish/publisher';
import { buildEvent, toEnvelope } from '../../src/events';
import { buildIngestServer, type IngestOptions } from '../../src/http/server';
import { loadSettings } from '../../src/settings';
import { FileStateStore } from '../../src/state';
import { sourceFixture } from '../helpers/fixtures';
import { freePort } from '../helpers/target-config';

const closing: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const close of closing.reverse()) await close();
});

async function ingest(options: Omit<IngestOptions, 'publisher'> = {}): Promise<{ url: string; app: FastifyInstance }> {
  // Two quick attempts instead of the SDK's ten with backoff: the answer is the same, only sooner.
  const retry = makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 2, initialIntervalMs: () => 50 }));
  const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, interceptors: [retry] });
  const app = buildIngestServer({ publisher: new BucketflowClient(new Client({ connection }), { taskQueue: 'bucketflow' }), ...options });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closing.push(() => connection.close(), () => app.close());
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, app };
}

const minioBody = JSON.stringify(toEnvelope(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'a.jpg', sequencer: '1' })));
const cephBody = JSON.stringify(sourceFixture('ceph-notifications.json'));
const post = (url: string, body: string, authorization?: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body });

test('with only a Ceph token set, a MinIO body without a token is refused (401): auth fails closed', async () => {
  const { url } = await ingest({ sourceTokens: { ceph: 'ceph-token' } });
  const minio = await post(url, minioBody);
  assert.equal(minio.status, 401);
  assert.equal(minio.headers.get('www-authenticate'), 'Basic realm="bucketflow"');
  // The Ceph token opens Ceph only.
  assert.equal((await post(url, minioBody, 'Bearer ceph-token')).status, 401);
  assert.equal((await post(url, cephBody, 'Bearer ceph-token')).status, 503, 'authenticated: on to Temporal, which is out of reach');
  assert.equal((await post(url, cephBody)).status, 401);
});

test('BUCKETFLOW_INGEST_OPEN_SOURCES opens a source explicitly; the others stay closed', async () => {
  const { url } = await ingest({ sourceTokens: { ceph: 'ceph-token' }, openSources: ['minio'] });
  assert.equal((await post(url, minioBody)).status, 503);
  assert.equal((await post(url, cephBody)).status, 401);
  const eventbridge = JSON.stringify(sourceFixture('eventbridge-object-created.json'));
  assert.equal((await post(url, eventbridge)).status, 401);
});

test('the status page and its redeliver are never open while any token is set: only the global token opens them', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bucketflow-auth-'));
  closing.push(() => rm(dataDir, { recursive: true, force: true }));
  const rules = new FileStateStore(dataDir);
  const status = { settings: { ...loadSettings({}), dataDir }, state: rules };
  const onlyCeph = await ingest({ sourceTokens: { ceph: 'ceph-token' }, status });
  for (const authorization of [undefined, 'Bearer ceph-token']) {
    assert.equal((await fetch(`${onlyCeph.url}/status`, { headers: authorization ? { authorization } : {} })).status, 401, String(authorization));
    const redeliver = await fetch(`${onlyCeph.url}/status/redeliver`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) }, body: 'workflowId=x' });
    assert.equal(redeliver.status, 401, String(authorization));
  }
  const global = await ingest({ authToken: 'operator-token', sourceTokens: { ceph: 'ceph-token' }, status });
  assert.equal((await fetch(`${global.url}/status`, { headers: { authorization: 'Bearer ceph-token' } })).status, 401);
  assert.equal((await fetch(`${global.url}/status/redeliver`, { method: 'POST', headers: { authorization: 'Bearer ceph-token' }, body: 'workflowId=x' })).status, 401);
});

test('the token is checked before the body is read: a 9 MiB body announced without a token gets 401 without being sent', async () => {
  const { url } = await ingest({ authToken: 'secret' });
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  closing.push(async () => socket.destroy());
  let answer = '';
  const answered = new Promise<string>((resolve, reject) => {
    socket.on('data', (chunk) => {
      answer += chunk;
      if (answer.includes('\r\n\r\n')) resolve(answer);
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`no answer while the body was withheld (the server waits to read it): ${answer}`)), 3_000).unref();
  });
  // Headers only: the server must answer without waiting for the 9 MiB it announced.
  socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${9 * 1024 * 1024}\r\n\r\n{"Records": [`);
  assert.match(await answered, /^HTTP\/1\.1 401 /);
});

test('answers carry no internal error text: the sender learns the kind of failure, /health without the token only its state', async () => {
  const { url } = await ingest({ authToken: 'secret' });
  const response = await post(url, minioBody, 'Bearer secret');
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('retry-after'), '1');
  const { error } = (await response.json()) as { error: string };
  assert.equal(error, 'Temporal unreachable (connection refused); retry later');
  const anonymous = await fetch(`${url}/health`);
  assert.equal(anonymous.status, 503);
  assert.deepEqual(await anonymous.json(), { status: 'unavailable' });
  const operator = await fetch(`${url}/health`, { headers: { authorization: 'Bearer secret' } });
  assert.deepEqual(await operator.json(), { status: 'unavailable', error: 'Temporal unreachable (connection refused); retry later' });
});

test('settings: BUCKETFLOW_INGEST_OPEN_SOURCES names known sources without a token of their own', () => {
  assert.deepEqual(loadSettings({ BUCKETFLOW_INGEST_OPEN_SOURCES: 'minio, AWS-S3' }).ingest.openSources, ['minio', 'aws-s3']);
  assert.throws(() => loadSettings({ BUCKETFLOW_INGEST_OPEN_SOURCES: 'minio,gcs' }), /^ConfigError: BUCKETFLOW_INGEST_OPEN_SOURCES: unknown source "gcs" \(expected minio, ceph, aws-s3, aws-sns, aws-eventbridge\)$/);
  assert.throws(() => loadSettings({ BUCKETFLOW_INGEST_OPEN_SOURCES: 'ceph', BUCKETFLOW_INGEST_AUTH_TOKEN_CEPH: 't' }), /BUCKETFLOW_INGEST_OPEN_SOURCES: ceph has a token of its own \(BUCKETFLOW_INGEST_AUTH_TOKEN_CEPH\)/);
});
