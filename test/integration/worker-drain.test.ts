// SIGTERM while a delivery is in flight (the real worker process, a slow receiver): the worker stops
// taking work, lets the attempt finish, and exits 0; the delivery needs no second attempt.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { buildEvent } from '../../src/events';
import { spawnWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';

const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const bucket = uniqueBucket('drain');
const SLOW_MS = 3_000;
let receiver: Receiver;
let engine: Engine;
let child: ChildProcess | undefined;

before(async () => {
  receiver = await Receiver.start([], 200, { delayMs: SLOW_MS });
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url, retry_initial_interval: '100ms' } } },
    rules: { [bucket]: [{ id: '1', arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
    workers: 0,
  });
});
after(async () => {
  child?.kill('SIGKILL');
  await engine.stop();
  await receiver.close();
});

test('SIGTERM drains the delivery in flight: it completes on the same attempt and the worker exits 0', { timeout: 120_000 }, async () => {
  child = spawnWorker(engine.settings);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

  const [published] = await engine.client.publish(
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'slow.bin', size: 1, sequencer: '17F0A1B2C3D4E5F9' }),
  );
  await receiver.waitForRequests(1, 60_000); // the attempt is in flight: the receiver answers in SLOW_MS
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 0, stderr);
  assert.ok(Date.now() - signalledAt >= SLOW_MS - 500, 'the worker waited for the send instead of exiting at once');

  // The drained attempt completed the activity; a fresh worker only has the workflow's last step to run.
  await engine.addWorker();
  const result = await engine.client.temporal.workflow.getHandle(published.workflowId).result();
  assert.equal(result.status, 'delivered');
  assert.deepEqual(result.targets, [{ arn, status: 'delivered', attempts: 1 }]);
  assert.equal(receiver.requests.length, 1);
});
