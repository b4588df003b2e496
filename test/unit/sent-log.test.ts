// The sends shared between workers (src/state/sent-log.ts, src/targets/send-dedupe.ts) in the embedded
// store's files: what one worker's record was told it sent, another worker's record knows after it read
// the log; lines are read only once complete; files rotate, and a gone worker's stale file is deleted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FileStateStore, FileSentLog, SENT_LOG_HORIZON_MS } from '../../src/state';
import { SendDedupe } from '../../src/targets/send-dedupe';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-sent-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test("one worker's sends are known to another worker sharing the rules store's home", async () => {
  const home = await mkdtemp(path.join(dir, 'home-'));
  const [first, second] = [new SendDedupe(), new SendDedupe()];
  first.share(new FileStateStore(home).sentLog());
  second.share(new FileStateStore(home).sentLog());
  first.add('run-1', 'arn:minio:sqs::1:webhook');
  first.addAll([
    ['run-2', 'arn:minio:sqs::1:webhook'],
    ['run-2', 'arn:minio:sqs::1:redis'],
  ]);
  assert.equal(second.has('run-1', 'arn:minio:sqs::1:webhook'), false, 'not known before the log was read');
  await second.learn();
  assert.equal(second.has('run-1', 'arn:minio:sqs::1:webhook'), true);
  assert.equal(second.has('run-2', 'arn:minio:sqs::1:redis'), true);
  assert.equal(second.has('run-1', 'arn:minio:sqs::1:redis'), false, 'only what was sent');
  // And back: each reads only the others' files, each line once.
  second.add('run-3', 'arn:minio:sqs::1:amqp');
  await first.learn();
  assert.equal(first.has('run-3', 'arn:minio:sqs::1:amqp'), true);
  await Promise.all([first.close(), second.close()]);
});

test('a line still being written is read once it is complete', async () => {
  const home = await mkdtemp(path.join(dir, 'partial-'));
  const reader = new FileSentLog(home);
  await mkdir(reader.dir);
  const file = path.join(reader.dir, '999-abcdef01.0.log');
  await writeFile(file, 'run-a arn-1\nrun-b ar');
  assert.deepEqual(await reader.readNew(), ['run-a arn-1']);
  await appendFile(file, 'n-2\n');
  assert.deepEqual(await reader.readNew(), ['run-b arn-2']);
  assert.deepEqual(await reader.readNew(), []);
});

test('a worker rotates its file, keeping the two newest; a gone worker’s stale file is deleted', async () => {
  const home = await mkdtemp(path.join(dir, 'rotate-'));
  const writer = new FileSentLog(home, 2);
  for (let n = 0; n < 7; n++) writer.append([`run-${n} arn`]);
  await new Promise((resolve) => setTimeout(resolve, 50)); // the unlink of a rotated-away file is not awaited
  const files = (await readdir(path.join(home, 'sent'))).sort();
  assert.equal(files.length, 2, files.join(' '));
  assert.match(files[0], /\.2\.log$/);
  assert.match(files[1], /\.3\.log$/);
  const reader = new FileSentLog(home);
  assert.deepEqual((await reader.readNew()).sort(), ['run-4 arn', 'run-5 arn', 'run-6 arn']);
  await writer.close();

  const stale = path.join(home, 'sent', files[0]);
  const old = (Date.now() - SENT_LOG_HORIZON_MS - 60_000) / 1000;
  await utimes(stale, old, old);
  await reader.readNew();
  assert.deepEqual(await readdir(path.join(home, 'sent')), [files[1]]);
});

test('the record stays bounded: the oldest sends are forgotten first', () => {
  const record = new SendDedupe(3);
  for (const run of ['a', 'b', 'c', 'd']) record.add(run, 'arn');
  assert.equal(record.has('a', 'arn'), false);
  assert.deepEqual(
    ['b', 'c', 'd'].map((run) => record.has(run, 'arn')),
    [true, true, true],
  );
});

test('a failing shared log never fails a send: the record still knows it, and the failure is one warning', async () => {
  const home = await mkdtemp(path.join(dir, 'failing-'));
  await writeFile(path.join(home, 'sent'), 'a file where the folder should be');
  // In a process of its own: the warning is read from its stderr, as the logger writes it.
  const program = `
    const { SendDedupe } = require('./src/targets/send-dedupe');
    const { FileSentLog } = require('./src/state/sent-log');
    (async () => {
      const record = new SendDedupe();
      record.share(new FileSentLog(${JSON.stringify(home)}));
      record.add('run-1', 'arn');
      record.add('run-2', 'arn');
      await record.learn();
      process.stdout.write(String(record.has('run-1', 'arn') && record.has('run-2', 'arn')));
      await record.close();
    })();`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', program], {
    cwd: path.resolve(__dirname, '../..'),
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'true', 'both sends are known');
  const warnings = result.stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.equal(warnings.length, 1, result.stderr);
  assert.equal(warnings[0].message, 'shared sent log failing: a task re-run on another worker may send again');
  assert.equal(warnings[0].during, 'write');
});
