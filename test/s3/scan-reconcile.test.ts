// Needs Temporal, Redis and the stack's MinIO binary (`npm run stack -- up minio redis`): a MinIO of the test's own
// (test/helpers/minio.ts) whose webhook notification target, WITHOUT queue_dir, points at a real ingest process
// (`npm run ingest`); a real engine delivers to a webhook receiver (a message target) and Redis in namespace format
// (a store target). Reconciliation (`scan add --reconcile`): 100 objects notified while the ingest is up are not
// delivered again; the ingest stopped for 30 s while 1,000 objects are uploaded and 10 deleted: MinIO drops those
// events (it says so in its log, and sends none once the ingest is back); the next reconciliation delivers every
// missed object and removal (origin reconcile, in records shaped as MinIO's own), once each at the store and with
// at most 1% duplicates at the webhook, reports them (its run, a metric, `deliveries list --origin reconcile`), and
// 50 objects notified after the ingest came back are not delivered again either.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import Redis from 'ioredis';
import { endpoints } from '../../scripts/stack/endpoints';
import { stackS3Client } from '../../scripts/stack/s3';
import type { EventEnvelope, S3EventRecord } from '../../src/events/types';
import { scanIdFor, scheduleIdFor } from '../../src/state/scans';
import { registry } from '../../src/telemetry/metrics';
import { cliFor, eventually } from '../helpers/cli';
import { spawnEntryPoint, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { freePort, startOwnMinio, type OwnMinio } from '../helpers/minio';
import { Receiver } from '../helpers/receiver';

const BEFORE = 100;
const MISSED = 1_000;
const DELETED = 10;
const AFTER = 50;
const OUTAGE_MS = 30_000;
const bucket = uniqueBucket('reconcile');
const scanId = scanIdFor(bucket, '');
const redisKey = `bucketflow-reconcile-${randomUUID().slice(0, 8)}`;
const [redisHost, redisPort] = endpoints.redis.split(':');
const keysOf = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}/${String(i).padStart(4, '0')}`);

let receiver: Receiver;
let engine: Engine;
let minio: OwnMinio;
let admin: S3Client;
let redis: Redis;
let cli: ReturnType<typeof cliFor>;
let ingestPort: number;
let ingest: ChildProcess | undefined;

/** `npm run ingest` on the test's port, resolved once it answers HTTP. */
async function startIngest(): Promise<ChildProcess> {
  const child = spawnEntryPoint('ingest', engine.settings, { BUCKETFLOW_INGEST_PORT: String(ingestPort) });
  await eventually(
    async () =>
      await fetch(`http://127.0.0.1:${ingestPort}/status`).then(
        () => true,
        () => undefined,
      ),
    'the ingest listening',
    60_000,
  );
  return child;
}

async function stopIngest(): Promise<void> {
  const child = ingest!;
  ingest = undefined;
  child.kill('SIGTERM');
  if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
}

before(async () => {
  receiver = await Receiver.start();
  redis = new Redis({ host: redisHost, port: Number(redisPort) });
  const rules = ['1', '2'].map((id, i) => ({
    id,
    arn: i === 0 ? 'arn:minio:sqs:us-east-1:1:webhook' : 'arn:minio:sqs:us-east-1:1:redis',
    events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
    prefix: '',
    suffix: '',
  }));
  ingestPort = await freePort();
  minio = await startOwnMinio({
    MINIO_NOTIFY_WEBHOOK_ENABLE_BF: 'on',
    MINIO_NOTIFY_WEBHOOK_ENDPOINT_BF: `http://127.0.0.1:${ingestPort}/`,
  });
  engine = await startEngine({
    notify: {
      webhook: { '1': { enable: true, endpoint: receiver.url } },
      redis: { '1': { enable: true, address: endpoints.redis, key: redisKey, format: 'namespace' } },
    },
    rules: { [bucket]: rules },
    env: { AWS_ACCESS_KEY_ID: minio.server.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.server.secretAccessKey },
  });
  cli = cliFor(engine.settings);
  ingest = await startIngest();
  admin = stackS3Client(minio.server);
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  await admin.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: [
          { QueueArn: 'arn:minio:sqs::BF:webhook', Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] },
        ],
      },
    }),
  );
});

after(async () => {
  if (ingest) await stopIngest();
  await engine.plainClient.temporal.schedule
    .getHandle(scheduleIdFor(scanId, engine.settings.taskQueue))
    .delete()
    .catch(() => {});
  admin.destroy();
  await engine.stop();
  await minio.stop();
  await redis.del(redisKey);
  redis.disconnect();
  await receiver.close();
});

interface Arrival {
  key: string;
  record: S3EventRecord;
}
const arrivals = (): Arrival[] =>
  receiver.requests.map((request) => {
    const envelope = JSON.parse(request.body) as EventEnvelope;
    return { key: envelope.Key.slice(bucket.length + 1), record: envelope.Records[0] };
  });
const arrivalsOf = (keys: string[], event = 's3:ObjectCreated:Put') => {
  const wanted = new Set(keys);
  return arrivals().filter((a) => wanted.has(a.key) && a.record.eventName === event);
};

async function put(keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 25) {
    await Promise.all(
      keys.slice(i, i + 25).map((key) =>
        admin.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: `body of ${key}`,
            ContentType: 'text/plain',
            Metadata: { origin: 'test' },
          }),
        ),
      ),
    );
  }
}

async function runReconciliation(after: string) {
  const triggered = await cli('scan', 'run', bucket);
  assert.equal(triggered.code, 0, triggered.err);
  return eventually(
    async () => {
      const run = (await engine.deps.state.scans().lastRuns())[scanId];
      return run && run.finishedAt > after ? run : undefined;
    },
    'a reconciliation run',
    120_000,
  );
}

test(
  'reconciliation delivers what MinIO dropped while the ingest was down, and nothing notifications delivered',
  { timeout: 600_000 },
  async () => {
    const added = await cli(
      'scan',
      'add',
      bucket,
      '--every',
      '1h',
      '--endpoint',
      minio.server.endpoint,
      '--reconcile',
      '--settle',
      '2s',
      '--metadata',
    );
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, /^Reconciliation of .* every 1h added/);
    const first = await eventually(
      async () => (await engine.deps.state.scans().lastRuns())[scanId],
      'the first run',
      60_000,
    );
    assert.equal(first.listed, 0);
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // the workers learn the bucket is reconciled (every 2 s)

    // Notified while the ingest is up: delivered once, and the next reconciliation leaves them alone.
    const before = keysOf('before', BEFORE);
    await put(before);
    await eventually(
      async () => (arrivalsOf(before).length >= BEFORE ? true : undefined),
      'the notified objects',
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // past the settle time and the delivered states' write
    const quiet = await runReconciliation(first.finishedAt);
    assert.deepEqual(
      [quiet.listed, quiet.created, quiet.changed, quiet.removed, quiet.published],
      [BEFORE, 0, 0, 0, 0],
    );

    // The outage: 1,000 uploads and 10 deletions MinIO cannot notify (no queue_dir: it drops them).
    await stopIngest();
    const outageStarted = Date.now();
    const missed = keysOf('missed', MISSED);
    await put(missed);
    const deleted = before.slice(0, DELETED);
    for (const key of deleted) await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const uploadMs = Date.now() - outageStarted;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - uploadMs)));
    ingest = await startIngest();
    const afterKeys = keysOf('after', AFTER);
    await put(afterKeys);
    await eventually(
      async () => (arrivalsOf(afterKeys).length >= AFTER ? true : undefined),
      'the objects notified after the outage',
      60_000,
    );
    assert.equal(
      arrivalsOf(missed).length,
      0,
      'MinIO sent none of the events of the outage, not even once the ingest was back',
    );
    assert.equal(arrivalsOf(deleted, 's3:ObjectRemoved:Delete').length, 0);
    assert.match(
      readFileSync(minio.logFile, 'utf8'),
      /not connected to target server\/service[\s\S]*BF:webhook/,
      'MinIO says it could not send',
    );

    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const run = await runReconciliation(quiet.finishedAt);
    assert.deepEqual(
      [run.listed, run.created, run.changed, run.removed, run.published],
      [BEFORE - DELETED + MISSED + AFTER, MISSED, 0, DELETED, MISSED + DELETED],
    );

    await eventually(
      async () => (new Set(arrivalsOf(missed).map((a) => a.key)).size >= MISSED ? true : undefined),
      'every missed object',
      120_000,
    );
    await eventually(
      async () => (arrivalsOf(deleted, 's3:ObjectRemoved:Delete').length >= DELETED ? true : undefined),
      'every missed deletion',
      60_000,
    );
    const reconciled = arrivalsOf(missed);
    const duplicates = reconciled.length - MISSED;
    assert.ok(duplicates <= MISSED / 100, `at most 1% duplicates at the webhook: ${duplicates}`);
    for (const { record } of [...reconciled, ...arrivalsOf(deleted, 's3:ObjectRemoved:Delete')]) {
      assert.equal(record.userIdentity.principalId, 'bucketflow-reconcile');
      assert.equal(record.responseElements['x-bucketflow-origin'], 'reconcile');
    }
    // Shaped as MinIO shapes its own records: the same fields, the object's the same (with --metadata).
    const own = arrivalsOf(before)[0].record;
    const made = reconciled[0].record;
    assert.deepEqual(Object.keys(made).sort(), Object.keys(own).sort());
    assert.deepEqual(Object.keys(made.s3.object).sort(), Object.keys(own.s3.object).sort());
    assert.deepEqual(made.s3.object.userMetadata, { 'X-Amz-Meta-Origin': 'test', 'content-type': 'text/plain' });
    assert.deepEqual(own.s3.object.userMetadata, made.s3.object.userMetadata);
    assert.equal(made.eventSource, own.eventSource);

    // What notifications delivered is never delivered again.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(arrivalsOf(before).length, BEFORE, 'the objects notified before the outage: once each');
    assert.equal(arrivalsOf(afterKeys).length, AFTER, 'the objects notified after it: once each');

    // The store target holds every object there is, once.
    const stored = await redis.hkeys(redisKey);
    assert.equal(stored.length, BEFORE - DELETED + MISSED + AFTER);
    assert.equal(new Set(stored).size, stored.length);
    for (const key of deleted) assert.ok(!stored.includes(`${bucket}/${key}`), `${key} was removed from the store`);

    // Reported: a metric, and the deliveries by origin.
    const changes = (await registry.getSingleMetricAsString('bucketflow_scan_changes_total')).split('\n');
    assert.ok(
      changes.includes(`bucketflow_scan_changes_total{scan="${scanId}",mode="reconcile",change="created"} ${MISSED}`),
      changes.join('\n'),
    );
    const listed = await cli(
      'deliveries',
      'list',
      '--origin',
      'reconcile',
      '--bucket',
      bucket,
      '--limit',
      '5000',
      '--json',
    );
    assert.equal(listed.code, 0, listed.err);
    const rows = JSON.parse(listed.out) as Array<{ key: string; event: string }>;
    assert.equal(new Set(rows.filter((r) => r.event === 's3:ObjectCreated:Put').map((r) => r.key)).size, MISSED);
    assert.equal(rows.filter((r) => r.event === 's3:ObjectRemoved:Delete').length, DELETED);
    const byMinio = await cli(
      'deliveries',
      'list',
      '--origin',
      'minio',
      '--bucket',
      bucket,
      '--limit',
      '5000',
      '--json',
    );
    assert.equal((JSON.parse(byMinio.out) as unknown[]).length, BEFORE + AFTER);
    console.log(
      `outage ${OUTAGE_MS / 1000} s: ${MISSED} uploads in ${uploadMs} ms dropped by MinIO; reconciliation delivered ${run.published} (${duplicates} webhook duplicates)`,
    );
  },
);
