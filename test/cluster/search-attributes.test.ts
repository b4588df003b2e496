// Search-attribute registration on the self-hosted cluster, with either visibility store (npm run test:cluster
// runs it on both): a real worker process started on a namespace without bucketflow's attributes (a fresh
// one; on Elasticsearch, where attributes are shared by every namespace, after removing them) adds them itself,
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
import { BucketflowClient } from '../../src/publish/publisher';
import { indexedValueType } from '../../src/temporal/register-search-attributes';
import { SEARCH_ATTRIBUTES } from '../../src/delivery/search-attributes';
import { cliFor, eventually } from '../helpers/cli';
import { requireCluster } from '../helpers/cluster';
import { ONE_WEBHOOK_ARN, oneWebhook, spawnWorker, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';

const namespace = `bucketflow-sa-${randomUUID().slice(0, 8)}`;
const arn = ONE_WEBHOOK_ARN;
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
    ...oneWebhook(receiver.url, bucket),
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

test(
  'a worker on a fresh namespace registers the search attributes; a delivery right after completes and is found by them',
  { timeout: 240_000 },
  async (t) => {
    // A namespace just registered takes a moment to reach every service's namespace cache.
    await eventually(
      async () =>
        await connection.workflowService.describeNamespace({ namespace }).then(
          () => true,
          () => undefined,
        ),
      'the namespace',
      60_000,
    );
    const bucketflowNames = async () =>
      Object.keys(await customAttributes())
        .filter((name) => name.startsWith('Bucketflow'))
        .sort();
    if (runningClusterVisibility() === 'elasticsearch') {
      // On Elasticsearch the attributes belong to the index, so every namespace already sees those the stack
      // registered for `default`: remove them (from the whole cluster) to watch the worker register them again.
      assert.deepEqual(
        await bucketflowNames(),
        Object.keys(SEARCH_ATTRIBUTES).sort(),
        'Elasticsearch: shared by every namespace',
      );
      await connection.operatorService.removeSearchAttributes({
        namespace,
        searchAttributes: Object.keys(SEARCH_ATTRIBUTES),
      });
    }
    // On PostgreSQL each namespace maps its own attributes to the table's columns: a fresh one has none.
    assert.deepEqual(await bucketflowNames(), []);

    const settings = { ...engine.settings, namespace };
    const worker = spawnWorker(settings, { TEMPORAL_NAMESPACE: namespace });
    let stderr = '';
    worker.stderr!.on('data', (d: Buffer) => (stderr += d));
    try {
      await eventually(
        async () => {
          if (worker.exitCode !== null) throw new Error(`worker exited ${worker.exitCode}: ${stderr}`);
          return stderr.includes('worker started') ? true : undefined;
        },
        'the worker to start',
        120_000,
      );
      assert.match(stderr, /search attributes added/);

      const registered = await customAttributes();
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
        assert.equal(registered[name], indexedValueType(type), name);

      // Published at once through a connection of its own, as `npm run ingest` would.
      const publisher = await BucketflowClient.connect(settings);
      try {
        const { record } = deliveryOf({
          eventName: 's3:ObjectCreated:Put',
          bucket,
          key: 'first/after-registration.jpg',
        });
        // Only the frontend that served the registration refreshes its cache at once; the other services' caches
        // refresh within 60 s, and until then a start may be refused naming the attribute (the ingest answers 503,
        // and the storage server sends the event again). Retried as a sender would, and reported.
        const began = Date.now();
        const refusals: string[] = [];
        let published: { workflowId: string } | undefined;
        while (!published) {
          try {
            [published] = await publisher.publish(record);
          } catch (error) {
            const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
            assert.match(cause, /search attribute/i, `a refusal other than a search-attribute cache miss: ${cause}`);
            assert.ok(Date.now() - began < 90_000, `still refused after 90 s: ${cause}`);
            refusals.push(cause);
            await sleep(1_000);
          }
        }
        t.diagnostic(
          `first start accepted ${Date.now() - began} ms after registration, ${refusals.length} refusals${refusals[0] ? ` (${refusals[0]})` : ''}`,
        );
        const result = await publisher.temporal.workflow.getHandle(published.workflowId).result();
        assert.equal(result.status, 'delivered');
        assert.equal(receiver.requests.length, 1);

        const cli = cliFor(settings, { TEMPORAL_NAMESPACE: namespace });
        const rows = await eventually(async () => {
          const { code, out, err } = await cli(
            'deliveries',
            'list',
            '--json',
            '--bucket',
            bucket,
            '--target',
            arn,
            '--status',
            'delivered',
          );
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
  },
);
