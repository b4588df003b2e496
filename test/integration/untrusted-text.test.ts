// Object keys are written by whoever uploads (or forges an event), so what shows them must not be driven by them:
// a real worker (`npm run worker` with its ingest, in the high-volume mode) takes a body of events whose keys
// carry newlines, terminal escape sequences, C1 controls and a bidirectional override; the batch's summary and
// details for the Web UI show them escaped while its memo keeps them exact; `deliveries list|show` (the real CLI)
// print them escaped, as tables and as JSON; and the worker logs no TMPRL1103 memo warning: the memo is bounded
// by design (src/delivery/batch-index.ts), not 2 KB.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { buildEvent } from '../../src/events';
import { cliFor, eventually } from '../helpers/cli';
import { oneWebhook, spawnEntryPoint, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { freePort } from '../helpers/target-config';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const bucket = uniqueBucket('untrusted');
/** A newline that fakes a row, a screen clear, a window title, a C1 CSI, a right-to-left override. */
const NASTY = 'evil\n2030-01-01 00:00:00Z  delivered  fake/row\x1b[2J\x1b]0;pwned\x07\u009b31m\u202etxt.exe';
const EVENTS = 150;
const keyOf = (n: number) => `uploads/2026/12/05/${n}/${NASTY}`;
// What no line of output may carry raw: C0 but the line break, DEL, C1, bidirectional marks.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let receiver: Receiver;
let engine: Engine;
let worker: ChildProcess;
let workerLog = '';
let batchId: string;
const records = Array.from({ length: EVENTS }, (_, n) =>
  buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: keyOf(n), size: 1 }),
);

before(async () => {
  receiver = await Receiver.start();
  // The config, the rules and a task queue of its own; the worker that serves them is the real one, below.
  engine = await startEngine({ ...oneWebhook(receiver.url, bucket), workers: 0 });
  const port = await freePort();
  worker = spawnEntryPoint('worker', engine.settings, {
    BUCKETFLOW_INGEST: 'on',
    BUCKETFLOW_INGEST_PORT: String(port),
    BUCKETFLOW_BATCH_MAX_EVENTS: '200',
  });
  await new Promise<void>((resolve, reject) => {
    worker.stderr!.on('data', (chunk: Buffer) => {
      workerLog += chunk;
      if (workerLog.includes('"worker started"')) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before it started:\n${workerLog}`)));
  });
  // One body of events with those keys, to the worker's ingest: one batch, delivered.
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Records: records }),
  });
  assert.equal(response.status, 202, await response.clone().text());
  const { accepted } = (await response.json()) as { accepted: Array<{ workflowId: string }> };
  const batches = [...new Set(accepted.map((a) => a.workflowId))];
  assert.equal(batches.length, 1, 'one body, one batch');
  batchId = batches[0];
  await engine.plainClient.temporal.workflow.getHandle(batchId).result();
  assert.equal(receiver.requests.length, EVENTS);
});
after(async () => {
  if (worker.exitCode === null) {
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
  await engine.stop();
  await receiver.close();
});

test(
  "a batch of events with control characters in their keys: escaped in the Web UI's summary and details, exact in the memo, no memo warning",
  { timeout: 120_000 },
  async () => {
    const description = await engine.plainClient.temporal.workflow.getHandle(batchId).describe();
    const summary = (await description.staticSummary()) ?? '';
    const details = (await description.staticDetails()) ?? '';
    assert.doesNotMatch(summary, RAW_CONTROL);
    assert.doesNotMatch(summary, /\n/);
    assert.doesNotMatch(details, RAW_CONTROL);
    // One Markdown row per event (the details stop at ~16 KB, the rest "more in the memo"): no key ends its row.
    const [, , ...rows] = details.split('\n');
    const more = /^\| \.\.\. \| (\d+) more in the memo \| \|$/.exec(rows.at(-1) ?? '');
    const eventRows = more ? rows.slice(0, -1) : rows;
    for (const row of eventRows)
      assert.match(row, /^\| [0-9a-f]{32} \| s3:ObjectCreated:Put \| [^|]*\/evil\\n2030-[^|]*txt\.exe \|$/);
    assert.equal(eventRows.length + Number(more?.[1] ?? 0), EVENTS);
    assert.ok(
      details.includes(
        `${bucket}/uploads/2026/12/05/7/evil\\n2030-01-01 00:00:00Z  delivered  fake/row\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202etxt.exe |`,
      ),
      details.slice(0, 600),
    );
    const memo = description.memo as { events: Array<{ key: string }> };
    assert.deepEqual(
      memo.events.map((e) => e.key),
      records.map((_, n) => keyOf(n)),
      'the memo keeps the keys exact (lookups compare them)',
    );

    // The worker's SDK checks every start it sends: this memo is over Temporal's 2 KB warning limit, within the
    // design's bound.
    assert.ok(JSON.stringify(memo).length > 2_048, 'a memo over 2 KB');
    await new Promise((resolve) => setTimeout(resolve, 500)); // the worker's log lines of this start are written
    assert.doesNotMatch(workerLog, /TMPRL1103/);
  },
);

test(
  'deliveries list and show print the keys escaped: one row per event, no escape sequence reaches the terminal; JSON keeps the value',
  { timeout: 120_000 },
  async () => {
    const cli = cliFor(engine.settings);
    const list = await eventually(async () => {
      const result = await cli('deliveries', 'list', '--bucket', bucket, '--limit', '5');
      return result.code === 0 && result.out.split('\n').length > 1 ? result : undefined;
    }, 'the batch in visibility');
    const lines = list.out.split('\n');
    assert.equal(lines.length, 1 + 5, `a header and five rows:\n${list.out}`);
    for (const line of lines) assert.doesNotMatch(line, RAW_CONTROL);
    assert.match(
      lines[1],
      /evil\\n2030-01-01 00:00:00Z {2}delivered {2}fake\/row\\x1b\[2J\\x1b\]0;pwned\\x07\\x9b31m\\u202etxt\.exe/,
    );

    const json = await cli('deliveries', 'list', '--bucket', bucket, '--limit', '5', '--json');
    assert.equal(json.code, 0, json.err);
    assert.doesNotMatch(json.out, RAW_CONTROL);
    const rows = JSON.parse(json.out) as Array<{ key: string }>;
    assert.ok(
      rows.every((row) => row.key.endsWith(NASTY)),
      'JSON carries the exact key (escaped as JSON)',
    );

    const show = await cli('deliveries', 'show', `${bucket}/${keyOf(3)}`);
    assert.equal(show.code, 0, show.err);
    for (const line of show.out.split('\n')) assert.doesNotMatch(line, RAW_CONTROL);
    assert.match(show.out, /^event {10}s3:ObjectCreated:Put .*\/3\/evil\\n2030-01-01 .*txt\.exe$/m);
  },
);
