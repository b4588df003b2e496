// test/helpers/needs.ts, as a test file uses it: a scratch test file declaring needs('redis') (and one test per
// service through needsEach) run by node's test runner with the Redis endpoint pointed at a closed port or at a
// listening one this test opens. Down and not CI: every test skipped with the reason and the command, no hook run.
// Down under CI: every test failed with that reason. Answering: the tests and hooks run as written. And every
// test file that talks to a server declares it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../helpers/dev-server';

const repo = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'bucketflow-needs-'));
const helper = JSON.stringify(path.join(repo, 'test', 'helpers', 'needs'));
let listening: Server;
let openPort: number;

before(async () => {
  listening = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  openPort = (listening.address() as { port: number }).port;
});
after(() => {
  listening.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A test file that needs Redis: a hook and two tests (one in a suite), each leaving a marker file when it runs. */
function writeNeedsRedis(): string {
  const file = path.join(dir, `needs-redis-${Date.now()}.test.ts`);
  const mark = (name: string) => `require('node:fs').writeFileSync(${JSON.stringify(path.join(dir, name))}, '')`;
  writeFileSync(
    file,
    [
      `const { needs } = require(${helper});`,
      "const { test, describe, before, after } = needs('redis');",
      `before(() => { ${mark('before-ran')}; });`,
      `after(() => { ${mark('after-ran')}; });`,
      `test('writes to redis', () => { ${mark('test-ran')}; });`,
      `describe('a suite', () => { test('reads from redis', { timeout: 5000 }, () => { ${mark('suite-test-ran')}; }); });`,
    ].join('\n'),
  );
  return file;
}

function run(file: string, env: Record<string, string>) {
  for (const marker of ['before-ran', 'after-ran', 'test-ran', 'suite-test-ran'])
    rmSync(path.join(dir, marker), { force: true });
  // Neither CI nor node's own marker of a test runner's child (which would make the inner run report to us).
  const { CI: _ci, NODE_TEST_CONTEXT: _context, ...inherited } = process.env;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...inherited, ...env },
    timeout: 60_000,
  });
  const ran = ['before-ran', 'after-ran', 'test-ran', 'suite-test-ran'].filter((marker) =>
    existsSync(path.join(dir, marker)),
  );
  return { code: result.status, out: result.stdout, ran };
}

test('a service down outside CI: every test is skipped naming it and the command that starts it; no hook runs', async () => {
  const closed = await freePort();
  const { code, out, ran } = run(writeNeedsRedis(), { BUCKETFLOW_TEST_REDIS_ADDRESS: `127.0.0.1:${closed}` });
  const reason = `# SKIP needs redis (nothing answers at 127.0.0.1:${closed} (ECONNREFUSED)); it comes with: npm run stack -- up redis`;
  assert.equal(code, 0, out);
  assert.ok(out.includes(`ok 1 - writes to redis ${reason}`), out);
  assert.ok(out.includes(`ok 1 - reads from redis ${reason}`), out);
  assert.match(out, /^# skipped 2$/m);
  assert.deepEqual(ran, []);
});

test('a service down under CI: every test fails with that reason', async () => {
  const closed = await freePort();
  const { code, out, ran } = run(writeNeedsRedis(), {
    BUCKETFLOW_TEST_REDIS_ADDRESS: `127.0.0.1:${closed}`,
    CI: 'true',
  });
  assert.equal(code, 1, out);
  assert.match(out, /^# fail 2$/m);
  const message = `CI runs every test, and this one needs redis (nothing answers at 127.0.0.1:${closed} (ECONNREFUSED)); it comes with: npm run stack -- up redis`;
  assert.equal(out.split(message).length - 1, 2, out);
  assert.deepEqual(ran, []);
});

test('CI=false is not CI', async () => {
  const closed = await freePort();
  const { code, out } = run(writeNeedsRedis(), { BUCKETFLOW_TEST_REDIS_ADDRESS: `127.0.0.1:${closed}`, CI: 'false' });
  assert.equal(code, 0, out);
  assert.match(out, /^# skipped 2$/m);
});

test('the service answering: the tests and the hooks run as written', () => {
  const { code, out, ran } = run(writeNeedsRedis(), {
    BUCKETFLOW_TEST_REDIS_ADDRESS: `127.0.0.1:${openPort}`,
    CI: 'true',
  });
  assert.equal(code, 0, out);
  assert.match(out, /^# pass 2$/m);
  assert.deepEqual(ran, ['before-ran', 'after-ran', 'test-ran', 'suite-test-ran']);
});

test('needsEach: each test needs its own service; only the one whose service is down is skipped', async () => {
  const closed = await freePort();
  const file = path.join(dir, 'needs-each.test.ts');
  writeFileSync(
    file,
    [
      `const { needsEach } = require(${helper});`,
      "const service = needsEach('redis', 'nats');",
      "service.redis.test('redis round trip', () => {});",
      "service.nats.test('nats round trip', () => {});",
    ].join('\n'),
  );
  const { code, out } = run(file, {
    BUCKETFLOW_TEST_REDIS_ADDRESS: `127.0.0.1:${closed}`,
    BUCKETFLOW_TEST_NATS_ADDRESS: `127.0.0.1:${openPort}`,
  });
  assert.equal(code, 0, out);
  assert.match(out, /^ok 1 - redis round trip # SKIP needs redis \(nothing answers/m);
  assert.match(out, /^ok 2 - nats round trip$/m);
});

test('every test file that talks to a server declares what it needs', () => {
  // test/unit, test/cli and test/deploy need no server (npm run test:unit runs them with the stack down); test/cluster
  // checks its own cluster (test/helpers/cluster.ts) and test/s3 its opt-in servers (scripts/test-s3.sh brings them
  // up).
  const folders = ['test/integration', 'test/workflows', 'test/faults', 'test/build'];
  const files = folders.flatMap((folder) =>
    readdirSync(path.join(repo, folder), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => path.join(folder, name)),
  );
  assert.ok(files.length > 40, `${files.length} files`);
  const silent = files.filter((file) => !/\bneeds(Each)?\(\s*'/.test(readFileSync(path.join(repo, file), 'utf8')));
  assert.deepEqual(silent, [], 'files that do not say which servers they need (test/helpers/needs.ts)');
});
