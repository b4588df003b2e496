// The cluster with SQL visibility in PostgreSQL (npm run test:cluster's second phase): how many custom search
// attributes of each type a namespace may have there, measured by registering them one by one until the
// server refuses (the table has a fixed set of columns per type), what is left beside bucketflow's, and every
// `deliveries list` filter answering through the real CLI.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { endpoints } from '../../scripts/stack/endpoints';
import { indexedValueType } from '../../src/temporal/register-search-attributes';
import { SEARCH_ATTRIBUTES } from '../../src/delivery/search-attributes';
import { cliFor, eventually } from '../helpers/cli';
import { requireCluster } from '../helpers/cluster';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';

const TYPES = ['Keyword', 'KeywordList', 'Text', 'Int', 'Double', 'Bool', 'Datetime'];
const TRY_UP_TO = 30; // per type: well past what the table holds
const namespaces: string[] = [];
let connection: Connection;

before(async () => {
  await requireCluster('postgres');
  connection = await Connection.connect({ address: endpoints.temporalCluster });
});
after(async () => {
  for (const namespace of namespaces) await connection.operatorService.deleteNamespace({ namespace }).catch(() => {});
  await connection.close();
});

async function freshNamespace(): Promise<string> {
  const namespace = `bucketflow-sql-${randomUUID().slice(0, 8)}`;
  namespaces.push(namespace);
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  return namespace;
}

/** Registers attributes of `type` one at a time until refused: how many fit, and the refusal. */
async function fill(namespace: string, type: string, prefix: string): Promise<{ accepted: number; refusal: string }> {
  for (let i = 1; i <= TRY_UP_TO; i++) {
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: { [`${prefix}${type}${i}`]: indexedValueType(type) },
      });
    } catch (error) {
      return { accepted: i - 1, refusal: (error as Error).message };
    }
  }
  return { accepted: TRY_UP_TO, refusal: '' };
}

test(
  'custom search attributes per namespace on PostgreSQL visibility: measured per type, and what bucketflow leaves',
  { timeout: 180_000 },
  async (t) => {
    const empty = await freshNamespace();
    const limits: Record<string, number> = {};
    for (const type of TYPES) {
      const { accepted, refusal } = await fill(empty, type, 'Probe');
      limits[type] = accepted;
      assert.ok(accepted < TRY_UP_TO, `${type}: no limit met within ${TRY_UP_TO}`);
      assert.match(refusal, /limit|exceed|too many|cannot/i, `${type}: the refusal says why: ${refusal}`);
      t.diagnostic(`${type}: ${accepted} per namespace; the ${accepted + 1}th refused: ${refusal}`);
    }
    console.log(`sql visibility: custom search attributes per namespace: ${JSON.stringify(limits)}`);

    // bucketflow's attributes fit, and what a namespace has left for its own.
    const withBucketflow = await freshNamespace();
    await connection.operatorService.addSearchAttributes({
      namespace: withBucketflow,
      searchAttributes: Object.fromEntries(
        Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => [name, indexedValueType(type)]),
      ),
    });
    const used = (type: string) => Object.values(SEARCH_ATTRIBUTES).filter((needed) => needed === type).length;
    for (const type of ['Keyword', 'KeywordList']) {
      const { accepted } = await fill(withBucketflow, type, 'Own');
      assert.equal(accepted, limits[type] - used(type), `${type}: ${limits[type]} minus bucketflow's ${used(type)}`);
      t.diagnostic(`${type}: bucketflow uses ${used(type)}, ${accepted} left for the namespace's own`);
    }
  },
);

test('every `deliveries list` filter answers on PostgreSQL visibility', { timeout: 180_000 }, async () => {
  const ok = await Receiver.start();
  const failing = await Receiver.start([], 400);
  const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;
  const bucket = uniqueBucket('sqlvis');
  const events = ['s3:ObjectCreated:*'];
  const engine: Engine = await startEngine({
    notify: {
      webhook: {
        ok: { enable: true, endpoint: ok.url },
        bad: { enable: true, endpoint: failing.url, fast_attempts: 1 },
      },
    },
    rules: {
      [bucket]: [
        { id: '1', arn: arn('ok'), events, prefix: '', suffix: '' },
        { id: '2', arn: arn('bad'), events, prefix: 'logs/', suffix: '' },
      ],
    },
  });
  try {
    const publish = async (key: string) => {
      const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key });
      const [published] = await engine.client.publish(record);
      await engine.plainClient.temporal.workflow
        .getHandle(published.workflowId)
        .result()
        .catch(() => {});
      return published;
    };
    const photo = await publish('photos/a.jpg');
    const log = await publish('logs/b.txt'); // partial: the bad target refuses it
    const cli = cliFor(engine.settings);
    const list = (args: string[], expected: string[]) =>
      eventually(
        async () => {
          const { code, out, err } = await cli('deliveries', 'list', '--json', '--bucket', bucket, ...args);
          assert.equal(code, 0, `deliveries list ${args.join(' ')}: ${err}`);
          const ids = (JSON.parse(out) as Array<{ workflowId: string }>).map((row) => row.workflowId).sort();
          return JSON.stringify(ids) === JSON.stringify([...expected].sort()) ? ids : undefined;
        },
        `deliveries list ${args.join(' ')} = ${expected.join(', ')}`,
      );

    await list([], [photo.workflowId, log.workflowId]);
    await list(['--key', 'photos/a.jpg'], [photo.workflowId]);
    await list(['--prefix', 'logs/'], [log.workflowId]); // STARTS_WITH on a Keyword
    await list(['--status', 'partial'], [log.workflowId]);
    await list(['--status', 'delivered,partial'], [photo.workflowId, log.workflowId]); // IN
    await list(['--target', arn('bad')], [log.workflowId]); // = on a KeywordList
    await list(['--since', '1h'], [photo.workflowId, log.workflowId]); // StartTime >=
    // Bulk redeliver chooses by BucketflowFailedTargets (= on a KeywordList) and status.
    await eventually(async () => {
      const { code, out, err } = await cli(
        'redeliver',
        '--status',
        'partial',
        '--bucket',
        bucket,
        '--target',
        arn('bad'),
        '--dry-run',
        '--json',
      );
      assert.equal(code, 0, err);
      const originals = (JSON.parse(out) as Array<{ original: string }>).map((plan) => plan.original);
      return JSON.stringify(originals) === JSON.stringify([log.workflowId]) ? originals : undefined;
    }, 'redeliver --status partial --target');
  } finally {
    await engine.stop();
    await ok.close();
    await failing.close();
  }
});
