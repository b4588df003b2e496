// Every entry point (bin/bucketflow, npm run worker, npm run ingest, npm start) refuses a bad setting the
// same way: one line naming the variable, exit 2, before anything connects or starts. Runs the real entry
// points through scripts/entry.sh; needs no server (nothing gets as far as dialing one).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

const repo = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'bucketflow-entry-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ENTRY_POINTS: Record<string, string[]> = {
  cli: ['cli', 'targets', 'list'],
  worker: ['worker'],
  ingest: ['ingest'],
  start: ['start'],
};
const BAD: Array<[string, string, string]> = [
  ['BUCKETFLOW_INGEST_PORT', 'abc', 'BUCKETFLOW_INGEST_PORT: expected a port number, got "abc"'],
  ['TEMPORAL_TLS', 'maybe', 'TEMPORAL_TLS: expected a boolean (true/false/on/off), got "maybe"'],
  // A blank token used to count as unset (all open); a three-word one was accepted, then every POST answered 500.
  [
    'BUCKETFLOW_INGEST_AUTH_TOKEN',
    '   ',
    'BUCKETFLOW_INGEST_AUTH_TOKEN: set but empty: give it a token, or unset it for none',
  ],
  [
    'BUCKETFLOW_INGEST_AUTH_TOKEN_MINIO',
    'Bearer s3cret x',
    'BUCKETFLOW_INGEST_AUTH_TOKEN_MINIO: expected a token or "<scheme> <credentials>", got 3 words (MinIO sends no header for more)',
  ],
  [
    'BUCKETFLOW_INGEST_HOST',
    '0.0.0.0',
    'BUCKETFLOW_INGEST_HOST: 0.0.0.0 is reachable from other machines and no token is set: set BUCKETFLOW_INGEST_AUTH_TOKEN, or BUCKETFLOW_INGEST_ALLOW_OPEN=true to serve it open',
  ],
];

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(repo, 'scripts', 'entry.sh'), ...args], {
      cwd: dir,
      env: { ...process.env, BUCKETFLOW_DATA_DIR: dir, BUCKETFLOW_CONFIG: '', TEMPORAL_ADDRESS: '127.0.0.1:1', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      // entry.sh's note that a stale dist/ is not run is not the entry point's output.
      resolve({ code, out, err: err.replace(/^bucketflow: dist\/ is older.*\n/m, '') });
    });
  });
}

for (const [variable, value, message] of BAD) {
  test(`${variable}=${value}: every entry point prints one line naming it and exits 2`, async () => {
    const results = await Promise.all(
      Object.entries(ENTRY_POINTS).map(async ([name, args]) => [name, await run(args, { [variable]: value })] as const),
    );
    for (const [name, result] of results) {
      assert.equal(result.code, 2, `${name}: ${result.err}`);
      assert.equal(result.out, '', name);
      const lines = result.err.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `${name}: ${result.err}`);
      if (name === 'cli') {
        assert.equal(lines[0], `bucketflow: ${message}`);
      } else {
        // The services log JSON lines: the refusal is one of them.
        const entry = JSON.parse(lines[0]) as { level: string; error: string };
        assert.equal(entry.level, 'ERROR', name);
        assert.equal(entry.error, message, name);
      }
    }
  });
}
