// The S3 connection settings (src/settings/s3.ts), read as the AWS SDKs read them: which endpoint wins,
// when addressing is path-style, the region's fallbacks, credentials in pairs or from the SDK's chain, and each bad
// value one ConfigError line naming its variable (or the command's --endpoint) without quoting any credential.
// Needs no server: the path-style check sends one listing to a loopback HTTP listener and reads its request line.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/params';
import { describeS3Settings, loadS3Settings, needsPathStyle } from '../../src/settings/s3';
import { openS3 } from '../../src/s3/client';

const KEYS = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE1', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-secret' };

/** The ConfigError `load` throws: its field, and its one-line message. */
function refusal(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.doesNotMatch(error.message, /\n/);
    return error;
  }
  assert.fail('expected a ConfigError');
}

test('defaults: AWS itself (no endpoint), us-east-1, virtual-hosted, credentials from the SDK chain', () => {
  const settings = loadS3Settings({});
  assert.deepEqual(settings, {
    endpoint: undefined,
    region: 'us-east-1',
    forcePathStyle: false,
    credentials: undefined,
  });
  assert.equal(describeS3Settings(settings).endpoint, 'https://s3.us-east-1.amazonaws.com');
});

test("AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL, a command's --endpoint over both; trailing slashes go", () => {
  assert.equal(loadS3Settings({ AWS_ENDPOINT_URL: 'http://general:1' }).endpoint, 'http://general:1');
  assert.equal(
    loadS3Settings({ AWS_ENDPOINT_URL: 'http://general:1', AWS_ENDPOINT_URL_S3: 'http://s3-only:2/' }).endpoint,
    'http://s3-only:2',
  );
  assert.equal(
    loadS3Settings({ AWS_ENDPOINT_URL_S3: 'http://s3-only:2' }, { endpoint: 'https://flag.example/prefix/' }).endpoint,
    'https://flag.example/prefix',
  );
});

test('path-style for an IP address or localhost endpoint, or when BUCKETFLOW_S3_FORCE_PATH_STYLE is on', () => {
  for (const endpoint of [
    'http://127.0.0.1:9000',
    'http://10.1.2.3',
    'http://[::1]:9000',
    'http://localhost:9000',
    'http://minio.localhost',
  ]) {
    assert.equal(needsPathStyle(endpoint), true, endpoint);
    assert.equal(loadS3Settings({ AWS_ENDPOINT_URL_S3: endpoint }).forcePathStyle, true, endpoint);
  }
  for (const endpoint of ['https://s3.example.com', 'http://minio.internal:9000', 'http://localhost.example.com']) {
    assert.equal(loadS3Settings({ AWS_ENDPOINT_URL_S3: endpoint }).forcePathStyle, false, endpoint);
    assert.equal(
      loadS3Settings({ AWS_ENDPOINT_URL_S3: endpoint, BUCKETFLOW_S3_FORCE_PATH_STYLE: 'true' }).forcePathStyle,
      true,
      endpoint,
    );
    assert.equal(
      loadS3Settings({ AWS_ENDPOINT_URL_S3: endpoint, BUCKETFLOW_S3_FORCE_PATH_STYLE: 'on' }).forcePathStyle,
      true,
      endpoint,
    );
  }
  // An IP endpoint cannot be virtual-hosted, whatever the switch says.
  assert.equal(
    loadS3Settings({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000', BUCKETFLOW_S3_FORCE_PATH_STYLE: 'false' })
      .forcePathStyle,
    true,
  );
  const bad = refusal(() => loadS3Settings({ BUCKETFLOW_S3_FORCE_PATH_STYLE: 'maybe' }));
  assert.equal(bad.field, 'BUCKETFLOW_S3_FORCE_PATH_STYLE');
  assert.match(bad.message, /"maybe"/);
});

test("a localhost endpoint is sent path-style: the bucket is the first path segment, the host is the endpoint's", async () => {
  const requests: Array<{ host?: string; url?: string }> = [];
  const server = createServer((request, response) => {
    requests.push({ host: request.headers.host, url: request.url });
    response.writeHead(200, { 'content-type': 'application/xml' });
    response.end(
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>photos</Name><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const s3 = openS3(loadS3Settings({ ...KEYS, AWS_ENDPOINT_URL_S3: `http://localhost:${port}` }), { maxAttempts: 1 });
  try {
    assert.deepEqual(await s3.listPage('photos'), { objects: [], next: undefined });
  } finally {
    s3.close();
    server.close();
  }
  assert.equal(requests.length, 1);
  assert.equal(requests[0].host, `localhost:${port}`);
  assert.match(requests[0].url ?? '', /^\/photos\/?\?/);
});

test('a bad endpoint is refused naming its variable; a URL with credentials or a query is never quoted', () => {
  const plain = refusal(() => loadS3Settings({ AWS_ENDPOINT_URL_S3: 'localhost:9000' }));
  assert.equal(plain.field, 'AWS_ENDPOINT_URL_S3');
  assert.match(plain.message, /expected an http:\/\/ or https:\/\/ URL.*"localhost:9000"/);
  assert.equal(refusal(() => loadS3Settings({ AWS_ENDPOINT_URL: 'ftp://files.example' })).field, 'AWS_ENDPOINT_URL');
  const withCredentials = refusal(() =>
    loadS3Settings({ AWS_ENDPOINT_URL_S3: 'http://minio:s3cr3t-value@127.0.0.1:9000' }),
  );
  assert.equal(withCredentials.field, 'AWS_ENDPOINT_URL_S3');
  assert.match(withCredentials.message, /credentials go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  assert.doesNotMatch(withCredentials.message, /s3cr3t-value/);
  const withQuery = refusal(() => loadS3Settings({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000/?token=t0ken-value' }));
  assert.doesNotMatch(withQuery.message, /t0ken-value/);
  const flag = refusal(() =>
    loadS3Settings({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' }, { endpoint: 'not a url' }),
  );
  assert.equal(flag.field, '--endpoint');
});

test('the region: AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1; a malformed one is named', () => {
  assert.equal(loadS3Settings({ AWS_DEFAULT_REGION: 'eu-west-3' }).region, 'eu-west-3');
  assert.equal(loadS3Settings({ AWS_DEFAULT_REGION: 'eu-west-3', AWS_REGION: 'ap-south-1' }).region, 'ap-south-1');
  const bad = refusal(() => loadS3Settings({ AWS_REGION: 'eu west/1' }));
  assert.equal(bad.field, 'AWS_REGION');
  assert.equal(refusal(() => loadS3Settings({ AWS_DEFAULT_REGION: 'x y' })).field, 'AWS_DEFAULT_REGION');
});

test('credentials come in pairs; the missing half is named, neither value is ever quoted or described', () => {
  assert.deepEqual(loadS3Settings(KEYS).credentials, {
    accessKeyId: 'AKIDEXAMPLE1',
    secretAccessKey: 'wJalrXUtnFEMI-secret',
  });
  assert.deepEqual(
    loadS3Settings({ ...KEYS, AWS_SESSION_TOKEN: 'session-tok' }).credentials?.sessionToken,
    'session-tok',
  );
  const noSecret = refusal(() => loadS3Settings({ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE1' }));
  assert.equal(noSecret.field, 'AWS_SECRET_ACCESS_KEY');
  assert.doesNotMatch(noSecret.message, /AKIDEXAMPLE1/);
  const noKey = refusal(() => loadS3Settings({ AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-secret' }));
  assert.equal(noKey.field, 'AWS_ACCESS_KEY_ID');
  assert.doesNotMatch(noKey.message, /wJalrXUtnFEMI/);
  assert.equal(refusal(() => loadS3Settings({ AWS_SESSION_TOKEN: 'session-tok' })).field, 'AWS_SESSION_TOKEN');
  const described = JSON.stringify(
    describeS3Settings(loadS3Settings({ ...KEYS, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' })),
  );
  assert.doesNotMatch(described, /AKIDEXAMPLE1|wJalrXUtnFEMI/);
  assert.match(described, /path-style/);
});
