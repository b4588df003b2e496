import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { jsonLine, readableLine } from '../../src/telemetry/log';

const root = path.resolve(__dirname, '../..');
const entry = {
  time: new Date(2026, 10, 25, 9, 8, 7, 6),
  level: 'WARN' as const,
  message: 'delivery attempt failed',
  fields: { arn: 'arn:minio:sqs:us-east-1:1:webhook', attempt: 2, error: 'POST http://x/ answered 503', permanent: false, gone: undefined },
};

test('readable line: local time, level, message, then key=value (quoted when needed)', () => {
  assert.equal(
    readableLine(entry),
    '09:08:07.006 WARN  delivery attempt failed arn=arn:minio:sqs:us-east-1:1:webhook attempt=2 error="POST http://x/ answered 503" permanent=false',
  );
  assert.equal(readableLine({ ...entry, fields: { targets: [{ arn: 'a', enabled: true }] } }), '09:08:07.006 WARN  delivery attempt failed targets=[{"arn":"a","enabled":true}]');
});

test('JSON line: one object with time, level, message and the fields', () => {
  assert.deepEqual(JSON.parse(jsonLine(entry)), {
    time: entry.time.toISOString(), level: 'WARN', message: 'delivery attempt failed',
    arn: 'arn:minio:sqs:us-east-1:1:webhook', attempt: 2, error: 'POST http://x/ answered 503', permanent: false,
  });
});

/** Runs log() in a child process; `script` gives it a terminal as stderr. */
function logged(viaTerminal: boolean): string {
  const code = "require('./src/telemetry/log').log('INFO', 'worker started', { taskQueue: 'bucketflow' })";
  const node = [process.execPath, '--import', 'tsx', '-e', JSON.stringify(code)].join(' ');
  const result = viaTerminal
    ? spawnSync('script', ['-qec', `${node} 2>/dev/tty`, '/dev/null'], { cwd: root, encoding: 'utf8' })
    : spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: root, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return (viaTerminal ? result.stdout : result.stderr).trim();
}

test('JSON lines when stderr is a pipe or a file (the default)', () => {
  const line = JSON.parse(logged(false));
  assert.equal(line.message, 'worker started');
  assert.equal(line.taskQueue, 'bucketflow');
});

test('a readable line when stderr is a terminal', { skip: spawnSync('script', ['--version']).error ? 'no script(1) here' : false }, () => {
  assert.match(logged(true), /^\d\d:\d\d:\d\d\.\d{3} INFO {2}worker started taskQueue=bucketflow$/);
});
