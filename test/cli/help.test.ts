// `bucketflow <subcommand> --help` (or -h) for every subcommand the usage lists: that subcommand's usage and
// options on stdout, exit 0, nothing loaded or connected (it works with a broken environment); an unknown
// option, a missing option value or an argument too many: one line naming it, exit 2. The real binary.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

const bin = path.resolve(__dirname, '../../bin/bucketflow');
const dir = mkdtempSync(path.join(tmpdir(), 'bucketflow-help-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, {
      env: { ...process.env, BUCKETFLOW_DATA_DIR: dir, BUCKETFLOW_CONFIG: '', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => resolve({ code, out, err: err.replace(/^bucketflow: dist\/ is older.*\n/m, '') }));
  });
}

/** Every subcommand's words, from the usage `bucketflow --help` prints. */
async function subcommands(): Promise<string[]> {
  const { code, out } = await run(['--help']);
  assert.equal(code, 0);
  const words = out
    .split('\n')
    .filter((line) => line.startsWith('  bucketflow '))
    .map((line) => line.slice('  bucketflow '.length).split(/ [<[-]/)[0]);
  return [...new Set(words)];
}

test("the usage lists every group's subcommands", async () => {
  assert.deepEqual(await subcommands(), [
    'events add',
    'events list',
    'events remove',
    'events import',
    'events export',
    'events test',
    'targets list',
    'targets health',
    'targets pause',
    'targets resume',
    'backfill',
    'deliveries list',
    'deliveries show',
    'redeliver',
    'scan add',
    'scan list',
    'scan remove',
    'scan run',
  ]);
});

test('--help and -h on every subcommand print its own usage and exit 0, even with a broken environment', async () => {
  const names = await subcommands();
  // A bad setting would stop any command that loads the settings: help must not.
  const broken = { BUCKETFLOW_INGEST_PORT: 'abc', TEMPORAL_TLS: 'maybe' };
  const results = await Promise.all(
    names.map(async (name, n) => [name, await run([...name.split(' '), n % 2 ? '-h' : '--help'], broken)] as const),
  );
  for (const [name, { code, out, err }] of results) {
    assert.equal(code, 0, `${name}: ${err}`);
    assert.equal(err, '', name);
    assert.ok(out.startsWith(`usage:\n  bucketflow ${name}`), `${name}: ${out}`);
    assert.doesNotMatch(out, new RegExp(`bucketflow (?!${name})`), `${name}: only its own usage`);
    assert.match(out, /\noptions:\n(.*\n)* {2}-h, --help +print this help\n$/, name);
  }
});

test("a group's --help lists only its subcommands", async () => {
  const { code, out } = await run(['deliveries', '--help']);
  assert.equal(code, 0);
  assert.deepEqual(
    out
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(' ').slice(1, 3).join(' ')),
    ['deliveries list', 'deliveries show'],
  );
});

test('an unknown option, a missing value, an argument too many: one line naming it, exit 2', async () => {
  const cases: Array<[string[], string]> = [
    [
      ['deliveries', 'list', '--colour', 'red'],
      'bucketflow: deliveries list: unknown option --colour (see bucketflow deliveries list --help)',
    ],
    [
      ['deliveries', 'show', 'x', '--dry-run'],
      'bucketflow: deliveries show: unknown option --dry-run (see bucketflow deliveries show --help)',
    ],
    [['redeliver', '-x'], 'bucketflow: redeliver: unknown option -x (see bucketflow redeliver --help)'],
    [
      ['targets', 'list', '--json'],
      'bucketflow: targets list: unknown option --json (see bucketflow targets list --help)',
    ],
    [
      ['events', 'add', 'b', 'arn', '--prefix'],
      'bucketflow: events add: --prefix needs a value (see bucketflow events add --help)',
    ],
    [
      ['events', 'remove', 'b', '--force=yes'],
      'bucketflow: events remove: --force takes no value (see bucketflow events remove --help)',
    ],
    [
      ['events', 'list', 'b', 'c'],
      'bucketflow: events list: unexpected argument "c" (see bucketflow events list --help)',
    ],
    [['targets', 'pause'], 'bucketflow: targets pause: missing <arn> (see bucketflow targets pause --help)'],
    [
      ['deliveries', 'frobnicate'],
      'bucketflow: unknown command "deliveries frobnicate" (see bucketflow deliveries --help)',
    ],
  ];
  const results = await Promise.all(cases.map(async ([args, message]) => [args, message, await run(args)] as const));
  for (const [args, message, { code, out, err }] of results) {
    assert.equal(code, 2, `${args.join(' ')}: ${err}`);
    assert.equal(out, '', args.join(' '));
    assert.equal(err, `${message}\n`, args.join(' '));
  }
});
