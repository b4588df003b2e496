// The README's quick start, run as written: its two shell blocks, line by line, through bash from the
// repository root (`npm start` in the background, `export` lines carried to the next commands), each
// command's output checked. Only the environment is the test's own: a task queue, data dir and ingest port
// of its own, so a developer's running engine and other tests are not disturbed. Also: `npm start` without a
// configuration says so once, with the line that fixes it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NO_TARGETS } from '../../src/engine/engine';
import { freePort } from '../helpers/dev-server';
import { deliveryOf } from '../helpers/records';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal', 'redis');

const root = path.resolve(__dirname, '../..');
const redisArn = 'arn:minio:sqs:us-east-1:1:redis';
let dir: string;
let env: NodeJS.ProcessEnv;
let ingestPort: number;
const started: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-quick-start-'));
  ingestPort = await freePort();
  env = {
    ...process.env,
    BUCKETFLOW_TASK_QUEUE: `quick-start-${randomUUID()}`,
    BUCKETFLOW_DATA_DIR: dir,
    BUCKETFLOW_INGEST_PORT: String(ingestPort),
  };
  for (const name of Object.keys(env)) {
    if (
      name.startsWith('BUCKETFLOW_') &&
      !['BUCKETFLOW_TASK_QUEUE', 'BUCKETFLOW_DATA_DIR', 'BUCKETFLOW_INGEST_PORT', 'BUCKETFLOW_STACK_DIR'].includes(name)
    )
      delete env[name];
  }
});

after(async () => {
  for (const child of started) await stop(child);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The shell blocks of the README's "Quick start" section, as lines. */
async function quickStartBlocks(): Promise<string[][]> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const section = /^## Quick start.*\n([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'the README has a Quick start section');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].split('\n').filter((line) => line.trim()));
}

function run(
  command: string,
  commandEnv: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd: root, env: commandEnv });
    let [out, err] = ['', ''];
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => resolve({ code, out: out.trim(), err: err.trim() }));
  });
}

/** Starts a long-running command in its own process group; resolves with it and its output once `ready` is logged. */
async function startInBackground(
  command: string,
  commandEnv: NodeJS.ProcessEnv,
  ready: string,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn('bash', ['-c', command], {
    cwd: root,
    env: commandEnv,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const take = (d: Buffer) => {
      output += d;
      if (output.includes(ready)) resolve();
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.once('exit', (code) => reject(new Error(`${command} exited ${code}: ${output}`)));
  });
  return { child, output: () => output };
}

/** SIGTERM to the process group (npm, bash, node), then waits for it to exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

async function postEvent(bucket: string, key: string): Promise<string> {
  const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key });
  const response = await fetch(`http://127.0.0.1:${ingestPort}/`, {
    method: 'POST',
    body: JSON.stringify({ Records: [record] }),
  });
  assert.equal(response.status, 202);
  return ((await response.json()) as { accepted: Array<{ workflowId: string }> }).accepted[0].workflowId;
}

test(
  'npm start without a configuration says once that no target is configured, with the line that fixes it',
  { timeout: 120_000 },
  async () => {
    const start = await startInBackground('npm start', env, '"worker started"');
    const workflowId = await postEvent('no-config', 'a.jpg');
    const show = await run(`bin/bucketflow deliveries show ${workflowId}`, env);
    assert.match(show.out, /status {9}no-targets/, show.err);
    await stop(start.child);
    const said = start
      .output()
      .split('\n')
      .filter((line) => line.includes(NO_TARGETS));
    assert.equal(said.length, 1, start.output());
    assert.match(NO_TARGETS, /BUCKETFLOW_CONFIG=examples\/config\.json npm start/);
  },
);

test(
  'the README quick start, run as written, delivers a test event to Redis and shows it',
  { timeout: 300_000 },
  async () => {
    const [engine, commands] = await quickStartBlocks();
    assert.equal(engine[0], 'npm ci', 'the first line installs (the checkout running this test did)');
    assert.equal(engine.length, 3);
    const stack = await run(engine[1], env);
    assert.equal(stack.code, 0, `${engine[1]}: ${stack.out} ${stack.err}`);
    assert.match(engine[2], /npm start$/);
    await startInBackground(engine[2], env, '"worker started"');

    const shell = { ...env };
    const before = Number((await run('redis-cli LLEN bucketevents', shell)).out);
    const outputs = new Map<string, { out: string; err: string }>();
    for (const line of commands) {
      const exported = /^export (\w+)=(\S+)$/.exec(line);
      if (exported) {
        shell[exported[1]] = exported[2];
        continue;
      }
      const result = await run(line, shell);
      assert.equal(result.code, 0, `${line}: ${result.out} ${result.err}`);
      outputs.set(line.split(' ').slice(0, 3).join(' '), result);
    }

    assert.match(outputs.get('bin/bucketflow targets list')!.out, new RegExp(`^${redisArn} {3}redis {3}enabled$`, 'm'));
    assert.equal(outputs.get('bin/bucketflow events add')!.out, `Successfully added ${redisArn}`);
    const tested = outputs.get('bin/bucketflow events test')!;
    assert.match(tested.err, /^published s3:ObjectCreated:Put photos\/cat\.jpg \(event id [0-9a-f]{32}\)/m);
    assert.match(tested.out, /^status {9}delivered \(workflow Completed\)$/m);
    assert.match(tested.out, new RegExp(`^${redisArn}\\s+delivered\\s+1\\s+fast`, 'm'));
    assert.match(
      tested.out,
      /^web ui {9}http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/bucketflow-[0-9a-f]{32}$/m,
    );
    assert.equal(
      outputs.get('bin/bucketflow deliveries show')!.out,
      tested.out,
      'deliveries show prints the same delivery',
    );

    const list = outputs.get('redis-cli LRANGE bucketevents')!.out.split('\n');
    assert.equal(list.length, before + 1, 'one more event in the Redis list');
    const [record] = (
      JSON.parse(list[list.length - 1]) as {
        Records: Array<{
          eventName: string;
          userIdentity: { principalId: string };
          s3: { bucket: { name: string }; object: { key: string } };
        }>;
      }
    ).Records;
    assert.deepEqual(
      [record.eventName, record.s3.bucket.name, record.s3.object.key, record.userIdentity.principalId],
      ['s3:ObjectCreated:Put', 'photos', 'cat.jpg', 'bucketflow-events-test'],
    );

    // The status page the quick start points to finds the delivery.
    const page = await (await fetch(`http://127.0.0.1:${ingestPort}/status?q=photos%2Fcat.jpg`)).text();
    assert.match(page, new RegExp(`${redisArn}\\s+delivered`));
  },
);
