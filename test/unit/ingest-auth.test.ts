// The ingest's authentication fails closed (src/http/auth.ts), checked before the body is read, and its answers
// carry no internal error text; browser-originated POSTs are refused (src/http/browser-guard.ts) while SNS's own
// text/plain POSTs pass; a source's events may name only its buckets when the operator lists them. Temporal is
// out of reach here (a port where nothing listens): a request let through gets 503, one refused gets its 4xx.
// Needs no stack.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { buildEvent, toEnvelope } from '../../src/events';
import type { IngestOptions } from '../../src/http/server';
import { loadSettings } from '../../src/settings';
import { FileStateStore } from '../../src/state';
import { FakeSns } from '../helpers/certificates';
import { sourceFixture } from '../helpers/fixtures';
import { unreachableIngest, type UnreachableIngest } from '../helpers/unreachable-ingest';

const closing: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const close of closing.reverse()) await close();
});

async function ingest(options: Omit<IngestOptions, 'publisher'> = {}): Promise<UnreachableIngest> {
  const server = await unreachableIngest(options);
  closing.push(() => server.close());
  return server;
}

const minioBody = JSON.stringify(
  toEnvelope(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'a.jpg', sequencer: '1' })),
);
const cephBody = JSON.stringify(sourceFixture('ceph-notifications.json'));
const post = (url: string, body: string, authorization?: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body,
  });

test('with only a Ceph token set, a MinIO body without a token is refused (401): auth fails closed', async () => {
  const { url } = await ingest({ sourceTokens: { ceph: 'ceph-token' } });
  const minio = await post(url, minioBody);
  assert.equal(minio.status, 401);
  assert.equal(minio.headers.get('www-authenticate'), 'Basic realm="bucketflow"');
  // The Ceph token opens Ceph only.
  assert.equal((await post(url, minioBody, 'Bearer ceph-token')).status, 401);
  assert.equal(
    (await post(url, cephBody, 'Bearer ceph-token')).status,
    503,
    'authenticated: on to Temporal, which is out of reach',
  );
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
    assert.equal(
      (await fetch(`${onlyCeph.url}/status`, { headers: authorization ? { authorization } : {} })).status,
      401,
      String(authorization),
    );
    const redeliver = await fetch(`${onlyCeph.url}/status/redeliver`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
      body: 'workflowId=x',
    });
    assert.equal(redeliver.status, 401, String(authorization));
  }
  const global = await ingest({ authToken: 'operator-token', sourceTokens: { ceph: 'ceph-token' }, status });
  assert.equal((await fetch(`${global.url}/status`, { headers: { authorization: 'Bearer ceph-token' } })).status, 401);
  assert.equal(
    (
      await fetch(`${global.url}/status/redeliver`, {
        method: 'POST',
        headers: { authorization: 'Bearer ceph-token' },
        body: 'workflowId=x',
      })
    ).status,
    401,
  );
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
    setTimeout(
      () => reject(new Error(`no answer while the body was withheld (the server waits to read it): ${answer}`)),
      3_000,
    ).unref();
  });
  // Headers only: the server must answer without waiting for the 9 MiB it announced.
  socket.write(
    `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${9 * 1024 * 1024}\r\n\r\n{"Records": [`,
  );
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
  assert.deepEqual(await operator.json(), {
    status: 'unavailable',
    error: 'Temporal unreachable (connection refused); retry later',
  });
});

test('settings: BUCKETFLOW_INGEST_OPEN_SOURCES names known sources without a token of their own', () => {
  assert.deepEqual(loadSettings({ BUCKETFLOW_INGEST_OPEN_SOURCES: 'minio, AWS-S3' }).ingest.openSources, [
    'minio',
    'aws-s3',
  ]);
  assert.throws(
    () => loadSettings({ BUCKETFLOW_INGEST_OPEN_SOURCES: 'minio,gcs' }),
    /^ConfigError: BUCKETFLOW_INGEST_OPEN_SOURCES: unknown source "gcs" \(expected minio, ceph, aws-s3, aws-sns, aws-eventbridge\)$/,
  );
  assert.throws(
    () => loadSettings({ BUCKETFLOW_INGEST_OPEN_SOURCES: 'ceph', BUCKETFLOW_INGEST_AUTH_TOKEN_CEPH: 't' }),
    /BUCKETFLOW_INGEST_OPEN_SOURCES: ceph has a token of its own \(BUCKETFLOW_INGEST_AUTH_TOKEN_CEPH\)/,
  );
});

/** A POST through node:http, which adds no header of its own (fetch adds `sec-fetch-mode: cors`, as browsers do). */
function rawPost(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            error: text ? (JSON.parse(text) as { error?: string }).error : undefined,
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

test("browser-originated POSTs are refused (403, one line) with or without the operator's credentials; storage servers' POSTs are not", async () => {
  const { url } = await ingest({ authToken: 'secret' });
  const json = { 'content-type': 'application/json', authorization: 'Bearer secret' };
  const refusals: Array<[Record<string, string>, RegExp]> = [
    [{ ...json, origin: 'https://evil.example' }, /^Origin: set, so a browser sent this/],
    [{ ...json, origin: 'null' }, /^Origin: set/],
    [{ ...json, 'sec-fetch-site': 'cross-site' }, /^Sec-Fetch-Site: cross-site, so a browser sent this/],
    [{ ...json, 'sec-fetch-site': 'same-origin' }, /^Sec-Fetch-Site: same-origin/],
    [
      { authorization: 'Bearer secret', 'content-type': 'application/x-www-form-urlencoded' },
      /^Content-Type: application\/x-www-form-urlencoded is a browser form's/,
    ],
    [
      { authorization: 'Bearer secret', 'content-type': 'multipart/form-data; boundary=x' },
      /^Content-Type: multipart\/form-data is a browser form's/,
    ],
    [
      {
        authorization: 'Bearer secret',
        'content-type': 'text/plain',
        'sec-fetch-mode': 'no-cors',
        'sec-fetch-dest': 'empty',
      },
      /^Content-Type: text\/plain with sec-fetch-dest, so a browser sent this/,
    ],
    [
      { authorization: 'Bearer secret', 'content-type': 'text/plain', referer: 'https://evil.example/page' },
      /^Content-Type: text\/plain with referer/,
    ],
    [{ 'content-type': 'application/x-www-form-urlencoded' }, /^Content-Type: application\/x-www-form-urlencoded/], // refused as a browser's before the token is asked for
  ];
  for (const [headers, reason] of refusals) {
    const answer = await rawPost(url, minioBody, headers);
    assert.equal(answer.status, 403, JSON.stringify(headers));
    assert.match(answer.error ?? '', reason);
    assert.doesNotMatch(answer.error ?? '', /\n/);
  }
  // What storage servers send: JSON, or text/plain without any browser header (SNS); Sec-Fetch-Site: none is a user's
  // own navigation.
  for (const headers of [
    json,
    { ...json, 'sec-fetch-site': 'none' },
    { authorization: 'Bearer secret', 'content-type': 'text/plain; charset=UTF-8' },
    { authorization: 'Bearer secret' },
  ]) {
    assert.equal((await rawPost(url, minioBody, headers)).status, 503, JSON.stringify(headers));
  }
  // Node's fetch() with a string body: text/plain and Sec-Fetch-Mode: cors, no Origin, no Sec-Fetch-Site: not a
  // browser.
  assert.equal(
    (await fetch(url, { method: 'POST', headers: { authorization: 'Bearer secret' }, body: minioBody })).status,
    503,
  );
});

test("a browser's POST is refused before its body is read", async () => {
  const { port } = await ingest({});
  const socket = net.connect(port, '127.0.0.1');
  closing.push(async () => socket.destroy());
  let answer = '';
  const answered = new Promise<string>((resolve, reject) => {
    socket.on('data', (chunk) => {
      answer += chunk;
      if (answer.includes('\r\n\r\n')) resolve(answer);
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`no answer while the body was withheld: ${answer}`)), 3_000).unref();
  });
  socket.write(
    `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\nContent-Type: text/plain\r\nContent-Length: ${9 * 1024 * 1024}\r\n\r\n{`,
  );
  assert.match(await answered, /^HTTP\/1\.1 403 /);
});

test("SNS's own POST (text/plain, its x-amz-sns headers, no browser header) is verified and let through", async () => {
  const sns = await FakeSns.start();
  closing.push(() => sns.close());
  const topic = 'arn:aws:sns:us-west-2:123456789012:MyTopic';
  const { url } = await ingest({ sns: { origins: [sns.origin], topics: [topic] } });
  const signed = sns.sign(sourceFixture('sns-notification.json'));
  const headers = {
    'content-type': 'text/plain; charset=UTF-8',
    'x-amz-sns-message-type': 'Notification',
    'x-amz-sns-topic-arn': topic,
    'x-amz-sns-message-id': String(signed.MessageId),
    'user-agent': 'Amazon Simple Notification Service Agent',
  };
  assert.equal(
    (await rawPost(url, JSON.stringify(signed), headers)).status,
    503,
    'signature verified, on to Temporal (out of reach)',
  );
  const tampered = await rawPost(
    url,
    JSON.stringify({ ...signed, Message: String(signed.Message).replace('cat+video', 'dog+video') }),
    headers,
  );
  assert.equal(tampered.status, 403);
  assert.match(tampered.error ?? '', /^Signature: does not match/);
});

const recordFor = (bucket: string, key = 'a.jpg') =>
  buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key, sequencer: '1' });

test("bucket patterns per source: an event for another bucket is refused (403 naming it) with its whole body; the source's own list wins over the global one", async () => {
  const { url } = await ingest({
    sourceTokens: { minio: 'minio-token', ceph: 'ceph-token' },
    buckets: { global: ['photos-*', 'logs'], sources: { ceph: ['rgw-*'] } },
  });
  const minio = (...buckets: string[]) => JSON.stringify({ Records: buckets.map((bucket) => recordFor(bucket)) });
  assert.equal(
    (await post(url, minio('photos-2024', 'logs'), 'Bearer minio-token')).status,
    503,
    'allowed: on to Temporal',
  );
  for (const body of [minio('images'), minio('photos-2024', 'images'), minio('logs2'), minio('xphotos-1')]) {
    const response = await post(url, body, 'Bearer minio-token');
    assert.equal(response.status, 403, body);
    const { error } = (await response.json()) as { error: string };
    assert.match(
      error,
      /^bucket "(images|logs2|xphotos-1)" is not among the buckets minio may post for \(BUCKETFLOW_INGEST_BUCKETS\); nothing of this body was started$/,
    );
  }
  // Ceph's own list: its fixture's bucket is not among rgw-*, and the global list does not apply to it.
  const ceph = sourceFixture('ceph-notifications.json') as { Records: Array<{ s3: { bucket: { name: string } } }> };
  const refused = await post(url, JSON.stringify(ceph), 'Bearer ceph-token');
  assert.equal(refused.status, 403);
  assert.match(
    ((await refused.json()) as { error: string }).error,
    /is not among the buckets ceph may post for \(BUCKETFLOW_INGEST_BUCKETS_CEPH\)/,
  );
  for (const record of ceph.Records) record.s3.bucket.name = 'rgw-uploads';
  assert.equal((await post(url, JSON.stringify(ceph), 'Bearer ceph-token')).status, 503);
});

/** The log lines (JSON) of an ingest started by runIngest in a child process with these settings, then closed. */
function startupLines(env: Record<string, string>): Array<{ level: string; message: string }> {
  const program = `
    const { Client, Connection } = require('@temporalio/client');
    const { BucketflowClient } = require('./src/publish/publisher');
    const { runIngest } = require('./src/http/server');
    const { ingestSettings } = require('./src/settings');
    (async () => {
      const connection = Connection.lazy({ address: '127.0.0.1:1' });
      const app = await runIngest(new BucketflowClient(new Client({ connection }), { taskQueue: 'q' }), ingestSettings(${JSON.stringify({ BUCKETFLOW_INGEST_PORT: '0', ...env })}));
      await app.close();
      await connection.close();
    })();`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', program], {
    cwd: path.resolve(__dirname, '../..'),
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

test('an ingest opened on a non-loopback address without a token (BUCKETFLOW_INGEST_ALLOW_OPEN) says so at WARN; on loopback or with a token it does not', () => {
  const warnings = (env: Record<string, string>) =>
    startupLines(env)
      .filter((line) => line.level === 'WARN')
      .map((line) => line.message);
  assert.deepEqual(warnings({ BUCKETFLOW_INGEST_HOST: '0.0.0.0', BUCKETFLOW_INGEST_ALLOW_OPEN: 'true' }), [
    'ingest open without a token on an address other machines reach (BUCKETFLOW_INGEST_ALLOW_OPEN): anyone who reaches it can post events',
  ]);
  assert.deepEqual(warnings({ BUCKETFLOW_INGEST_HOST: '127.0.0.1', BUCKETFLOW_INGEST_ALLOW_OPEN: 'true' }), []);
  assert.deepEqual(
    warnings({
      BUCKETFLOW_INGEST_HOST: '0.0.0.0',
      BUCKETFLOW_INGEST_ALLOW_OPEN: 'true',
      BUCKETFLOW_INGEST_AUTH_TOKEN: 't',
    }),
    [],
  );
});
