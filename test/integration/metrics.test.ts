// The worker with its ingest (`BUCKETFLOW_INGEST=on npm run worker`) as a real process with
// BUCKETFLOW_METRICS_PORT set: one scrape of /metrics shows what the ingest and the deliveries did, and the
// Temporal SDK's own metrics.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileStateStore } from '../../src/state';
import { eventually } from '../helpers/cli';
import { freePort } from '../helpers/dev-server';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const root = path.resolve(__dirname, '../..');
const ok = 'arn:minio:sqs:us-east-1:ok:webhook';
const bad = 'arn:minio:sqs:us-east-1:bad:webhook';
const flaky = 'arn:minio:sqs:us-east-1:flaky:webhook';
let dir: string;
let worker: ChildProcess;
let receivers: Receiver[];
let ingestUrl: string;
let metricsUrl: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-metrics-'));
  receivers = [await Receiver.start(), await Receiver.start([], 400), await Receiver.start([503])];
  await writeFile(
    path.join(dir, 'config.json'),
    JSON.stringify({
      notify: {
        webhook: {
          ok: { enable: true, endpoint: receivers[0].url },
          bad: { enable: true, endpoint: receivers[1].url },
          flaky: { enable: true, endpoint: receivers[2].url, fast_retry_interval: '10ms' },
        },
      },
    }),
  );
  const store = new FileStateStore(dir);
  await store.put('metrics', [
    { id: '1', arn: ok, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
    { id: '2', arn: bad, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
    { id: '3', arn: flaky, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
  ]);
  const [ingestPort, metricsPort] = [await freePort(), await freePort()];
  ingestUrl = `http://127.0.0.1:${ingestPort}/`;
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      BUCKETFLOW_INGEST: 'on',
      BUCKETFLOW_INGEST_PORT: String(ingestPort),
      BUCKETFLOW_INGEST_AUTH_TOKEN: 'secret',
      BUCKETFLOW_METRICS_PORT: String(metricsPort),
      BUCKETFLOW_SDK_METRICS_PORT: String(await freePort()),
      BUCKETFLOW_CONFIG: path.join(dir, 'config.json'),
      BUCKETFLOW_DATA_DIR: dir,
      BUCKETFLOW_TASK_QUEUE: `metrics-${randomUUID()}`,
    },
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    worker.stderr!.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.includes('worker started')) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`worker exited ${code}: ${stderr}`)));
  });
});

after(async () => {
  if (worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
  for (const receiver of receivers) await receiver.close();
  await rm(dir, { recursive: true, force: true });
});

/** `name{labels} value` lines as a map. */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  return new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const at = l.lastIndexOf(' ');
        return [l.slice(0, at), Number(l.slice(at + 1))];
      }),
  );
}

test(
  '/metrics counts ingest results, deliveries by target and outcome, attempts by result (success, retryable, permanent), attempt latency, and has the SDK metrics',
  { timeout: 90_000 },
  async () => {
    const post = (body: string, token?: string) =>
      fetch(ingestUrl, { method: 'POST', body, headers: token ? { authorization: `Bearer ${token}` } : {} }).then(
        (r) => r.status,
      );
    const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'metrics', key: 'a.jpg' });
    assert.equal(await post(JSON.stringify({ Records: [record] }), 'secret'), 202);
    assert.equal(await post(JSON.stringify({ Records: [record] }), 'secret'), 202); // the same event again
    assert.equal(await post('{not json', 'secret'), 400);
    assert.equal(await post(JSON.stringify({ Records: [record] })), 401);
    await receivers[0].waitForRequests(1);

    const seen = await eventually(async () => {
      const m = await scrape();
      const done =
        m.get(`bucketflow_deliveries_total{target="${bad}",outcome="failed"}`) === 1 &&
        m.get(`bucketflow_deliveries_total{target="${flaky}",outcome="delivered"}`) === 1;
      return done ? m : undefined;
    }, 'the failed delivery in /metrics');
    assert.equal(seen.get('bucketflow_events_accepted_total{result="started"}'), 1);
    assert.equal(seen.get('bucketflow_events_accepted_total{result="duplicate"}'), 1);
    assert.equal(seen.get('bucketflow_events_rejected_total{reason="bad_request"}'), 1);
    assert.equal(seen.get('bucketflow_events_rejected_total{reason="unauthorized"}'), 1);
    assert.equal(seen.get(`bucketflow_deliveries_total{target="${ok}",outcome="delivered"}`), 1);
    assert.equal(seen.get(`bucketflow_delivery_attempts_total{target="${bad}",result="permanent_error"}`), 1);
    // The flaky target answered 503 once (a retryable error, then retried), then 200.
    assert.equal(seen.get(`bucketflow_delivery_attempts_total{target="${flaky}",result="retryable_error"}`), 1);
    assert.equal(seen.get(`bucketflow_delivery_attempts_total{target="${flaky}",result="success"}`), 1);
    assert.equal(seen.get(`bucketflow_delivery_attempt_seconds_count{target="${ok}"}`), 1);
    assert.equal(seen.get(`bucketflow_deliveries_in_flight{target="${ok}"}`), 0);
    assert.ok(
      [...seen.keys()].some((name) => name.startsWith('temporal_')),
      "the Temporal SDK exporter's metrics are appended",
    );
    assert.ok(seen.has('process_cpu_seconds_total'));
  },
);
