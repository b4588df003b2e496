// scripts/entry.sh, which `npm run worker|ingest|start|cli` and bin/bucketflow go through: the compiled JS only
// while dist/ matches the sources, else the TypeScript through tsx (never a stale build, never silently).
// Run on a scratch package with its own one-line entry points, so the real dist/ is left alone. Also the V8
// heap flags it gives the long-running processes unless NODE_OPTIONS names them (docs/production.md, "Memory").
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';

const repo = path.resolve(__dirname, '../..');
const root = mkdtempSync(path.join(tmpdir(), 'bucketflow-entry-'));
after(() => rmSync(root, { recursive: true, force: true }));

for (const dir of ['scripts', 'src/cli', 'src/worker', 'workflows', 'activities', 'dist/src/cli'])
  mkdirSync(path.join(root, dir), { recursive: true });
copyFileSync(path.join(repo, 'scripts', 'entry.sh'), path.join(root, 'scripts', 'entry.sh'));
for (const file of ['package-lock.json', 'tsconfig.json', 'tsconfig.build.json'])
  writeFileSync(path.join(root, file), '{}');
symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'));
writeFileSync(
  path.join(root, 'src', 'cli', 'main.ts'),
  "const from: string = 'tsx';\nconsole.log(from, process.argv.slice(2).join(' '), process.cwd());\n",
);
// The worker's entry point prints the heap limit (MiB) of its main thread and of a worker thread, as the SDK's workflow
// thread gets it.
writeFileSync(
  path.join(root, 'src', 'worker', 'main.ts'),
  [
    "import { getHeapStatistics } from 'node:v8';",
    "import { Worker } from 'node:worker_threads';",
    'const limit = \'require("node:v8").getHeapStatistics().heap_size_limit / 1048576\';',
    "const thread = new Worker(`require('node:worker_threads').parentPort.postMessage(${limit})`, { eval: true });",
    "thread.once('message', (inThread: number) => { console.log(getHeapStatistics().heap_size_limit / 1048576, inThread); void thread.terminate(); });",
  ].join('\n'),
);

function entry(env: Record<string, string> = {}, ...args: string[]) {
  const run = spawnSync('bash', [path.join(root, 'scripts', 'entry.sh'), ...args], {
    cwd: tmpdir(),
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: run.status, out: run.stdout.trim(), err: run.stderr.trim() };
}

function recordBuild(): void {
  writeFileSync(
    path.join(root, 'dist', 'src', 'cli', 'main.js'),
    "console.log('dist', process.argv.slice(2).join(' '), process.cwd());\n",
  );
  writeFileSync(path.join(root, 'dist', '.source-hash'), entry({}, '--source-hash').out);
}

test("no build: the TypeScript runs, quietly, with its arguments, in the caller's directory", () => {
  assert.deepEqual(entry({}, 'cli', 'targets', 'list'), { code: 0, out: `tsx targets list ${tmpdir()}`, err: '' });
});

test('a build of the current sources runs the compiled JS', () => {
  recordBuild();
  assert.deepEqual(entry({}, 'cli', 'a'), { code: 0, out: `dist a ${tmpdir()}`, err: '' });
  assert.equal(entry({ BUCKETFLOW_RUNTIME: 'tsx' }, 'cli', 'a').out, `tsx a ${tmpdir()}`);
});

test('a source edited after the build: the TypeScript runs and stderr says why; BUCKETFLOW_RUNTIME=dist refuses', () => {
  recordBuild();
  appendFileSync(path.join(root, 'workflows', 'deliver.ts'), '// edited\n');
  const run = entry({}, 'cli', 'a');
  assert.equal(run.code, 0);
  assert.equal(run.out, `tsx a ${tmpdir()}`);
  assert.match(run.err, /dist\/ is older than the sources, running them through tsx \(npm run build to refresh\)/);
  const forced = entry({ BUCKETFLOW_RUNTIME: 'dist' }, 'cli', 'a');
  assert.equal(forced.code, 2);
  assert.equal(forced.out, '');
  assert.match(
    forced.err,
    /BUCKETFLOW_RUNTIME=dist but dist\/ is missing or older than the sources: run npm run build/,
  );
  recordBuild();
  assert.equal(entry({}, 'cli', 'a').out, `dist a ${tmpdir()}`);
});

test('a changed lock file (another SDK version) also makes the build stale', () => {
  recordBuild();
  writeFileSync(path.join(root, 'package-lock.json'), '{"lockfileVersion": 3}');
  assert.equal(entry({}, 'cli').out, `tsx  ${tmpdir()}`);
});

test('an unknown entry point or runtime is refused', () => {
  assert.equal(entry({}, 'nope').code, 2);
  const bad = entry({ BUCKETFLOW_RUNTIME: 'bun' }, 'cli');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /BUCKETFLOW_RUNTIME: expected auto, dist or tsx, got "bun"/);
});

test('the worker gets a 512 MB old space and 8 MB semi-spaces in every thread, unless NODE_OPTIONS names its own; the CLI gets none', () => {
  // heap_size_limit = old space + 3 semi-spaces: 512 + 24.
  assert.equal(entry({ NODE_OPTIONS: '' }, 'worker').out, '536 536');
  assert.equal(entry({ NODE_OPTIONS: '--max-old-space-size=300' }, 'worker').out, '324 324');
  assert.equal(entry({ NODE_OPTIONS: '--max_semi_space_size=16 --no-warnings' }, 'worker').out, '560 560');
  assert.equal(
    entry({ NODE_OPTIONS: '--max-semi-space-size=16 --max-old-space-size=1000' }, 'worker').out,
    '1048 1048',
  );
  const defaultLimit = spawnSync(
    process.execPath,
    ['-p', 'require("node:v8").getHeapStatistics().heap_size_limit / 1048576'],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  writeFileSync(
    path.join(root, 'src', 'cli', 'main.ts'),
    "console.log(require('node:v8').getHeapStatistics().heap_size_limit / 1048576);\n",
  );
  assert.equal(entry({ NODE_OPTIONS: '', BUCKETFLOW_RUNTIME: 'tsx' }, 'cli').out, defaultLimit.stdout.trim());
});
