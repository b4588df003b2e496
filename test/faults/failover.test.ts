// A worker process that goes away mid-delivery, as the real `src/worker/main.ts`: killed on the durable path (a
// regular activity; fast path off for the target), its attempt stops heartbeating and another worker
// completes it (fast-path-kill.test.ts covers the fast path); asked to stop (SIGTERM), it lets the
// attempt in flight finish and exits 0, so no second attempt is needed.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { buildEvent } from '../../src/events';
import type { DeliveryResult } from '../../src/delivery/types';
import { spawnWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';

const { after, test } = needs('temporal');

const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** An engine (no in-process worker yet) delivering to `receiver`, a spawned worker, and one event in flight. */
async function setUp(receiver: Receiver, target: Record<string, unknown> = {}) {
  const bucket = uniqueBucket('failover');
  cleanups.push(() => receiver.close());
  const engine: Engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url, retry_initial_interval: '100ms', ...target } } },
    rules: { [bucket]: [{ id: '1', arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
    workers: 0,
  });
  cleanups.push(() => engine.stop());
  const child: ChildProcess = spawnWorker(engine.settings);
  cleanups.push(() => void child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const [published] = await engine.client.publish(
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'big.iso', size: 1, sequencer: '17F0A1B2C3D4E5F7' }),
  );
  await receiver.waitForRequests(1, 60_000); // the child worker's attempt is now in flight
  const result = async () => {
    await engine.addWorker();
    return engine.client.temporal.workflow.getHandle(published.workflowId).result();
  };
  return { child, exited, stderr: () => stderr, result };
}

test('a worker killed mid-delivery: the delivery completes on another worker', { timeout: 120_000 }, async () => {
  const receiver = await Receiver.start(['hang']);
  const { child, exited, result } = await setUp(receiver, { fast_attempts: 0 });
  child.kill('SIGKILL');
  await exited;

  const { status, targets } = await result();
  assert.equal(status, 'delivered');
  assert.deepEqual(targets, [{ arn, status: 'delivered', attempts: 2 }]);
  assert.equal(receiver.requests.length, 2);
});

for (const [path, target] of [
  ['durable path', { fast_attempts: 0 }],
  ['fast path', {}],
] as const) {
  test(
    `SIGTERM drains the delivery in flight (${path}): it completes on the same attempt and the worker exits 0`,
    { timeout: 120_000 },
    async () => {
      const slowMs = 3_000;
      const receiver = await Receiver.start([], 200, { delayMs: slowMs });
      const { child, exited, stderr, result } = await setUp(receiver, target);
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr());
      assert.ok(Date.now() - signalledAt >= slowMs - 500, 'the worker waited for the send instead of exiting at once');

      // The drained attempt completed; a fresh worker only has the workflow's remaining steps to run.
      const { status, targets }: DeliveryResult = await result();
      assert.equal(status, 'delivered');
      assert.deepEqual(
        targets.map((t) => [t.arn, t.status, t.attempts]),
        [[arn, 'delivered', 1]],
      );
      assert.equal(receiver.requests.length, 1);
    },
  );
}
