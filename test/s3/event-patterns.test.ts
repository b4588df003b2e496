// Needs Temporal and the stack's MinIO binary (`npm run stack -- up temporal minio`): event patterns on bucket rules,
// end to end. A MinIO of the test's own (test/helpers/minio.ts) notifies two webhooks: one at the ingest inside the
// engine's worker (the publisher matches the rules), one at a separate `npm run ingest` process (the workflow's own
// rule lookup matches them). Each bucket gets a rule added with `bucketflow events add --pattern` (object size,
// content type and user metadata); objects of mixed sizes, content types and metadata are uploaded, and only the
// matching ones reach the webhook target, while every upload's delivery ends (the others with no targets).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { stackS3Client } from '../../scripts/stack/s3';
import type { EventEnvelope } from '../../src/events/types';
import { loadSettings } from '../../src/settings';
import { cliFor, eventually } from '../helpers/cli';
import { ONE_WEBHOOK_ARN, spawnEntryPoint, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { freePort, startOwnMinio, type OwnMinio } from '../helpers/minio';
import { Receiver } from '../helpers/receiver';

/** Images of at least 1 KiB whose stage is not draft. */
const PATTERN = {
  s3: {
    object: {
      size: [{ numeric: ['>=', 1024] }],
      contentType: [{ prefix: 'image/' }],
      userMetadata: { 'X-Amz-Meta-Stage': [{ 'anything-but': 'draft' }] },
    },
  },
};

/** Every mix of size, content type and stage: exactly one object of each bucket matches. */
const UPLOADS = [10, 4096].flatMap((size) =>
  ['image/png', 'text/plain'].flatMap((contentType) =>
    ['draft', 'final'].map((stage) => ({
      key: `in/${size}-${contentType.replace('/', '_')}-${stage}`,
      size,
      contentType,
      stage,
    })),
  ),
);
const MATCHING = UPLOADS.filter((u) => u.size >= 1024 && u.contentType.startsWith('image/') && u.stage !== 'draft');

const inWorker = uniqueBucket('pattern-worker');
const lookup = uniqueBucket('pattern-lookup');

let receiver: Receiver;
let engine: Engine;
let minio: OwnMinio;
let admin: S3Client;
let ingest: ChildProcess;
let cli: ReturnType<typeof cliFor>;

before(async () => {
  receiver = await Receiver.start();
  const [workerIngestPort, ingestPort] = [await freePort(), await freePort()];
  minio = await startOwnMinio({
    MINIO_NOTIFY_WEBHOOK_ENABLE_WORKER: 'on',
    MINIO_NOTIFY_WEBHOOK_ENDPOINT_WORKER: `http://127.0.0.1:${workerIngestPort}/`,
    MINIO_NOTIFY_WEBHOOK_ENABLE_INGEST: 'on',
    MINIO_NOTIFY_WEBHOOK_ENDPOINT_INGEST: `http://127.0.0.1:${ingestPort}/`,
  });
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } },
    rules: {},
    settings: {
      ingestInWorker: true,
      ingest: loadSettings({ BUCKETFLOW_INGEST_PORT: String(workerIngestPort) }).ingest,
    },
  });
  cli = cliFor(engine.settings);
  ingest = spawnEntryPoint('ingest', engine.settings, { BUCKETFLOW_INGEST_PORT: String(ingestPort) });
  for (const port of [workerIngestPort, ingestPort]) {
    await eventually(
      () =>
        fetch(`http://127.0.0.1:${port}/status`).then(
          () => true,
          () => undefined,
        ),
      `the ingest on port ${port}`,
      60_000,
    );
  }
  admin = stackS3Client(minio.server);
  for (const [bucket, id] of [
    [inWorker, 'WORKER'],
    [lookup, 'INGEST'],
  ]) {
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    await admin.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [{ QueueArn: `arn:minio:sqs::${id}:webhook`, Events: ['s3:ObjectCreated:*'] }],
        },
      }),
    );
  }
});

after(async () => {
  ingest?.kill('SIGTERM');
  admin?.destroy();
  await engine?.stop();
  await minio?.stop();
  await receiver?.close();
});

test(
  'a rule with a pattern delivers only the matching uploads, matched by the ingest or by the workflow',
  {
    timeout: 300_000,
  },
  async () => {
    for (const bucket of [inWorker, lookup]) {
      const added = await cli(
        'events',
        'add',
        bucket,
        ONE_WEBHOOK_ARN,
        '--event',
        'put',
        '--pattern',
        JSON.stringify(PATTERN),
      );
      assert.equal(added.code, 0, added.err);
      const listed = await cli('events', 'list', bucket);
      assert.equal(listed.out, `${ONE_WEBHOOK_ARN}   s3:ObjectCreated:*   Pattern: ${JSON.stringify(PATTERN)}`);
    }
    for (const bucket of [inWorker, lookup]) {
      await Promise.all(
        UPLOADS.map((u) =>
          admin.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: u.key,
              Body: Buffer.alloc(u.size, 'x'),
              ContentType: u.contentType,
              Metadata: { stage: u.stage },
            }),
          ),
        ),
      );
    }
    // Every upload's delivery ends: the matching ones delivered, the others with no targets.
    for (const bucket of [inWorker, lookup]) {
      const ended = await eventually(
        async () => {
          const listed = await cli('deliveries', 'list', '--bucket', bucket, '--json');
          const rows = JSON.parse(listed.out || '[]') as Array<{ key: string; status: string }>;
          return rows.length === UPLOADS.length &&
            rows.every((r) => r.status === 'delivered' || r.status === 'no-targets')
            ? rows
            : undefined;
        },
        `every delivery of ${bucket} ended`,
        120_000,
      );
      assert.deepEqual(
        ended
          .filter((r) => r.status === 'delivered')
          .map((r) => r.key)
          .sort(),
        MATCHING.map((u) => u.key).sort(),
        bucket,
      );
    }
    const arrived = receiver.requests.map((r) => (JSON.parse(r.body) as EventEnvelope).Key).sort();
    assert.deepEqual(arrived, [inWorker, lookup].flatMap((b) => MATCHING.map((u) => `${b}/${u.key}`)).sort());
  },
);
