// Needs Temporal and the stack's MinIO (`npm run stack -- up minio`). A scan interrupted by a SIGKILL of its worker
// process resumes: a real worker process (scripts/entry.sh worker) scans 400 new objects in pages of 10, slowed by a
// webhook that answers in 400 ms and an admission bound of 10; once the scan has heartbeated a few pages the worker is
// SIGKILLed mid-run, a second worker process takes over, and the scan's retry goes on from its last heartbeat (it says
// so in its log, with the pages done). Every object arrives (at most the sends in flight at the kill twice), the run's
// totals count each object once, and the next run finds the listing it swapped in complete: nothing more is delivered.
// Then 389 of the 400 are deleted, all but the first page's and the last key: the last page's run of removals is read
// from the previous listing a page at a time, and each removal arrives once.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { defaultPayloadConverter } from '@temporalio/common';
import { endpoints } from '../../scripts/stack/endpoints';
import { s3Server, stackS3Client } from '../../scripts/stack/s3';
import type { ScanCursor } from '../../src/delivery/scan-types';
import type { EventEnvelope } from '../../src/events/types';
import { scanIdFor, scheduleIdFor } from '../../src/state/scans';
import { cliFor, eventually } from '../helpers/cli';
import { spawnStartedWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { removeBucket } from '../helpers/s3-buckets';

const OBJECTS = 400;
const BOUND = 10;
const server = s3Server(endpoints.minio);
const bucket = uniqueBucket('scan-kill');
const scanId = scanIdFor(bucket, '');
const workerEnv = {
  AWS_ACCESS_KEY_ID: server.accessKeyId,
  AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
  AWS_REGION: 'us-east-1',
  BUCKETFLOW_SCAN_PAGE_SIZE: '10',
  BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES: String(BOUND),
};

let receiver: Receiver;
let engine: Engine;
let admin: S3Client;
let cli: ReturnType<typeof cliFor>;
const workers: ChildProcess[] = [];

before(async () => {
  receiver = await Receiver.start([], 200, { delayMs: 400 });
  // This process only reads the state and runs the CLI: the scans run in the worker processes.
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } },
    rules: {
      [bucket]: [
        {
          id: '1',
          arn: 'arn:minio:sqs:us-east-1:1:webhook',
          events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
          prefix: '',
          suffix: '',
        },
      ],
    },
    workers: 0,
  });
  cli = cliFor(engine.settings);
  admin = stackS3Client(server);
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
});

after(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  await engine.plainClient.temporal.schedule
    .getHandle(scheduleIdFor(scanId, engine.settings.taskQueue))
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
  await removeBucket(admin, bucket);
  admin.destroy();
  await engine.stop();
  await receiver.close();
});

async function lastRunAfter(finishedAfter: string, timeoutMs = 60_000) {
  return eventually(
    async () => {
      const run = (await engine.deps.state.scans().lastRuns())[scanId];
      return run && run.finishedAt > finishedAfter ? run : undefined;
    },
    'a completed scan run',
    timeoutMs,
  );
}

/** The running scan's workflow id and its activity's last heartbeat (undefined until one reached the server). */
async function runningScan(): Promise<{ workflowId: string; heartbeat?: ScanCursor; attempt: number } | undefined> {
  const schedule = await engine.plainClient.temporal.schedule
    .getHandle(scheduleIdFor(scanId, engine.settings.taskQueue))
    .describe();
  const workflowId = schedule.info.runningActions[0]?.workflow.workflowId;
  if (!workflowId) return undefined;
  const { raw } = await engine.plainClient.temporal.workflow.getHandle(workflowId).describe();
  const activity = raw.pendingActivities?.[0];
  const payload = activity?.heartbeatDetails?.payloads?.[0];
  return {
    workflowId,
    heartbeat: payload ? defaultPayloadConverter.fromPayload<ScanCursor>(payload) : undefined,
    attempt: activity?.attempt ?? 0,
  };
}

test(
  'a scan whose worker is SIGKILLed mid-run resumes from its last heartbeat on another worker, losing and repeating nothing',
  { timeout: 300_000 },
  async () => {
    const first = await spawnStartedWorker(engine.settings, workerEnv);
    workers.push(first);
    const added = await cli('scan', 'add', bucket, '--every', '1h', '--endpoint', server.endpoint);
    assert.equal(added.code, 0, added.err);
    const baseline = await lastRunAfter('');
    assert.equal(baseline.baseline, true);

    const keys = Array.from({ length: OBJECTS }, (_, i) => `obj/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 20) {
      await Promise.all(
        keys.slice(i, i + 20).map((key) => admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }))),
      );
    }
    const triggered = await cli('scan', 'run', bucket);
    assert.equal(triggered.code, 0, triggered.err);

    // Killed once the server holds a heartbeat past the first page (the SDK sends one at most every 12 s).
    const before = await eventually(
      async () => {
        const scan = await runningScan();
        return scan?.heartbeat && scan.heartbeat.totals.pages >= 3 ? scan : undefined;
      },
      'a heartbeat of several pages',
      90_000,
    );
    const deliveredBeforeKill = receiver.requests.length;
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    assert.ok(
      deliveredBeforeKill < OBJECTS,
      `the scan was mid-run at the kill (${deliveredBeforeKill} of ${OBJECTS} delivered)`,
    );

    const second = await spawnStartedWorker(engine.settings, workerEnv);
    workers.push(second);
    let log = '';
    second.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const run = await lastRunAfter(baseline.finishedAt, 180_000);

    const resumed = log.split('\n').find((line) => line.includes('scan resumes where its last attempt heartbeated'));
    assert.ok(resumed, `the retry resumed from its heartbeat (worker log:\n${log.slice(-3000)})`);
    const resumedAt = JSON.parse(resumed) as { pages: number; lastKey: string; attempt: number };
    assert.ok(resumedAt.attempt >= 2 && resumedAt.pages >= before.heartbeat!.totals.pages, JSON.stringify(resumedAt));
    assert.equal(run.workflowId, before.workflowId, 'the same run completed');
    assert.deepEqual(
      [run.listed, run.created, run.changed, run.removed],
      [OBJECTS, OBJECTS, 0, 0],
      "the run's totals count each object once",
    );

    await eventually(
      async () =>
        new Set(receiver.requests.map((r) => (JSON.parse(r.body) as EventEnvelope).Key)).size >= OBJECTS
          ? true
          : undefined,
      'every object delivered',
      60_000,
    );
    const keysDelivered = receiver.requests.map((r) => (JSON.parse(r.body) as EventEnvelope).Key);
    assert.deepEqual(
      [...new Set(keysDelivered)].sort(),
      keys.map((key) => `${bucket}/${key}`),
      'every object, nothing else',
    );
    const duplicates = keysDelivered.length - OBJECTS;
    console.log(
      `resumed at page ${resumedAt.pages} (heartbeat seen before the kill: page ${before.heartbeat!.totals.pages}); ${duplicates} duplicates of ${OBJECTS}`,
    );
    assert.ok(duplicates <= BOUND, `at most the sends in flight at the kill are sent twice: ${duplicates}`);

    // The listing swapped in is whole: the next run finds nothing.
    const count = receiver.requests.length;
    assert.equal((await cli('scan', 'run', bucket)).code, 0);
    const next = await lastRunAfter(run.finishedAt);
    assert.deepEqual([next.listed, next.created, next.changed, next.removed, next.published], [OBJECTS, 0, 0, 0, 0]);
    assert.equal(receiver.requests.length, count);

    const removed = keys.slice(10, -1);
    for (let i = 0; i < removed.length; i += 1000) {
      await admin.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: removed.slice(i, i + 1000).map((Key) => ({ Key })) },
        }),
      );
    }
    assert.equal((await cli('scan', 'run', bucket)).code, 0);
    const emptied = await lastRunAfter(next.finishedAt, 120_000);
    assert.deepEqual([emptied.listed, emptied.created, emptied.changed, emptied.removed], [11, 0, 0, removed.length]);
    const removals = () =>
      receiver.requests
        .map((r) => JSON.parse(r.body) as EventEnvelope)
        .filter((e) => e.EventName === 's3:ObjectRemoved:Delete');
    await eventually(async () => (removals().length >= removed.length ? true : undefined), 'every removal', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual(
      removals()
        .map((e) => e.Key)
        .sort(),
      removed.map((key) => `${bucket}/${key}`),
      'each removal once',
    );
  },
);
