// The built package as a user gets it: `npm pack`, unpacked into a scratch project's node_modules, required
// by its name (the `exports` map, not a path into the repo), its types checked by tsc, a client constructed
// against the real Temporal server, and its bin run from the install without the TypeScript sources.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent } from '../../src/events';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal', 'build');

const repo = path.resolve(__dirname, '../..');
const scratch = mkdtempSync(path.join(tmpdir(), 'bucketflow-package-'));
const installed = path.join(scratch, 'node_modules', 'bucketflow');
let packed: string[] = [];

before(() => {
  // The build is current here: `npm test` (and `npm test -- <this file>`) builds first, as `needs('build')` asks.
  const [pack] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], {
      cwd: repo,
      encoding: 'utf8',
    }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = pack.files.map((f) => f.path);
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(scratch, pack.filename), '-C', installed, '--strip-components=1']);
  // Stands in for the dependencies npm would install from the registry (tests stay on loopback).
  symlinkSync(path.join(repo, 'node_modules'), path.join(installed, 'node_modules'));
  writeFileSync(
    path.join(scratch, 'package.json'),
    JSON.stringify({ name: 'storage-service', private: true, dependencies: { bucketflow: '*' } }),
  );
});

after(() => rmSync(scratch, { recursive: true, force: true }));

test('the package ships the compiled library, its declarations, the bundle and the bin, not the sources', () => {
  for (const file of [
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/workflows.bundle.js',
    'dist/workflows-traced.bundle.js',
    'dist/.source-hash',
    'bin/bucketflow',
    'scripts/entry.sh',
  ]) {
    assert.ok(packed.includes(file), `${file} is in the package`);
  }
  assert.deepEqual(
    packed.filter((f) => /^(src|test|bench|workflows|activities)\/|\.ts$/.test(f) && !f.endsWith('.d.ts')),
    [],
  );
});

test('a Node service requires it by name and publishes an event through BucketflowClient', () => {
  const taskQueue = `package-test-${randomUUID()}`; // no worker polls it: the start alone is checked
  const record = buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket: 'pkg',
    key: `${randomUUID()}.jpg`,
    eventTime: new Date(),
  });
  writeFileSync(
    path.join(scratch, 'publish.js'),
    `
    const bucketflow = require('bucketflow');
    const record = JSON.parse(process.argv[2]);
    let internal;
    try { require('bucketflow/dist/src/worker/main'); internal = 'reachable'; } catch (err) { internal = err.code; }
    (async () => {
      const client = await bucketflow.BucketflowClient.connect({ temporalAddress: ${JSON.stringify(endpoints.temporal)}, taskQueue: ${JSON.stringify(taskQueue)} });
      const published = await client.publish({ Records: [record] });
      await client.close();
      console.log(JSON.stringify({ published, internal, exports: Object.keys(bucketflow).sort(), resolved: require.resolve('bucketflow') }));
    })().catch((err) => { console.error(err); process.exit(1); });`,
  );
  const run = spawnSync(process.execPath, ['publish.js', JSON.stringify(record)], {
    cwd: scratch,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as {
    published: Array<{ workflowId: string; duplicate: boolean }>;
    internal: string;
    exports: string[];
    resolved: string;
  };
  assert.equal(out.resolved, path.join(installed, 'dist', 'src', 'index.js'));
  assert.equal(out.internal, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  for (const name of [
    'BucketflowClient',
    'verifyWebhook',
    'parseSigningSecrets',
    'WebhookSignatureError',
    'workflowIdFor',
    'RecordTooLargeError',
    'MAX_RECORD_BYTES',
  ])
    assert.ok(out.exports.includes(name), name);
  assert.equal(out.published.length, 1);
  assert.equal(out.published[0].duplicate, false);
  return checkStarted(out.published[0].workflowId, taskQueue);
});

async function checkStarted(workflowId: string, taskQueue: string): Promise<void> {
  const client = new Client({ connection: await Connection.connect({ address: endpoints.temporal }) });
  try {
    const handle = client.workflow.getHandle(workflowId);
    const described = await handle.describe();
    assert.equal(described.taskQueue, taskQueue);
    assert.equal(described.type, 'deliverEventV3');
    await handle.terminate('package test: nothing polls this task queue');
  } finally {
    await client.connection.close();
  }
}

test('its declarations type-check a TypeScript consumer that imports it by name', () => {
  writeFileSync(
    path.join(scratch, 'consumer.ts'),
    `
    import { BucketflowClient, verifyWebhook, type PublishedEvent, type S3EventRecord } from 'bucketflow';
    export async function forward(client: BucketflowClient, record: S3EventRecord): Promise<PublishedEvent[]> {
      return client.publish({ Records: [record] });
    }
    export const check: typeof verifyWebhook = verifyWebhook;
    // @ts-expect-error a string is not a record: the types are real, not any (the SDK's own .d.ts need skipLibCheck
    // under node16)
    export const wrong: S3EventRecord = 'x';`,
  );
  const tsc = spawnSync(
    process.execPath,
    [
      path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--types',
      'node',
      '--typeRoots',
      path.join(repo, 'node_modules', '@types'),
      'consumer.ts',
    ],
    { cwd: scratch, encoding: 'utf8' },
  );
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test('its bin runs the compiled CLI from the install, where there are no sources', () => {
  const run = spawnSync(path.join(installed, 'bin', 'bucketflow'), ['targets', 'list'], {
    cwd: scratch,
    encoding: 'utf8',
    env: {
      ...process.env,
      BUCKETFLOW_RUNTIME: 'dist',
      BUCKETFLOW_DATA_DIR: scratch,
      BUCKETFLOW_CONFIG: '',
      MINIO_NOTIFY_WEBHOOK_ENABLE: 'on',
      MINIO_NOTIFY_WEBHOOK_ENDPOINT: 'http://127.0.0.1:1/',
    },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'arn:minio:sqs:us-east-1:_:webhook   webhook   enabled');
});
