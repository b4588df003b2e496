// scripts/test.sh with files named (`npm test -- <files>`, or TEST_FILES): only those files run, directly, with no
// stack up, no tsc, no eslint and no build; TAP on stdout and the timings summary (scripts/test-timings.mjs) on stderr.
// The files run here are scratch ones (one failing, so the run's exit code is checked too); one that declares
// needs('alone') runs after the others, one at a time.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

const repo = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'bucketflow-test-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function testSh(args: string[], env: Record<string, string> = {}) {
  const { NODE_TEST_CONTEXT: _context, TEST_FILES: _files, TEST_CONCURRENCY: _concurrency, ...inherited } = process.env;
  const result = spawnSync('bash', ['scripts/test.sh', ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...inherited, ...env },
    timeout: 60_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

function scratchFile(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `const { test } = require('node:test');\n${body}\n`);
  return file;
}

test('named files run directly: no stack up, tsc, eslint or build; TAP, the timings and the exit code of the run', () => {
  const passing = scratchFile('passing.test.ts', "test('adds', () => { if (1 + 1 !== 2) throw new Error('no'); });");
  const failing = scratchFile(
    'failing.test.ts',
    "test('fails on purpose', () => { throw new Error('planted failure'); });",
  );
  for (const run of [testSh([passing, failing]), testSh([], { TEST_FILES: `${passing} ${failing}` })]) {
    assert.equal(run.code, 1, run.out + run.err);
    assert.doesNotMatch(run.out + run.err, /=== test: (stack up|tsc|lint|eslint|build)/);
    assert.match(run.out, /^ok \d+ - adds$/m);
    assert.match(run.out, /^not ok \d+ - fails on purpose$/m);
    assert.match(run.out, /^# pass 1$/m);
    assert.match(run.err, /^# 2 files; the slowest \(their process, start to end\):$/m);
    assert.ok(run.err.includes(path.relative(repo, passing)), run.err);
  }
  const passed = testSh([passing]);
  assert.equal(passed.code, 0, passed.out + passed.err);
});

test("a file that declares needs('alone') runs after the others, one at a time", () => {
  const helper = JSON.stringify(path.join(repo, 'test', 'helpers', 'needs'));
  const alone = path.join(dir, 'alone.test.ts');
  // Declared as a test file declares it, wrapped over lines as the formatter may leave it; `need` keeps this file's
  // own source from reading as such a declaration.
  const need = 'alone';
  writeFileSync(
    alone,
    `const { needs } = require(${helper});\nconst { test } = needs(\n  '${need}',\n);\ntest('timing-bound', () => {});\n`,
  );
  const others = [
    scratchFile('one.test.ts', "test('one', () => {});"),
    scratchFile('two.test.ts', "test('two', () => {});"),
  ];
  const run = testSh([alone, ...others]);
  assert.equal(run.code, 0, run.out + run.err);
  const steps = run.out
    .split('\n')
    .filter((line) => line.startsWith('=== test: node --test') && !line.includes(' took '));
  assert.deepEqual(steps, [
    '=== test: node --test (2 files, 4 at a time)',
    '=== test: node --test (1 files that run alone)',
  ]);
  assert.ok(
    run.out.indexOf('ok 1 - timing-bound') > run.out.indexOf('=== test: node --test (1 files that run alone)'),
    run.out,
  );
});
