// scripts/entry.sh, which `npm run worker|ingest|start|cli` and bin/bucketflow go through: the compiled JS only
// while dist/ matches the sources, else the TypeScript through tsx (never a stale build, never silently).
// Run on a scratch package with its own one-line entry point, so the real dist/ is left alone.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';

const repo = path.resolve(__dirname, '../..');
const root = mkdtempSync(path.join(tmpdir(), 'bucketflow-entry-'));
after(() => rmSync(root, { recursive: true, force: true }));

for (const dir of ['scripts', 'src/operator', 'workflows', 'activities', 'dist/src/operator']) mkdirSync(path.join(root, dir), { recursive: true });
copyFileSync(path.join(repo, 'scripts', 'entry.sh'), path.join(root, 'scripts', 'entry.sh'));
for (const file of ['package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) writeFileSync(path.join(root, file), '{}');
symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'));
writeFileSync(path.join(root, 'src', 'operator', 'cli.ts'), "const from: string = 'tsx';\nconsole.log(from, process.argv.slice(2).join(' '), process.cwd());\n");

function entry(env: Record<string, string> = {}, ...args: string[]) {
  const run = spawnSync('bash', [path.join(root, 'scripts', 'entry.sh'), ...args], { cwd: tmpdir(), encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: run.status, out: run.stdout.trim(), err: run.stderr.trim() };
}

function recordBuild(): void {
  writeFileSync(path.join(root, 'dist', 'src', 'operator', 'cli.js'), "console.log('dist', process.argv.slice(2).join(' '), process.cwd());\n");
  writeFileSync(path.join(root, 'dist', '.source-hash'), entry({}, '--source-hash').out);
}

test('no build: the TypeScript runs, quietly, with its arguments, in the caller\'s directory', () => {
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
  assert.match(forced.err, /BUCKETFLOW_RUNTIME=dist but dist\/ is missing or older than the sources: run npm run build/);
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
