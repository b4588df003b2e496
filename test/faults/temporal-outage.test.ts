// Temporal unreachable for ~20 s in the middle of a stream of events: a worker with
// its ingest (`BUCKETFLOW_INGEST=on npm run worker`) reaches Temporal through a loopback proxy the test cuts.
// A sender posts events the way MinIO does (retrying until accepted) to one webhook. Afterwards every event
// has arrived, at most 1% of them twice (a task re-run after the outage does not send again what this
// worker already sent), and the worker's log says the outage began (with its cause) and ended, in a
// handful of lines instead of the SDK core's thousands of warnings.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileStateStore } from '../../src/state';
import { loadSettings } from '../../src/settings';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { endpoints } from '../../scripts/stack/endpoints';
import { eventually } from '../helpers/cli';
import { freePort } from '../helpers/dev-server';
import { spawnWorker } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { TcpProxy } from '../helpers/tcp-proxy';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const EVENTS_PER_SECOND = 15;
const BEFORE_MS = 8_000;
const OUTAGE_MS = 20_000;
const AFTER_MS = 10_000;
/** A slow target: sends are in flight when the proxy is cut, so their workflow tasks' completions are lost. */
const RECEIVER_DELAY_MS = 1_000;
const bucket = `outage-${randomUUID().slice(0, 8)}`;

let dir: string;
let proxy: TcpProxy;
let worker: ChildProcess;
let receiver: Receiver;
let workerLog = '';
/** The worker's log from the cut until 10 s after Temporal returned. */
let outageLog = '';
let sent = 0;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-outage-'));
  receiver = await Receiver.start([], 200, { delayMs: RECEIVER_DELAY_MS });
  const configFile = path.join(dir, 'config.json');
  await writeFile(
    configFile,
    JSON.stringify({ notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } } }),
  );
  const store = new FileStateStore(dir);
  await store.put(bucket, [
    { id: '1', arn: 'arn:minio:sqs:us-east-1:1:webhook', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
  ]);
  await store.close();
  const [host, port] = endpoints.temporal.split(':');
  proxy = await TcpProxy.start({ host, port: Number(port) });
  const ingestPort = await freePort();
  worker = spawnWorker(
    {
      ...loadSettings({}),
      temporalAddress: proxy.address,
      configFile,
      dataDir: dir,
      taskQueue: `outage-${randomUUID()}`,
    },
    {
      BUCKETFLOW_INGEST: 'on',
      BUCKETFLOW_INGEST_PORT: String(ingestPort),
    },
  );
  worker.stderr!.on('data', (d: Buffer) => (workerLog += d));
  await eventually(
    async () => {
      if (worker.exitCode !== null) assert.fail(`the worker exited: ${workerLog}`);
      return workerLog.includes('worker started') ? true : undefined;
    },
    'the worker to start',
    60_000,
  );

  // The stream: EVENTS_PER_SECOND new events, each posted until accepted (as MinIO retries its queue).
  const ingestUrl = `http://127.0.0.1:${ingestPort}/`;
  const posting: Array<Promise<void>> = [];
  const postUntilAccepted = async (body: string) => {
    for (;;) {
      const status = await fetch(ingestUrl, { method: 'POST', body }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 202) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  const started = Date.now();
  const stream = setInterval(() => {
    const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key: `object-${sent++}` });
    posting.push(postUntilAccepted(JSON.stringify({ Records: [record] })));
  }, 1000 / EVENTS_PER_SECOND);
  await new Promise((resolve) => setTimeout(resolve, BEFORE_MS));
  const logBefore = workerLog.length;
  await proxy.down();
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  await proxy.up();
  await new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, BEFORE_MS + OUTAGE_MS + AFTER_MS - (Date.now() - started))),
  );
  clearInterval(stream);
  outageLog = workerLog.slice(logBefore);
  await Promise.all(posting);
  // Every event delivered, then time for tasks re-run after the outage to send (again, or not).
  await eventually(
    async () =>
      new Set(receiver.requests.map((r) => r.headers[EVENT_ID_HEADER.toLowerCase()])).size >= sent ? true : undefined,
    'every event at the receiver',
    120_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 15_000));
});

after(async () => {
  if (worker?.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
  await proxy?.down();
  await receiver?.close();
  await rm(dir, { recursive: true, force: true });
});

test('every event arrives, at most 1% of them twice', () => {
  const ids = receiver.requests.map((r) => String(r.headers[EVENT_ID_HEADER.toLowerCase()]));
  const distinct = new Set(ids).size;
  const duplicates = ids.length - distinct;
  console.log(
    `# ${sent} events, ${ids.length} requests, ${distinct} distinct, ${duplicates} duplicates (${((100 * duplicates) / sent).toFixed(1)}%)`,
  );
  assert.equal(distinct, sent);
  assert.ok(duplicates <= sent * 0.01, `${duplicates} duplicates of ${sent} events`);
});

test('the outage is logged: its start with the cause, its end, and repeated SDK warnings counted, not printed', () => {
  const lines = outageLog.split('\n').filter(Boolean);
  console.log(`# ${lines.length} log lines from the cut until 10 s after Temporal returned:`);
  const parsed = lines.map(
    (line) => JSON.parse(line) as { level: string; message: string; cause?: string; repeated?: number },
  );
  for (const { level, message, ...rest } of parsed.slice(0, 40))
    console.log(`#   ${level} ${message} ${JSON.stringify(rest).slice(0, 160)}`);
  const down = parsed.find((l) => l.message === 'Temporal unreachable');
  assert.ok(down?.cause, `an outage line with its cause in:\n${outageLog}`);
  assert.ok(
    parsed.some((l) => l.message === 'Temporal reachable again'),
    `the end of the outage in:\n${outageLog}`,
  );
  assert.ok(lines.length <= 40, `${lines.length} lines:\n${lines.slice(0, 20).join('\n')}`);
});
