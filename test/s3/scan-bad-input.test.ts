// Needs Temporal and the stack's MinIO (`npm run stack -- up minio`). A scan given bad input says so in one line
// naming the bucket and the endpoint, never a credential, in `bucketflow scan list`: a bucket that does not exist
// and refused credentials fail the run at once (retrying cannot help; the schedule's next run tries again); an
// unreachable endpoint is retried with backoff (the attempt and its failure shown while it lasts). A listing that
// fails half-way (the endpoint cut mid-scan, through a TCP proxy, then restored) is retried from its last page:
// every object delivered, none twice.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { endpoints } from '../../scripts/stack/endpoints';
import { s3Server, stackS3Client } from '../../scripts/stack/s3';
import type { EventEnvelope } from '../../src/events/types';
import type { ScanListRow } from '../../src/operator/scans';
import { scanIdFor, scheduleIdFor } from '../../src/state/scans';
import { registry } from '../../src/telemetry/metrics';
import { cliFor, eventually } from '../helpers/cli';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { freePort } from '../helpers/minio';
import { Receiver } from '../helpers/receiver';
import { removeBucket } from '../helpers/s3-buckets';
import { TcpProxy } from '../helpers/tcp-proxy';

const server = s3Server(endpoints.minio);
const ARN = 'arn:minio:sqs:us-east-1:1:webhook';
const buckets = { missing: uniqueBucket('no-such'), real: uniqueBucket('scan-bad'), cut: uniqueBucket('scan-cut') };
const WRONG_SECRET = 'wrong-secret-for-the-test';

let receiver: Receiver;
let good: Engine;
let wrong: Engine;
let admin: S3Client;
let proxy: TcpProxy;

function engineFor(secret: string, settings = {}) {
  const rule = { id: '1', arn: ARN, events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], prefix: '', suffix: '' };
  return startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } },
    rules: Object.fromEntries(Object.values(buckets).map((bucket) => [bucket, [rule]])),
    env: { AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: secret },
    settings,
  });
}

before(async () => {
  receiver = await Receiver.start([], 200, { delayMs: 300 });
  good = await engineFor(server.secretAccessKey, { scanPageSize: 10, maxInFlightDeliveries: 10 });
  wrong = await engineFor(WRONG_SECRET);
  admin = stackS3Client(server);
  for (const bucket of [buckets.real, buckets.cut]) await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  await admin.send(new PutObjectCommand({ Bucket: buckets.real, Key: 'a', Body: 'a' }));
  proxy = await TcpProxy.start({ host: server.host, port: Number(server.port) });
});

after(async () => {
  for (const engine of [good, wrong]) {
    for (const bucket of Object.values(buckets))
      await engine.plainClient.temporal.schedule
        .getHandle(scheduleIdFor(scanIdFor(bucket, ''), engine.settings.taskQueue))
        .delete()
        .catch(() => {});
    for await (const info of engine.plainClient.temporal.workflow.list({
      query: `TaskQueue = '${engine.settings.taskQueue}' AND ExecutionStatus = 'Running'`,
    })) {
      await engine.plainClient.temporal.workflow
        .getHandle(info.workflowId)
        .terminate('test over')
        .catch(() => {});
    }
    await engine.stop();
  }
  for (const bucket of [buckets.real, buckets.cut]) await removeBucket(admin, bucket);
  admin.destroy();
  await proxy.down();
  await receiver.close();
});

/** The scan's row of `scan list --json` once `ready` says it shows what the test waits for. */
async function listedRow(
  engine: Engine,
  bucket: string,
  ready: (row: ScanListRow) => boolean,
  what: string,
): Promise<ScanListRow> {
  const cli = cliFor(engine.settings);
  return eventually(
    async () => {
      const listed = await cli('scan', 'list', '--json');
      assert.equal(listed.code, 0, listed.err);
      const row = (JSON.parse(listed.out) as ScanListRow[]).find((r) => r.bucket === bucket);
      return row && ready(row) ? row : undefined;
    },
    what,
    90_000,
  );
}

function checkOneLine(message: string, bucket: string, endpoint: string): void {
  assert.doesNotMatch(message, /\n/);
  assert.ok(message.includes(`"${bucket}"`) && message.includes(endpoint), message);
  assert.ok(!message.includes(server.secretAccessKey) && !message.includes(WRONG_SECRET), message);
}

test(
  'a bucket that does not exist: the run fails at once, one line naming the bucket and endpoint',
  { timeout: 120_000 },
  async () => {
    const added = await cliFor(good.settings)(
      'scan',
      'add',
      buckets.missing,
      '--every',
      '1h',
      '--endpoint',
      server.endpoint,
    );
    assert.equal(added.code, 0, added.err);
    const started = Date.now();
    const row = await listedRow(good, buckets.missing, (r) => r.lastError !== undefined, 'the failed run');
    assert.equal(row.lastError, `S3 bucket "${buckets.missing}" at ${server.endpoint}: no such bucket`);
    assert.ok(Date.now() - started < 30_000, 'not retried with backoff: retrying cannot help');
    const text = await cliFor(good.settings)('scan', 'list');
    assert.match(
      text.out,
      new RegExp(
        `${buckets.missing}: the latest run failed: S3 bucket "${buckets.missing}" at ${server.endpoint.replace(/\./g, '\\.')}: no such bucket`,
      ),
    );
  },
);

test(
  'refused credentials: the run fails at once, naming the bucket and endpoint, never the secret',
  { timeout: 120_000 },
  async () => {
    const added = await cliFor(wrong.settings)(
      'scan',
      'add',
      buckets.real,
      '--every',
      '1h',
      '--endpoint',
      server.endpoint,
    );
    assert.equal(added.code, 0, added.err);
    const row = await listedRow(wrong, buckets.real, (r) => r.lastError !== undefined, 'the failed run');
    checkOneLine(row.lastError!, buckets.real, server.endpoint);
    assert.match(row.lastError!, /credentials refused \(SignatureDoesNotMatch\)/);
  },
);

test(
  'an unreachable endpoint is retried with backoff, the attempt and its failure shown',
  { timeout: 120_000 },
  async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const cli = cliFor(good.settings);
    const added = await cli('scan', 'add', buckets.real, '--every', '1h', '--endpoint', closed);
    assert.equal(added.code, 0, added.err);
    const row = await listedRow(good, buckets.real, (r) => /^attempt [2-9]/.test(r.retrying ?? ''), 'a second attempt');
    checkOneLine(row.retrying!, buckets.real, closed);
    assert.match(row.retrying!, /endpoint unreachable \(ECONNREFUSED\)/);
    assert.equal((await cli('scan', 'remove', buckets.real)).code, 0);
  },
);

test(
  'a listing that fails half-way is retried from its last page: every object delivered once',
  { timeout: 240_000 },
  async () => {
    const bucket = buckets.cut;
    const scanId = scanIdFor(bucket, '');
    const cli = cliFor(good.settings);
    const added = await cli('scan', 'add', bucket, '--every', '1h', '--endpoint', `http://${proxy.address}`);
    assert.equal(added.code, 0, added.err);
    const baseline = await eventually(
      async () => (await good.deps.state.scans().lastRuns())[scanId],
      'the baseline',
      60_000,
    );
    const keys = Array.from({ length: 150 }, (_, i) => `k/${String(i).padStart(3, '0')}`);
    for (let i = 0; i < keys.length; i += 25)
      await Promise.all(
        keys.slice(i, i + 25).map((Key) => admin.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))),
      );
    const delivered = () =>
      receiver.requests.map((r) => JSON.parse(r.body) as EventEnvelope).filter((e) => e.Key.startsWith(`${bucket}/`));
    assert.equal((await cli('scan', 'run', bucket)).code, 0);
    // Pages of 10 at a 300 ms webhook: cut the endpoint a few pages in, for longer than the SDK's own retries.
    await eventually(async () => (delivered().length >= 30 ? true : undefined), 'a few pages delivered', 60_000);
    await proxy.down();
    const retrying = await listedRow(good, bucket, (r) => r.retrying !== undefined, 'the cut listing retried');
    assert.match(retrying.retrying!, /endpoint unreachable/);
    await proxy.up();
    const run = await eventually(
      async () => {
        const last = (await good.deps.state.scans().lastRuns())[scanId];
        return last && last.finishedAt > baseline.finishedAt ? last : undefined;
      },
      'the run to complete',
      120_000,
    );
    assert.deepEqual([run.listed, run.created], [keys.length, keys.length]);
    await eventually(async () => (delivered().length >= keys.length ? true : undefined), 'every object', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual(
      delivered()
        .map((e) => e.Key)
        .sort(),
      keys.map((key) => `${bucket}/${key}`),
      'every object once',
    );
    // Resumed, not started over: each page was listed once (a run started over lists the pages before the cut again).
    const listedMetric = (await registry.getSingleMetricAsString('bucketflow_scan_objects_listed_total'))
      .split('\n')
      .find((line) => line.startsWith(`bucketflow_scan_objects_listed_total{scan="${scanId}"`));
    assert.equal(listedMetric?.split(' ').pop(), String(keys.length));
  },
);
