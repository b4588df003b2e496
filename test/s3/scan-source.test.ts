// Needs Temporal and the stack's S3 servers minio, seaweedfs, versitygw and s3proxy (`npm run stack -- up s3`;
// `npm run test:s3` brings them up), none of them sending notifications: the scan source is how their
// changes reach targets. On each server, through the real CLI (`bucketflow scan add|list|remove`) and a real engine
// delivering to a real webhook receiver, with a 2 s interval: an object created, overwritten, then deleted arrives
// as s3:ObjectCreated:Put, Put, s3:ObjectRemoved:Delete shaped as MinIO shapes them (origin scan, the HEAD's content
// type and metadata with --metadata) within one interval of the change plus the run; an object there before the scan
// was added is its baseline, never delivered; an unchanged bucket's runs deliver nothing; `scan remove` deletes the
// schedule and the scan's state.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ScheduleNotFoundError } from '@temporalio/client';
import { endpoints } from '../../scripts/stack/endpoints';
import { s3Server, stackS3Client } from '../../scripts/stack/s3';
import type { EventEnvelope } from '../../src/events/types';
import { scanIdFor, scheduleIdFor } from '../../src/state/scans';
import { cliFor, eventually } from '../helpers/cli';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { removeBucket } from '../helpers/s3-buckets';

const TIMEOUT = { timeout: 180_000 };
const EVERY_MS = 2_000;
/** A change is listed by the next run (at most one interval away), which lists, publishes and delivers it: a few
 * seconds more on a loaded machine. */
const ARRIVAL_BOUND_MS = EVERY_MS + 8_000;
const SERVERS = [
  { name: 'minio', server: s3Server(endpoints.minio) },
  { name: 'seaweedfs', server: s3Server(endpoints.seaweedfs) },
  { name: 'versitygw', server: s3Server(endpoints.versitygw) },
  { name: 's3proxy', server: s3Server(endpoints.s3proxy) },
];
const ARN = 'arn:minio:sqs:us-east-1:1:webhook';
const buckets = Object.fromEntries(SERVERS.map(({ name }) => [name, uniqueBucket(`scan-${name}`)]));
const md5 = (body: string) => createHash('md5').update(body).digest('hex');

let receiver: Receiver;
let engine: Engine;
let cli: ReturnType<typeof cliFor>;

before(async () => {
  const credentials = new Set(SERVERS.map(({ server }) => `${server.accessKeyId}:${server.secretAccessKey}`));
  assert.equal(credentials.size, 1, "the stack's S3 servers share one key (a worker has one set of AWS credentials)");
  receiver = await Receiver.start();
  const rule = { id: '1', arn: ARN, events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], prefix: '', suffix: '' };
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } },
    rules: Object.fromEntries(Object.values(buckets).map((bucket) => [bucket, [rule]])),
    env: {
      AWS_ACCESS_KEY_ID: SERVERS[0].server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: SERVERS[0].server.secretAccessKey,
      AWS_REGION: 'us-east-1',
    },
  });
  cli = cliFor(engine.settings);
});

after(async () => {
  for (const bucket of Object.values(buckets))
    await engine.plainClient.temporal.schedule
      .getHandle(scheduleIdFor(scanIdFor(bucket, ''), engine.settings.taskQueue))
      .delete()
      .catch(() => {});
  await engine.stop();
  await receiver.close();
});

/** The envelopes the webhook received for one object, in arrival order. */
function received(bucket: string, key: string): Array<EventEnvelope & { receivedAt: number }> {
  return receiver.requests
    .map((request) => ({ ...(JSON.parse(request.body) as EventEnvelope), receivedAt: request.receivedAt }))
    .filter((envelope) => envelope.Key === `${bucket}/${key}`);
}

/** Resolves with the end time of a run that finished after `finishedAfter` (each run writes its summary at the end). */
async function runsAfter(scanId: string, finishedAfter: string): Promise<string> {
  return eventually(
    async () => {
      const run = (await engine.deps.state.scans().lastRuns())[scanId];
      return run && run.finishedAt > finishedAfter ? run.finishedAt : undefined;
    },
    `a run of ${scanId} finishing after ${finishedAfter}`,
    60_000,
  );
}

for (const { name, server } of SERVERS) {
  describe(`scan source on ${name}`, () => {
    const bucket = buckets[name];
    const scanId = scanIdFor(bucket, '');
    let admin: S3Client;

    before(async () => {
      admin = stackS3Client(server);
      await admin.send(new CreateBucketCommand({ Bucket: bucket }));
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'there-before.txt', Body: 'baseline' }));
    });
    after(async () => {
      await removeBucket(admin, bucket);
      admin.destroy();
    });

    test(
      "create, overwrite and delete arrive as MinIO's events within one interval; the baseline never does",
      TIMEOUT,
      async () => {
        const added = await cli('scan', 'add', bucket, '--every', '2s', '--endpoint', server.endpoint, '--metadata');
        assert.equal(added.code, 0, added.err);
        assert.match(
          added.out,
          new RegExp(
            `Scan of ${bucket} every 2s added \\(schedule ${scheduleIdFor(scanId, engine.settings.taskQueue)}\\)`,
          ),
        );
        // The first run (at once) lists the baseline.
        await runsAfter(scanId, '');
        const first = (await engine.deps.state.scans().lastRuns())[scanId];
        assert.equal(first.baseline, true);
        assert.equal(first.published, 0);

        const key = 'dir/a b+ü.txt';
        const latencies: number[] = [];
        const step = async (change: () => Promise<unknown>, count: number) => {
          const changedAt = Date.now();
          await change();
          await eventually(
            async () => (received(bucket, key).length >= count ? true : undefined),
            `event ${count} of ${key}`,
            ARRIVAL_BOUND_MS + 10_000,
          );
          const arrived = received(bucket, key)[count - 1];
          latencies.push(arrived.receivedAt - changedAt);
          return arrived;
        };

        const created = await step(
          () =>
            admin.send(
              new PutObjectCommand({
                Bucket: bucket,
                Key: key,
                Body: 'one',
                ContentType: 'text/plain',
                Metadata: { color: 'blue' },
              }),
            ),
          1,
        );
        const record = created.Records[0];
        assert.equal(created.EventName, 's3:ObjectCreated:Put');
        assert.equal(record.eventSource, 'minio:s3');
        assert.equal(record.eventName, 's3:ObjectCreated:Put');
        assert.equal(record.userIdentity.principalId, 'bucketflow-scan');
        assert.equal(record.responseElements['x-bucketflow-origin'], 'scan');
        assert.equal(record.s3.bucket.name, bucket);
        assert.equal(record.s3.object.key, 'dir%2Fa+b%2B%C3%BC.txt', 'query-escaped as MinIO escapes keys');
        assert.equal(record.s3.object.size, 3);
        assert.equal(record.s3.object.eTag, md5('one'));
        assert.equal(record.s3.object.contentType, 'text/plain');
        assert.equal(record.s3.object.userMetadata?.['X-Amz-Meta-Color'], 'blue');
        assert.match(record.s3.object.sequencer, /^[0-9A-F]+$/);

        const overwritten = await step(
          () => admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'two!!' })),
          2,
        );
        assert.equal(overwritten.EventName, 's3:ObjectCreated:Put');
        assert.equal(overwritten.Records[0].s3.object.eTag, md5('two!!'));
        assert.equal(overwritten.Records[0].s3.object.size, 5);

        const deleted = await step(() => admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })), 3);
        assert.equal(deleted.EventName, 's3:ObjectRemoved:Delete');
        assert.equal(deleted.Records[0].s3.object.eTag, undefined);
        assert.ok(
          BigInt(`0x${deleted.Records[0].s3.object.sequencer}`) >
            BigInt(`0x${overwritten.Records[0].s3.object.sequencer}`),
          'the removal orders after the state it removes',
        );

        for (const latency of latencies)
          assert.ok(
            latency <= ARRIVAL_BOUND_MS,
            `${name}: an event arrived ${latency} ms after its change (bound ${ARRIVAL_BOUND_MS} ms)`,
          );
        console.log(
          `${name}: change -> delivery ${latencies.map((ms) => `${ms} ms`).join(', ')} (every ${EVERY_MS} ms)`,
        );
        assert.equal(received(bucket, key).length, 3, 'each change once');
        assert.equal(received(bucket, 'there-before.txt').length, 0, 'the baseline is not delivered');
      },
    );

    test("an unchanged bucket's runs deliver nothing", TIMEOUT, async () => {
      const before = receiver.requests.length;
      const now = new Date().toISOString();
      const later = await runsAfter(scanId, now);
      await runsAfter(scanId, later);
      const last = (await engine.deps.state.scans().lastRuns())[scanId];
      assert.deepEqual([last.created, last.changed, last.removed, last.published], [0, 0, 0, 0]);
      assert.equal(last.listed, 1, 'the baseline object is listed');
      assert.equal(receiver.requests.length, before);
    });

    test('scan list shows it; scan remove deletes its schedule and its state', TIMEOUT, async () => {
      const listed = await cli('scan', 'list', '--json');
      assert.equal(listed.code, 0, listed.err);
      const row = (
        JSON.parse(listed.out) as Array<{
          id: string;
          schedule: string;
          every: string;
          endpoint: string;
          lastRun?: { listed: number };
        }>
      ).find((r) => r.id === scanId);
      assert.ok(row, listed.out);
      assert.deepEqual(
        [row.schedule, row.every, row.endpoint, row.lastRun?.listed],
        ['active', '2s', server.endpoint, 1],
      );

      const removed = await cli('scan', 'remove', bucket);
      assert.equal(removed.code, 0, removed.err);
      await assert.rejects(
        engine.plainClient.temporal.schedule.getHandle(scheduleIdFor(scanId, engine.settings.taskQueue)).describe(),
        ScheduleNotFoundError,
      );
      assert.equal(await engine.deps.state.scans().get(scanId), undefined);
      assert.ok(
        !existsSync(path.join(engine.settings.dataDir, 'scans', encodeURIComponent(scanId))),
        'its listing is gone',
      );
      const again = await cli('scan', 'remove', bucket);
      assert.equal(again.code, 2);
      assert.match(again.err, new RegExp(`^bucketflow: scan remove: no scan of bucket ${bucket}`));
    });
  });
}
