// Removing what a test made on the stack's shared S3 servers: an unversioned bucket with every object in it
// (test/s3/s3-servers.test.ts also removes versions; the scan tests make no versioned buckets).
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

export async function removeBucket(admin: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((entry) => entry.Key!);
    if (keys.length === 0) break;
    for (let i = 0; i < keys.length; i += 20)
      await Promise.all(
        keys.slice(i, i + 20).map((Key) => admin.send(new DeleteObjectCommand({ Bucket: bucket, Key }))),
      );
  }
  await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
}
