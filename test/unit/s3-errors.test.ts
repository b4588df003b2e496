// The answers no stack server gives on demand (throttling, a 5xx, a 400, a body that is not S3's, a listing that
// never moves on), read by src/s3: a loopback HTTP listener answers each as S3 would, and the module's error says
// what it is in one line naming bucket and endpoint, with the retry flag right, and a server's message quoted
// without the credentials in it. (The stack's real servers give the others: test/s3/s3-servers.test.ts.) Also the stack
// manager's grouping: a bare `up` starts none of the opt-in S3 servers, `up s3` all four.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { servicesToStart } from '../../scripts/stack/services';
import { loadS3Settings } from '../../src/settings/s3';
import { openS3, type S3Access } from '../../src/s3/client';
import { S3AccessError } from '../../src/s3/errors';

const ACCESS_KEY = 'AKIDUNITTEST';
const SECRET = 'unit-test-secret-value';
/** What the listener answers to a request for a bucket: status, S3 error code, message. */
const ANSWERS: Record<string, [number, string, string]> = {
  slow: [503, 'SlowDown', 'Please reduce your request rate.'],
  toomany: [429, 'TooManyRequests', 'Too many requests'],
  broken: [500, 'InternalError', 'We encountered an internal error.'],
  refused: [400, 'InvalidArgument', `Bad argument for key ${ACCESS_KEY}\nsecond line`],
};

let server: Server;
let endpoint: string;
let s3: S3Access;

before(async () => {
  server = createServer((request, response) => {
    const bucket = (request.url ?? '').split(/[/?]/)[1];
    if (bucket === 'stuck' || bucket === 'tokenless') {
      // A server whose listing never moves on: always the same truncated page (with a token, or without one).
      const token = bucket === 'stuck' ? '<NextContinuationToken>t1</NextContinuationToken>' : '';
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><IsTruncated>true</IsTruncated>${token}<KeyCount>1</KeyCount>` +
          '<Contents><Key>a</Key><Size>1</Size><ETag>"0cc175b9c0f1b6a831c399e269772661"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents></ListBucketResult>',
      );
      return;
    }
    if (bucket === 'html') {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><body>a web page, not S3</body></html>');
      return;
    }
    const [status, code, message] = ANSWERS[bucket];
    response.writeHead(status, { 'content-type': 'application/xml' });
    response.end(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><BucketName>${bucket}</BucketName></Error>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const settings = loadS3Settings({
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET,
  });
  s3 = openS3(settings, { maxAttempts: 1 });
});
after(() => {
  s3.close();
  server.close();
});

async function failure(bucket: string): Promise<S3AccessError> {
  const error = await s3.listPage(bucket).then(
    () => assert.fail('expected a failure'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof S3AccessError, String(error));
  assert.doesNotMatch(error.message, /\n/);
  assert.ok(error.message.startsWith(`S3 bucket "${bucket}" at ${endpoint}: `), error.message);
  assert.ok(!error.message.includes(ACCESS_KEY) && !error.message.includes(SECRET), error.message);
  return error;
}

test('throttling (503 SlowDown, 429) is retryable', async () => {
  for (const bucket of ['slow', 'toomany']) {
    const error = await failure(bucket);
    assert.equal(error.kind, 'throttled');
    assert.equal(error.retryable, true);
    assert.equal(error.code, ANSWERS[bucket][1]);
  }
});

test('a 5xx is retryable', async () => {
  const error = await failure('broken');
  assert.deepEqual([error.kind, error.retryable], ['server', true]);
  assert.match(error.message, /server error HTTP 500 \(InternalError\)/);
});

test('a request the server refuses (400) is not retryable; its message is quoted on one line without the access key', async () => {
  const error = await failure('refused');
  assert.deepEqual([error.kind, error.retryable], ['rejected', false]);
  assert.match(
    error.message,
    /request refused HTTP 400 \(InvalidArgument\): Bad argument for key REDACTED second line$/,
  );
});

test('a 200 answer that is not an S3 listing (a web page) is an error, never an empty bucket', async () => {
  const error = await failure('html');
  assert.equal(error.kind, 'other');
  assert.match(error.message, /the answer is not an S3 listing of this bucket/);
  const versions = await s3.listPage('html', { versions: true }).catch((thrown: unknown) => thrown);
  assert.ok(versions instanceof S3AccessError && versions.kind === 'other', String(versions));
});

test('a listing that does not move on, or is truncated without a token, is a non-retryable bad-listing error, not a loop', async () => {
  const first = await s3.listPage('stuck');
  assert.deepEqual(
    first.objects.map((object) => [object.key, object.etag]),
    [['a', '0cc175b9c0f1b6a831c399e269772661']],
  );
  assert.deepEqual(first.next, { kind: 'objects', token: 't1', lastKey: 'a' });
  const stuck = await s3.listPage('stuck', { continuation: first.next }).catch((thrown: unknown) => thrown);
  assert.ok(stuck instanceof S3AccessError, String(stuck));
  assert.deepEqual([stuck.kind, stuck.retryable], ['bad-listing', false]);
  assert.match(stuck.message, /does not move on/);
  const tokenless = await failure('tokenless');
  assert.deepEqual([tokenless.kind, tokenless.retryable], ['bad-listing', false]);
  assert.match(tokenless.message, /sent no NextContinuationToken/);
});

test('a bare `stack up` starts none of the S3 servers; `up s3` starts the four', () => {
  const names = (given: string[]) => servicesToStart(given).map((service) => service.name);
  assert.deepEqual(
    names([]).filter((name) => ['minio', 'seaweedfs', 'versitygw', 's3proxy'].includes(name)),
    [],
  );
  assert.deepEqual(names(['s3']), ['minio', 'seaweedfs', 'versitygw', 's3proxy']);
  assert.deepEqual(names(['minio', 'versitygw']), ['minio', 'versitygw']);
});
