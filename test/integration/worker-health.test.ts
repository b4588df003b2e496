// The worker's health endpoints as an orchestrator sees them, on the real worker process: ready once it
// polls, alive throughout; on SIGTERM not ready at once (while the delivery in flight drains), still alive,
// and gone once drained and exited 0.
import assert from 'node:assert/strict';
import { buildEvent } from '../../src/events';
import { oneWebhook, spawnWorker, startEngine, uniqueBucket } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { freePort } from '../helpers/target-config';
import { needs } from '../helpers/needs';

const { after, test } = needs('temporal');

const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function probe(url: string): Promise<{ status: number; state?: string } | 'down'> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { state?: string };
    return { status: response.status, state: body.state };
  } catch {
    return 'down';
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('liveness and readiness through start, drain and exit', { timeout: 120_000 }, async () => {
  const slowMs = 3_000;
  const receiver = await Receiver.start([], 200, { delayMs: slowMs });
  cleanups.push(() => receiver.close());
  const bucket = uniqueBucket('health');
  const engine = await startEngine({
    ...oneWebhook(receiver.url, bucket),
    workers: 0,
  });
  cleanups.push(() => engine.stop());
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawnWorker(engine.settings, { BUCKETFLOW_HEALTH_PORT: String(port) });
  cleanups.push(() => void child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ready = await until('ready', async () => {
    const answer = await probe(`${base}/readyz`);
    return answer !== 'down' && answer.status === 200 ? answer : undefined;
  });
  assert.deepEqual(ready, { status: 200, state: 'RUNNING' });
  assert.deepEqual(await probe(`${base}/livez`), { status: 200, state: 'RUNNING' });
  assert.equal((await fetch(`${base}/metrics`)).status, 404);

  const [published] = await engine.plainClient.publish(
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'slow.bin' }),
  );
  await receiver.waitForRequests(1, 60_000); // the send is in flight on the child worker
  child.kill('SIGTERM');
  const draining = await until(
    'not ready after SIGTERM',
    async () => {
      const answer = await probe(`${base}/readyz`);
      return answer !== 'down' && answer.status === 503 ? answer : undefined;
    },
    2_000,
  );
  assert.notEqual(draining.state, 'RUNNING');
  const alive = await probe(`${base}/livez`);
  assert.ok(alive !== 'down' && alive.status === 200, 'still alive while draining');

  assert.equal(await exited, 0, stderr);
  assert.equal(await probe(`${base}/livez`), 'down');
  await engine.addWorker(); // finishes the workflow's remaining steps; the drained send is not repeated
  const result = await engine.plainClient.temporal.workflow.getHandle(published.workflowId).result();
  assert.equal(result.status, 'delivered');
  assert.equal(receiver.requests.length, 1);
});
