// A delivery's workflow task taken over by another worker does not send again what the first worker sent
// (the workers' shared sent log, src/state/sent-log.ts). Worker A, which reaches Temporal through a loopback proxy,
// sends an
// event's fast attempt to a slow webhook; the moment the request arrives the proxy is cut, so the webhook's
// 200 reaches A but A's task completion never reaches Temporal; A is then SIGKILLed, as an orchestrator
// would. Worker B (same rules store, same task queue) runs the task again once its timeout passed: the
// delivery completes, and the webhook has the event once.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BucketflowClient } from '../../src/publish/publisher';
import { FileStateStore } from '../../src/state';
import { loadSettings } from '../../src/settings';
import { endpoints } from '../../scripts/stack/endpoints';
import { eventually } from '../helpers/cli';
import { spawnStartedWorker, uniqueBucket } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { TcpProxy } from '../helpers/tcp-proxy';
import { needs } from '../helpers/needs';

const { after, test } = needs('temporal');

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

function stop(worker: ChildProcess, signal: NodeJS.Signals): Promise<unknown> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill(signal);
  return exited;
}

test('a task re-run on another worker after a SIGKILL does not send again what the killed worker sent', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-takeover-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const [host, port] = endpoints.temporal.split(':');
  const proxy = await TcpProxy.start({ host, port: Number(port) });
  cleanup.push(() => proxy.down());
  // The first request cuts worker A off from Temporal; its answer (200) comes a second later.
  const receiver = await Receiver.start([], 200, {
    delayMs: 1_000,
    answer: () => {
      void proxy.down();
      return undefined;
    },
  });
  cleanup.push(() => receiver.close());
  const configFile = path.join(dir, 'config.json');
  await writeFile(
    configFile,
    JSON.stringify({ notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } } }),
  );
  const bucket = uniqueBucket('takeover');
  const store = new FileStateStore(dir);
  await store.put(bucket, [
    { id: '1', arn: 'arn:minio:sqs:us-east-1:1:webhook', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
  ]);
  await store.close();
  const settings = { ...loadSettings({}), configFile, dataDir: dir, taskQueue: `takeover-${randomUUID()}` };

  const workerA = await spawnStartedWorker({ ...settings, temporalAddress: proxy.address });
  cleanup.push(() => stop(workerA, 'SIGKILL'));
  const client = await BucketflowClient.connect({ temporalAddress: endpoints.temporal, taskQueue: settings.taskQueue });
  cleanup.push(() => client.close());
  const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key: 'photo.jpg' });
  const [published] = await client.publish({ Records: [record] });

  await eventually(async () => (receiver.requests.length > 0 ? true : undefined), 'the fast attempt at the webhook');
  await new Promise((resolve) => setTimeout(resolve, 2_500)); // the 200 reached worker A; its completion could not
  await stop(workerA, 'SIGKILL');

  const workerB = await spawnStartedWorker({ ...settings, temporalAddress: endpoints.temporal });
  cleanup.push(() => stop(workerB, 'SIGTERM'));
  const result = await client.temporal.workflow.getHandle(published.workflowId).result();
  assert.equal(result.status, 'delivered');
  assert.equal(receiver.requests.length, 1, 'the webhook had the event once');
});
