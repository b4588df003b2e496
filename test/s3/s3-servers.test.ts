// Needs the stack's S3 servers: minio, seaweedfs, versitygw and s3proxy (`npm run stack -- up s3`, which
// `npm run test:s3` runs first). On each: bucketflow's S3 access module (src/s3/) lists a bucket page by page
// with a small page size (keys with spaces, '+', '%', accents, CJK and an emoji, in S3's UTF-8 order), by prefix,
// every version and delete marker of a versioned bucket (versitygw 1.8.0's version listing cannot be followed page
// by page past a key's last version: the module says so; S3Proxy keeps no versions: refused), and the HEAD of an object
// with user metadata; then the bad
// inputs: an unreachable endpoint, a wrong secret, an unknown access key, a bucket or object that does not exist,
// each one line naming the bucket and endpoint, never a credential, with the retry flag right.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { endpoints } from '../../scripts/stack/endpoints';
import { s3Server, stackS3Client, type S3Server } from '../../scripts/stack/s3';
import { loadS3Settings } from '../../src/settings/s3';
import { compareObjectKeys } from '../../src/events/record';
import { openS3, type ListContinuation, type ListOptions, type S3Access, type S3Object } from '../../src/s3/client';
import { S3AccessError } from '../../src/s3/errors';

const TIMEOUT = { timeout: 120_000 };
const SERVERS = [
  { name: 'minio', url: endpoints.minio, versioning: true },
  { name: 'seaweedfs', url: endpoints.seaweedfs, versioning: true },
  { name: 'versitygw', url: endpoints.versitygw, versioning: true },
  { name: 's3proxy', url: endpoints.s3proxy, versioning: false },
];
const KEYS = [
  'a.txt',
  'b/space name.txt',
  'b/plus+sign & percent%20.txt',
  'b/ünïcødé.txt',
  'b/日本語/ファイル.txt',
  'emoji-😀.txt',
  'z',
  'zz/deep/a/b/c.txt',
  'tab\there.txt',
  'ﬀ-ligature.txt',
  '~tilde.txt',
];
const PAGE_SIZE = 3;

const bucketName = (what: string) => `bf-${what}-${randomUUID().slice(0, 8)}`;
const md5 = (body: string) => createHash('md5').update(body).digest('hex');

/** The module's settings for a stack server, as a user's environment would give them. */
function accessFor(
  server: S3Server,
  overrides: { accessKeyId?: string; secretAccessKey?: string; endpoint?: string } = {},
): S3Access {
  const settings = loadS3Settings({
    AWS_ENDPOINT_URL_S3: overrides.endpoint ?? server.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: overrides.accessKeyId ?? server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: overrides.secretAccessKey ?? server.secretAccessKey,
  });
  return openS3(settings, { maxAttempts: 2 });
}

/** Every page of a listing, as an activity would walk it (the continuation through JSON, as a heartbeat carries it). */
async function listAll(
  s3: S3Access,
  bucket: string,
  options: Omit<ListOptions, 'continuation'>,
): Promise<S3Object[][]> {
  const pages: S3Object[][] = [];
  let continuation: ListContinuation | undefined;
  do {
    const page = await s3.listPage(bucket, { ...options, continuation });
    pages.push(page.objects);
    continuation = page.next && (JSON.parse(JSON.stringify(page.next)) as ListContinuation);
    assert.ok(pages.length <= 100, 'the listing never ends');
  } while (continuation);
  return pages;
}

/** Removes a bucket the test made, with every object (and version) in it: the servers keep no test's leftovers. */
async function removeBucket(admin: S3Client, bucket: string, versioning: boolean): Promise<void> {
  for (;;) {
    const entries = versioning
      ? await admin.send(new ListObjectVersionsCommand({ Bucket: bucket })).then((page) =>
          [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((entry) => ({
            Key: entry.Key!,
            VersionId: entry.VersionId,
          })),
        )
      : await admin
          .send(new ListObjectsV2Command({ Bucket: bucket }))
          .then((page) => (page.Contents ?? []).map((entry) => ({ Key: entry.Key!, VersionId: undefined })));
    if (entries.length === 0) break;
    for (const entry of entries) await admin.send(new DeleteObjectCommand({ Bucket: bucket, ...entry }));
  }
  await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** The one-line S3AccessError `attempt` rejects with, checked for what every such error must say and must not. */
async function failureOf(attempt: Promise<unknown>, bucket: string, server: S3Server): Promise<S3AccessError> {
  const error = await attempt.then(
    () => assert.fail('expected the call to fail'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof S3AccessError, `expected an S3AccessError, got ${String(error)}`);
  assert.doesNotMatch(error.message, /\n/);
  assert.ok(error.message.includes(`"${bucket}"`), error.message);
  assert.ok(error.message.includes(error.endpoint), error.message);
  for (const secret of [server.secretAccessKey, 'wrong-secret-value', 'unknown-key-id'])
    assert.ok(!error.message.includes(secret), error.message);
  return error;
}

for (const { name, url, versioning } of SERVERS) {
  describe(`S3 access on ${name}`, () => {
    const server = s3Server(url);
    let admin: S3Client;
    let s3: S3Access;
    const bucket = bucketName('list');
    const bodies = new Map(KEYS.map((key, i) => [key, `object ${i} ${'x'.repeat(i)}`]));

    before(async () => {
      admin = stackS3Client(server);
      s3 = accessFor(server);
      await admin.send(new CreateBucketCommand({ Bucket: bucket }));
      for (const [key, body] of bodies)
        await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    });
    const made: Array<{ bucket: string; versioning: boolean }> = [{ bucket, versioning: false }];
    after(async () => {
      s3?.close();
      for (const { bucket: name, versioning: versioned } of made) await removeBucket(admin, name, versioned);
      admin?.destroy();
    });

    test("lists every object page by page, in S3's key order, with size, etag and date", TIMEOUT, async () => {
      const pages = await listAll(s3, bucket, { pageSize: PAGE_SIZE });
      assert.equal(pages.length, Math.ceil(KEYS.length / PAGE_SIZE));
      for (const page of pages) assert.ok(page.length <= PAGE_SIZE, `a page of ${page.length}`);
      const objects = pages.flat();
      assert.deepEqual(
        objects.map((object) => object.key),
        [...KEYS].sort(compareObjectKeys),
      );
      for (const object of objects) {
        const body = bodies.get(object.key)!;
        assert.equal(object.size, Buffer.byteLength(body), object.key);
        assert.equal(object.etag, md5(body), object.key);
        assert.ok(
          Math.abs(Date.parse(object.lastModified) - Date.now()) < 10 * 60_000,
          `${object.key}: ${object.lastModified}`,
        );
        assert.equal(object.isLatest, true);
        assert.equal(object.deleteMarker, false);
      }
    });

    test('lists by prefix', TIMEOUT, async () => {
      const objects = (await listAll(s3, bucket, { prefix: 'b/', pageSize: 2 })).flat();
      assert.deepEqual(
        objects.map((object) => object.key),
        KEYS.filter((key) => key.startsWith('b/')).sort(compareObjectKeys),
      );
      assert.deepEqual(await s3.listPage(bucket, { prefix: 'nothing-here/' }), { objects: [], next: undefined });
    });

    test('heads an object: content type and user metadata', TIMEOUT, async () => {
      const key = 'meta/photo 1.jpg';
      await admin.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: 'jpeg bytes',
          ContentType: 'image/jpeg',
          Metadata: { color: 'blue', 'camera-model': 'X100' },
        }),
      );
      const head = await s3.headObject(bucket, key);
      assert.equal(head.contentType, 'image/jpeg');
      assert.deepEqual(head.metadata, { color: 'blue', 'camera-model': 'X100' });
      assert.equal(head.size, 'jpeg bytes'.length);
      assert.equal(head.etag, md5('jpeg bytes'));
      await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    });

    if (!versioning) {
      test(
        'a server without versions: listing them is refused as not implemented, not retryable',
        TIMEOUT,
        async () => {
          const error = await failureOf(s3.listPage(bucket, { versions: true }), bucket, server);
          assert.deepEqual([error.kind, error.retryable], ['rejected', false]);
          assert.match(error.message, /not implemented by this server \(NotImplemented\)/);
        },
      );
    }

    if (versioning)
      test(
        'lists every version and delete marker of a versioned bucket, page by page, newest first per key',
        TIMEOUT,
        async () => {
          const versioned = bucketName('versions');
          await admin.send(new CreateBucketCommand({ Bucket: versioned }));
          made.push({ bucket: versioned, versioning: true });
          await admin.send(
            new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }),
          );
          const put = async (key: string, body: string) =>
            (await admin.send(new PutObjectCommand({ Bucket: versioned, Key: key, Body: body }))).VersionId!;
          const j1 = await put('j ü', 'j one');
          const k1 = await put('k', 'k one');
          const k2 = await put('k', 'k two!');
          const marker = (await admin.send(new DeleteObjectCommand({ Bucket: versioned, Key: 'k' }))).VersionId!;
          const l1 = await put('l', 'l one');
          const l2 = await put('l', 'l two');
          const l3 = await put('l', 'l three');
          for (const id of [j1, k1, k2, marker, l1, l2, l3])
            assert.ok(id && id !== 'null', `the server gave a version id: ${id}`);

          const pages = await listAll(s3, versioned, { versions: true, pageSize: 2 });
          assert.ok(pages.length >= 4, `7 entries in pages of 2: ${pages.length} pages`);
          const entries = (listed: S3Object[][]) =>
            listed.flat().map(({ key, versionId, isLatest, deleteMarker, etag }) => ({
              key,
              versionId,
              isLatest,
              deleteMarker,
              etag,
            }));
          const expected = [
            { key: 'j ü', versionId: j1, isLatest: true, deleteMarker: false, etag: md5('j one') },
            { key: 'k', versionId: marker, isLatest: true, deleteMarker: true, etag: '' },
            { key: 'k', versionId: k2, isLatest: false, deleteMarker: false, etag: md5('k two!') },
            { key: 'k', versionId: k1, isLatest: false, deleteMarker: false, etag: md5('k one') },
            { key: 'l', versionId: l3, isLatest: true, deleteMarker: false, etag: md5('l three') },
            { key: 'l', versionId: l2, isLatest: false, deleteMarker: false, etag: md5('l two') },
            { key: 'l', versionId: l1, isLatest: false, deleteMarker: false, etag: md5('l one') },
          ];
          assert.deepEqual(entries(pages), expected);
          if (name === 'versitygw') {
            // versitygw 1.8.0 answers the page after a key's last version with that version again, markers unchanged:
            // the module stops with a bad-listing error instead of walking the same page for ever.
            const error = await failureOf(listAll(s3, versioned, { versions: true, pageSize: 1 }), versioned, server);
            assert.deepEqual([error.kind, error.retryable], ['bad-listing', false]);
            assert.match(error.message, /version listing does not move past key "j ü"/);
          } else {
            assert.deepEqual(entries(await listAll(s3, versioned, { versions: true, pageSize: 1 })), expected);
          }
          // The current listing shows only what is not deleted.
          assert.deepEqual(
            (await listAll(s3, versioned, {})).flat().map((object) => object.key),
            ['j ü', 'l'],
          );
        },
      );

    test('a bucket that does not exist: no-such-bucket, not retryable (listing and HEAD)', TIMEOUT, async () => {
      const missing = bucketName('missing');
      const listed = await failureOf(s3.listPage(missing), missing, server);
      assert.equal(listed.kind, 'no-such-bucket');
      assert.equal(listed.retryable, false);
      const headed = await failureOf(s3.headObject(missing, 'a.txt'), missing, server);
      assert.equal(headed.kind, 'no-such-bucket');
      assert.equal(headed.retryable, false);
    });

    test('an object that does not exist: no-such-key naming it, not retryable', TIMEOUT, async () => {
      const error = await failureOf(s3.headObject(bucket, 'no such key.txt'), bucket, server);
      assert.equal(error.kind, 'no-such-key');
      assert.equal(error.retryable, false);
      assert.match(error.message, /no such object "no such key.txt"/);
    });

    test(
      'a wrong secret and an unknown access key: credentials refused, not retryable, neither value printed',
      TIMEOUT,
      async () => {
        for (const overrides of [
          { secretAccessKey: 'wrong-secret-value' },
          { accessKeyId: 'unknown-key-id', secretAccessKey: 'wrong-secret-value' },
        ]) {
          const wrong = accessFor(server, overrides);
          try {
            const error = await failureOf(wrong.listPage(bucket), bucket, server);
            assert.equal(error.kind, 'credentials', error.message);
            assert.equal(error.retryable, false);
            assert.match(
              error.message,
              /credentials refused \((InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|XAdminUserNotFound)\)/,
            );
          } finally {
            wrong.close();
          }
        }
      },
    );
  });
}

test('an unreachable endpoint: unreachable, retryable, one line naming the bucket and endpoint', TIMEOUT, async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });
  const server = s3Server(endpoints.minio);
  const s3 = accessFor(server, { endpoint: `http://127.0.0.1:${port}` });
  try {
    const error = await failureOf(s3.listPage('photos'), 'photos', server);
    assert.equal(error.kind, 'unreachable');
    assert.equal(error.retryable, true);
    assert.equal(error.message, `S3 bucket "photos" at http://127.0.0.1:${port}: endpoint unreachable (ECONNREFUSED)`);
  } finally {
    s3.close();
  }
});
