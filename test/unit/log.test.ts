// The logger's real output, read from a child process's stderr: JSON lines on a pipe, a readable line on a
// terminal, child loggers' bindings, the level threshold, and no secret in any line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '../..');
const noScript = spawnSync('script', ['--version']).error ? 'no script(1) here' : false;

/** Runs `code` (with `log`, `childLogger` and `setLogLevel` in scope) in a child process; `script` gives it a terminal
 * as stderr. */
function logged(code: string, viaTerminal = false): string {
  const program = `const { log, childLogger, setLogLevel } = require('./src/telemetry/log'); ${code}`;
  const node = [process.execPath, '--import', 'tsx', '-e', JSON.stringify(program)].join(' ');
  const result = viaTerminal
    ? spawnSync('script', ['-qec', `${node} 2>/dev/tty`, '/dev/null'], { cwd: root, encoding: 'utf8' })
    : spawnSync(process.execPath, ['--import', 'tsx', '-e', program], { cwd: root, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  // eslint-disable-next-line no-control-regex -- pino-pretty colours a terminal's lines
  return (viaTerminal ? result.stdout.replace(/\x1b\[\d+m/g, '').replace(/\r/g, '') : result.stderr).trim();
}

const jsonLines = (code: string) =>
  logged(code)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('JSON lines when stderr is a pipe or a file (the default): time, level, message and the fields', () => {
  const [line] = jsonLines(
    "log('WARN', 'delivery attempt failed', { arn: 'arn:minio:sqs:us-east-1:1:webhook', attempt: 2, permanent: false })",
  );
  assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(
    { ...line, time: undefined },
    {
      time: undefined,
      level: 'WARN',
      message: 'delivery attempt failed',
      arn: 'arn:minio:sqs:us-east-1:1:webhook',
      attempt: 2,
      permanent: false,
    },
  );
});

test('a child logger carries its bindings on every line and follows the level set later', () => {
  const lines = jsonLines(
    "const c = childLogger({ source: 'temporal' }); log('DEBUG', 'hidden', {}, c); setLogLevel('DEBUG'); log('DEBUG', 'shown', { n: 1 }, c); setLogLevel('WARN'); log('INFO', 'hidden too')",
  );
  assert.deepEqual(
    lines.map(({ message, source, level, n }) => ({ message, source, level, n })),
    [{ message: 'shown', source: 'temporal', level: 'DEBUG', n: 1 }],
  );
});

test('no secret in a line: secret fields censored, credentials in any string (the message too) redacted', () => {
  const [line] = jsonLines(`log('INFO', 'connect nats://user:canary-pw-1@127.0.0.1:4222 failed', {
    password: 'canary-pw-2', nested: { token: 'canary-token-3' }, targets: [{ arn: 'a', config: { auth_token: 'canary-auth-4' } }],
    endpoint: 'http://127.0.0.1:1/hook?token=canary-query-5', error: 'host=db user=u sslpassword=canary-ssl-6 dbname=e',
  })`);
  const text = JSON.stringify(line);
  for (const canary of [
    'canary-pw-1',
    'canary-pw-2',
    'canary-token-3',
    'canary-auth-4',
    'canary-query-5',
    'canary-ssl-6',
  ])
    assert.ok(!text.includes(canary), `${canary} in ${text}`);
  assert.equal(line.message, 'connect nats://user:REDACTED@127.0.0.1:4222 failed');
  assert.equal(line.endpoint, 'http://127.0.0.1:1/hook?token=REDACTED');
  assert.deepEqual(line.nested, { token: 'REDACTED' });
});

test('a long string (the message, any field) is cut with a marker, after a redaction that still sees a credential the cut splits', () => {
  const [line] = jsonLines(`const long = 'a-?'.repeat(350000);
    log('WARN', 'skipped ' + long, {
      reason: long,
      url: 'x'.repeat(2030) + ' http://u:' + 'canary-cut-pw'.repeat(10) + '@h/',
      deep: { a: { b: { c: { d: { e: 'http://u:canary-deep@h' } } } } },
    })`);
  const text = JSON.stringify(line);
  assert.ok(text.length < 10_000, `${text.length} characters`);
  assert.doesNotMatch(text, /canary/);
  assert.equal(line.reason, `${'a-?'.repeat(700).slice(0, 2048)}... [cut: 1050000 characters in all]`);
  assert.match(String(line.message), /^skipped (a-\?)+\.\.\. \[cut: 1050008 characters in all\]$/);
  assert.equal(String(line.url).length, 2048 + '... [cut: 2172 characters in all]'.length);
  assert.ok(String(line.url).startsWith(`${'x'.repeat(2030)} http://u:REDAC`), String(line.url).slice(2020));
  assert.deepEqual(line.deep, { a: { b: { c: { d: '[nested deeper than 4 levels: not logged]' } } } });
});

test('a readable line when stderr is a terminal', { skip: noScript }, () => {
  assert.match(
    logged("log('INFO', 'worker started', { taskQueue: 'bucketflow', password: 'canary-pw' })", true),
    /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: worker started \{"taskQueue":"bucketflow","password":"REDACTED"\}$/,
  );
});
