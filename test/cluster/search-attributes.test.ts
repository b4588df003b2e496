// Search-attribute registration on the self-hosted cluster, with either visibility store (npm run test:cluster
// runs it on both): a real worker process started on a fresh namespace adds bucketflow's attributes itself,
// the cluster reports them with their types, a delivery published right after completes, and `deliveries
// list` finds it by those attributes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { endpoints } from '../../scripts/stack/endpoints';
import { runningClusterVisibility } from '../../scripts/stack/services/temporal-cluster';
import { BucketflowClient } from '../../src/client';
import { indexedValueType } from '../../src/temporal/register-search-attributes';
import { SEARCH_ATTRIBUTES } from '../../src/delivery/search-attributes';
import { cliFor, eventually } from '../helpers/cli';
import { requireCluster } from '../helpers/cluster';
import { spawnWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';

const namespace = `bucketflow-sa-${randomUUID().slice(0, 8)}`;
const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const bucket = uniqueBucket('sa');
let connection: Connection;
let receiver: Receiver;
let engine: Engine;

before(async () => {
  await requireCluster(runningClusterVisibility() ?? 'elasticsearch');
  connection = await Connection.connect({ address: endpoints.temporalCluster });
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  receiver = await Receiver.start();
  // The engine only writes the config and rules and gives the settings: no in-process worker, no registration yet.
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } },
    rules: { [bucket]: [{ id: '1', arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
    workers: 0,
  });
});

after(async () => {
  await engine?.stop();
  await receiver?.close();
  await connection?.operatorService.deleteNamespace({ namespace }).catch(() => {});
  await connection?.close();
});

async function customAttributes() {
  return (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
}

test('a worker on a fresh namespace registers the search attributes; a delivery right after completes and is found by them', { timeout: 180_000 }, async () => {
  // A namespace just registered takes a moment to reach every service's namespace cache.
  await eventually(async () => (await connection.workflowService.describeNamespace({ namespace }).then(() => true, () => undefined)), 'the namespace', 60_000);
  assert.deepEqual(Object.keys(await customAttributes()).filter((name) => name.startsWith('Bucketflow')), []);

  const settings = { ...engine.settings, namespace };
  const worker = spawnWorker(settings, { TEMPORAL_NAMESPACE: namespace });
  let stderr = '';
  worker.stderr!.on('data', (d: Buffer) => (stderr += d));
  try {
    await eventually(async () => {
      if (worker.exitCode !== null) throw new Error(`worker exited ${worker.exitCode}: ${stderr}`);
      return stderr.includes('worker started') ? true : undefined;
    }, 'the worker to start', 120_000);
    assert.match(stderr, /search attributes added/);

    const registered = await customAttributes();
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) assert.equal(registered[name], indexedValueType(type), name);

    // Published at once through a connection of its own, as `npm run ingest` would.
    const publisher = await BucketflowClient.connect(settings);
    try {
      const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key: 'first/after-registration.jpg' });
      const [published] = await publisher.publish(record);
      const result = await publisher.temporal.workflow.getHandle(published.workflowId).result();
      assert.equal(result.status, 'delivered');
      assert.equal(receiver.requests.length, 1);

      const cli = cliFor(settings, { TEMPORAL_NAMESPACE: namespace });
      const rows = await eventually(async () => {
        const { code, out, err } = await cli('deliveries', 'list', '--json', '--bucket', bucket, '--target', arn, '--status', 'delivered');
        assert.equal(code, 0, err);
        const found = JSON.parse(out) as Array<{ workflowId: string }>;
        return found.length === 1 ? found : undefined;
      }, 'the delivery in visibility');
      assert.equal(rows[0].workflowId, published.workflowId);
    } finally {
      await publisher.close();
    }
  } finally {
    worker.kill('SIGTERM');
    while (worker.exitCode === null && worker.signalCode === null) await sleep(100);
  }
});
