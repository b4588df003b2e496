// `bucketflow backfill` at the size: 100,000 objects (BACKFILL_TEST_OBJECTS) in the stack's MinIO, the
// guide's eight targets (AMQP, Elasticsearch, Redis, NATS JetStream, PostgreSQL, MySQL, Kafka, webhook; the stores in
// the namespace format), the backfill run by worker processes as in production, one of them SIGKILLed a third of the
// way in and another started. Every object reaches every target: each store holds it once, each message target holds
// or received it at least once with at most 0.1% duplicates (what the killed worker had sent but not yet recorded:
// a message target's share of a batch goes in slices of 50, each recorded as sent; activities/deliver-batch.ts).
// Run again on the same bucket, the stores still hold each object once. Not a timing test: the figures (objects/s,
// actions per object, RSS) are `npm run bench`'s backfill group; the lines printed here say how long each run took.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { endpoints } from '../../../scripts/stack/endpoints';
import { s3Server, stackS3Client } from '../../../scripts/stack/s3';
import { backfillWorkflowId, type BackfillProgress } from '../../../src/delivery/backfill';
import { cliFor, eventually } from '../../helpers/cli';
import { spawnStartedWorker, startEngine, type Engine } from '../../helpers/engine';
import { watchTargets, type Watch } from '../../helpers/guide-targets';
import { awsEnvOf, fillBucket, removeBucket } from '../../helpers/s3-buckets';

const OBJECTS = Number(process.env.BACKFILL_TEST_OBJECTS ?? 100_000);
/** Each run may take minutes on a loaded 2-core machine (the bench measures ~400 objects/s): generous, not a timing. */
const TIMEOUT = { timeout: 30 * 60_000 };
const STORES = ['elasticsearch', 'mysql', 'postgresql', 'redis'];
const MESSAGE_TARGETS = ['amqp', 'kafka', 'nats', 'webhook'];
const minio = s3Server(endpoints.minio);
const s3Env = awsEnvOf(minio);

describe(`backfill of ${OBJECTS} objects into the guide's eight targets`, () => {
  let admin: S3Client;
  let watch: Watch;
  let engine: Engine;
  let bucket: string;
  const workers: ChildProcess[] = [];

  before(async () => {
    admin = stackS3Client(minio);
    bucket = `bf-eight-${randomUUID().slice(0, 8)}`;
    const filling = Date.now();
    await fillBucket(admin, bucket, OBJECTS, (i) => `photos/${String(i).padStart(7, '0')} shot.jpg`);
    console.log(`filled ${bucket} with ${OBJECTS} objects in ${((Date.now() - filling) / 1000).toFixed(0)} s`);
    watch = await watchTargets('guide');
    const types = Object.keys(watch.notify).sort();
    assert.deepEqual(types, [...STORES, ...MESSAGE_TARGETS].sort(), "the guide's eight targets");
    // No worker in this process: the backfill runs in worker processes.
    engine = await startEngine({
      notify: watch.notify,
      rules: {
        [bucket]: types.map((type, i) => ({
          id: String(i + 1),
          arn: `arn:minio:sqs:us-east-1:1:${type}`,
          events: ['s3:ObjectCreated:*'],
          prefix: 'photos/',
          suffix: '',
        })),
      },
      workers: 0,
    });
  });
  after(async () => {
    for (const worker of workers) if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await engine?.stop();
    await watch?.close();
    if (bucket) await removeBucket(admin, bucket, { bulk: true }).catch(() => undefined);
    admin?.destroy();
  });

  const backfillRun = async (what: string) => {
    const started = Date.now();
    const run = await cliFor(engine.settings, s3Env)('backfill', bucket, '--detach');
    assert.equal(run.code, 0, run.err);
    const handle = engine.client.temporal.workflow.getHandle(
      backfillWorkflowId({ bucket, prefix: '', target: undefined }),
    );
    return { handle, started, what };
  };

  /** Waits until every target holds every object (a store shows a document within its refresh interval). */
  const allHeld = () =>
    eventually(
      async () => {
        const counts = await watch.counts();
        return Object.values(counts).every((n) => n >= OBJECTS) ? counts : undefined;
      },
      `every target holding ${OBJECTS} objects`,
      5 * 60_000,
    );

  test(
    'a worker SIGKILLed a third of the way in: every object at every target, stores once, <= 0.1% duplicates',
    TIMEOUT,
    async () => {
      workers.push(await spawnStartedWorker(engine.settings, s3Env));
      const { handle, started } = await backfillRun('first');
      await eventually(
        async () => ((await watch.counts()).webhook >= OBJECTS / 3 ? true : undefined),
        'a third of the objects at the webhook',
        20 * 60_000,
      );
      workers[0].kill('SIGKILL');
      await new Promise((resolve) => (workers[0].signalCode ? resolve(null) : workers[0].once('exit', resolve)));
      const atKill = await watch.counts();
      assert.ok(atKill.webhook < OBJECTS, `killed mid-way (${atKill.webhook} at the webhook)`);
      workers.push(await spawnStartedWorker(engine.settings, s3Env));

      const result: BackfillProgress = await handle.result();
      assert.equal(result.counts.listed, OBJECTS);
      assert.equal(result.counts.published, OBJECTS);
      await allHeld();
      const seconds = (Date.now() - started) / 1000;
      const tally = await watch.tally();
      console.log(
        `first run (SIGKILL at ${atKill.webhook} objects at the webhook): ${seconds.toFixed(0)} s, ` +
          `${(OBJECTS / seconds).toFixed(0)} objects/s; held/distinct per target: ${JSON.stringify(tally)}`,
      );
      for (const store of STORES)
        assert.deepEqual(tally[store], { held: OBJECTS, distinct: OBJECTS }, `${store} holds each object once`);
      for (const target of MESSAGE_TARGETS) {
        assert.equal(tally[target].distinct, OBJECTS, `${target}: every object at least once`);
        const duplicates = tally[target].held - OBJECTS;
        assert.ok(
          duplicates <= OBJECTS / 1000,
          `${target}: ${duplicates} duplicates of ${OBJECTS}, more than 0.1% (the sends in flight at the kill)`,
        );
      }
    },
  );

  test('run again on the same bucket: the stores still hold each object once', TIMEOUT, async () => {
    const { handle, started } = await backfillRun('second');
    const result: BackfillProgress = await handle.result();
    assert.equal(result.counts.listed, OBJECTS);
    const counts = await watch.counts();
    console.log(
      `second run: ${((Date.now() - started) / 1000).toFixed(0)} s; counts ${JSON.stringify(result.counts)}; ` +
        `targets ${JSON.stringify(counts)}`,
    );
    for (const store of STORES) assert.equal(counts[store], OBJECTS, `${store} holds each object once`);
  });
});
