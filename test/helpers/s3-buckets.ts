// Large buckets for the tests and benches (`fillBucket`: created and filled with N small objects, many uploads at
// once), the AWS_* environment that points bucketflow at a stack server (`awsEnvOf`), and removing what a test made
// on the stack's shared S3 servers: an unversioned bucket with every object in it (test/s3/s3-servers.test.ts also
// removes versions; the scan tests make no versioned buckets).
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3Server } from '../../scripts/stack/s3';

/** The AWS_* settings a worker or the CLI lists this server's buckets with (as a user exports them). */
export function awsEnvOf(server: S3Server, region = 'us-east-1'): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: server.endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
  };
}

/** Uploads at once while filling a bucket. */
const FILL_CONCURRENCY = 32;

/** Creates `bucket` and uploads `count` objects, object i at `keyOf(i)` with a small body of its own. */
export async function fillBucket(
  admin: S3Client,
  bucket: string,
  count: number,
  keyOf: (i: number) => string,
): Promise<void> {
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  let next = 0;
  await Promise.all(
    Array.from({ length: FILL_CONCURRENCY }, async () => {
      for (let i = next++; i < count; i = next++)
        await admin.send(new PutObjectCommand({ Bucket: bucket, Key: keyOf(i), Body: `object ${i}` }));
    }),
  );
}

/**
 * Removes a bucket and every object in it. `bulk`: a thousand objects per DeleteObjects request (MinIO; a large
 * bucket); else one DeleteObject each, twenty at a time, which every stack server takes.
 */
export async function removeBucket(admin: S3Client, bucket: string, options: { bulk?: boolean } = {}): Promise<void> {
  for (;;) {
    const page = await admin.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map((entry) => entry.Key!);
    if (keys.length === 0) break;
    if (options.bulk) {
      const objects = keys.map((Key) => ({ Key }));
      await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
      continue;
    }
    for (let i = 0; i < keys.length; i += 20)
      await Promise.all(
        keys.slice(i, i + 20).map((Key) => admin.send(new DeleteObjectCommand({ Bucket: bucket, Key }))),
      );
  }
  await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
}
