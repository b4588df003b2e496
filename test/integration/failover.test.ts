// A worker killed mid-delivery on the durable path (a regular activity; fast path off for this target):
// the attempt stops heartbeating and another worker completes it. fast-path-kill.test.ts covers the fast path.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { buildEvent } from '../../src/events';
import { spawnWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';

const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const bucket = uniqueBucket('failover');
let receiver: Receiver;
let engine: Engine;
let child: ChildProcess | undefined;

before(async () => {
  receiver = await Receiver.start(['hang']);
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url, retry_initial_interval: '100ms', fast_attempts: 0 } } },
    rules: { [bucket]: [{ id: '1', arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
    workers: 0,
  });
});
after(async () => {
  child?.kill('SIGKILL');
  await engine.stop();
  await receiver.close();
});

test('a worker killed mid-delivery: the delivery completes on another worker', { timeout: 120_000 }, async () => {
  child = spawnWorker(engine.settings);
  const [published] = await engine.client.publish(
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'big.iso', size: 1, sequencer: '17F0A1B2C3D4E5F7' }),
  );
  await receiver.waitForRequests(1, 60_000); // the child worker's attempt is now stuck in flight
  child.kill('SIGKILL');
  await new Promise((resolve) => child!.once('exit', resolve));

  await engine.addWorker();
  const result = await engine.client.temporal.workflow.getHandle(published.workflowId).result();
  assert.equal(result.status, 'delivered');
  assert.deepEqual(result.targets, [{ arn, status: 'delivered', attempts: 2 }]);
  assert.equal(receiver.requests.length, 2);
});
