// A real Prometheus (Debian's package) scraping a real worker and a real ingest (`npm run worker`, `npm run
// ingest`, each with BUCKETFLOW_METRICS_PORT) every second, with deploy/prometheus/alerts.yml loaded: after a
// known load, rate() and histogram_quantile() through its HTTP API give what was sent; every query of
// deploy/grafana/bucketflow.json names metrics and labels the processes export and returns data; and the
// alert rules turn active for what went wrong (a failing target, an open circuit, then Temporal cut off:
// the ingest answering 503, the worker's polls failing) and for nothing else.
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileStateStore } from '../../src/state';
import { loadSettings, type Settings } from '../../src/settings';
import { eventually } from '../helpers/cli';
import { freePort } from '../helpers/dev-server';
import { spawnEntryPoint } from '../helpers/engine';
import { exportedSeries, promqlNames, startPrometheus, type PrometheusServer } from '../helpers/prometheus';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { TcpProxy } from '../helpers/tcp-proxy';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const root = path.resolve(__dirname, '../..');
const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;
const [ok, slow, bad, flaky, down, limited] = ['ok', 'slow', 'bad', 'flaky', 'down', 'limited'].map(arn);
const main = `prom-${randomUUID().slice(0, 8)}`;
const side = `${main}-side`;
const burst = `${main}-burst`;
const SLOW_MS = 300;
const LOAD = 24; // events, posted two at a time every 2/3 s (3/s)

let dir: string;
let proxy: TcpProxy;
let worker: ChildProcess;
let ingest: ChildProcess;
let prometheus: PrometheusServer;
const receivers: Record<string, Receiver> = {};
const metricsOf: Record<'worker' | 'ingest', string> = { worker: '', ingest: '' };
let ingestUrl: string;

/** Resolves once the process logged `message` on stderr; rejects if it exits first. */
function started(child: ChildProcess, message: string): Promise<void> {
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.includes(`"${message}"`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before "${message}": ${stderr}`)));
  });
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-prometheus-test-'));
  receivers.ok = await Receiver.start();
  receivers.slow = await Receiver.start([], 200, { delayMs: SLOW_MS });
  receivers.bad = await Receiver.start([], 400);
  receivers.flaky = await Receiver.start([503]); // fails its one fast attempt, then takes the durable retry
  receivers.limited = await Receiver.start();
  await writeFile(
    path.join(dir, 'config.json'),
    JSON.stringify({
      notify: {
        webhook: {
          ok: { enable: true, endpoint: receivers.ok.url },
          slow: { enable: true, endpoint: receivers.slow.url },
          limited: { enable: true, endpoint: receivers.limited.url, max_rate: 1 },
          bad: { enable: true, endpoint: receivers.bad.url },
          flaky: { enable: true, endpoint: receivers.flaky.url, fast_attempts: 1, retry_initial_interval: '1s' },
          down: {
            enable: true,
            endpoint: `http://127.0.0.1:${await freePort()}/`,
            fast_attempts: 1,
            circuit_threshold: 1,
            retry_max_duration: '30s',
          },
        },
      },
    }),
  );
  const rule = (id: string, target: string) => ({
    id,
    arn: target,
    events: ['s3:ObjectCreated:*'],
    prefix: '',
    suffix: '',
  });
  const store = new FileStateStore(dir);
  await store.put(main, [rule('1', ok), rule('2', slow), rule('3', bad)]);
  await store.put(side, [rule('4', flaky), rule('5', down)]);
  await store.put(burst, [rule('6', limited)]);
  await store.close();

  // Both reach Temporal through a proxy the last test cuts.
  const temporal = loadSettings({}).temporalAddress;
  proxy = await TcpProxy.start({ host: temporal.split(':')[0], port: Number(temporal.split(':')[1]) });
  const settings: Settings = {
    ...loadSettings({}),
    temporalAddress: proxy.address,
    dataDir: dir,
    configFile: path.join(dir, 'config.json'),
    taskQueue: `prometheus-${randomUUID()}`,
  };
  const [workerMetrics, ingestMetrics, ingestPort] = [await freePort(), await freePort(), await freePort()];
  worker = spawnEntryPoint('worker', settings, {
    BUCKETFLOW_METRICS_PORT: String(workerMetrics),
    BUCKETFLOW_SDK_METRICS_PORT: String(await freePort()),
  });
  ingest = spawnEntryPoint('ingest', settings, {
    BUCKETFLOW_METRICS_PORT: String(ingestMetrics),
    BUCKETFLOW_INGEST_PORT: String(ingestPort),
    BUCKETFLOW_INGEST_AUTH_TOKEN: 'secret',
  });
  await Promise.all([started(worker, 'worker started'), started(ingest, 'ingest listening')]);
  ingestUrl = `http://127.0.0.1:${ingestPort}/`;
  metricsOf.worker = `127.0.0.1:${workerMetrics}`;
  metricsOf.ingest = `127.0.0.1:${ingestMetrics}`;
  prometheus = await startPrometheus({
    jobs: { 'bucketflow-worker': [metricsOf.worker], 'bucketflow-ingest': [metricsOf.ingest] },
    ruleFiles: [path.join(root, 'deploy/prometheus/alerts.yml')],
  });
});

after(async () => {
  await prometheus?.stop();
  await Promise.all([stopProcess(worker), stopProcess(ingest)]);
  await proxy?.down();
  for (const receiver of Object.values(receivers)) await receiver.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function post(bucket: string, key: string): Promise<number> {
  const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key });
  const response = await fetch(ingestUrl, {
    method: 'POST',
    headers: { authorization: 'Bearer secret' },
    body: JSON.stringify({ Records: [record] }),
  });
  return response.status;
}

/** One sample's value by its labels (undefined when the query returns none). */
async function valueAt(expr: string, time?: number): Promise<number | undefined> {
  const samples = await prometheus.query(expr, time);
  assert.ok(samples.length <= 1, `${expr}: ${samples.length} samples`);
  return samples[0]?.value;
}

/** Waits until Prometheus' latest scrape of `expr` equals `value`. */
function scraped(expr: string, value: number): Promise<true> {
  return eventually(
    async () => ((await valueAt(expr)) === value ? true : undefined),
    `${expr} == ${value} in Prometheus`,
    60_000,
  );
}

const delivered = (target: string) => `sum(bucketflow_deliveries_total{target="${target}",outcome="delivered"})`;
const failed = (target: string) => `sum(bucketflow_deliveries_total{target="${target}",outcome="failed"})`;
const accepted = 'sum(bucketflow_events_accepted_total{job="bucketflow-ingest",result="started"})';
const now = () => Date.now() / 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test(
  'after a known load, rate() and histogram_quantile() through Prometheus match what was sent',
  { timeout: 180_000 },
  async () => {
    // A first event each: the series exist (and are scraped) before the measured window opens.
    assert.equal(await post(main, 'warm-up.jpg'), 202);
    assert.equal(await post(side, 'warm-up.jpg'), 202);
    assert.equal((await fetch(ingestUrl, { method: 'POST', body: '{}' })).status, 401); // an ingest refusal
    await receivers.flaky.waitForRequests(2, 60_000); // the durable retry ran
    // The down target's circuit is open now (threshold 1): the next event's fast attempt there is held.
    await scraped(`max(bucketflow_circuit_open{target="${down}"})`, 1);
    assert.equal(await post(side, 'held.jpg'), 202);
    await receivers.flaky.waitForRequests(3);
    // Two events at once to a max_rate 1 target: the second waits for its slot.
    assert.deepEqual(await Promise.all([post(burst, '1.jpg'), post(burst, '2.jpg')]), [202, 202]);
    await receivers.limited.waitForRequests(2);
    await scraped(accepted, 5);
    await scraped(`sum(bucketflow_rate_limit_waits_total{target="${limited}"})`, 1);
    await scraped(`sum(bucketflow_held_total{target="${down}",reason="circuit open"})`, 1);
    await scraped(delivered(ok), 1);
    await scraped(delivered(slow), 1);
    await scraped(failed(bad), 1);
    await scraped(delivered(flaky), 2);
    await sleep(2_000);
    const from = Math.floor(now());

    for (let i = 0; i < LOAD; i += 2) {
      const pace = sleep(667);
      assert.deepEqual(await Promise.all([post(main, `load/${i}.jpg`), post(main, `load/${i + 1}.jpg`)]), [202, 202]);
      await pace;
    }
    await scraped(accepted, 5 + LOAD);
    await scraped(delivered(ok), 1 + LOAD);
    await scraped(delivered(slow), 1 + LOAD);
    await scraped(failed(bad), 1 + LOAD);
    await sleep(2_000);
    const to = Math.ceil(now());
    const window = to - from;

    // The counters moved by exactly what was sent between the two instants.
    const moved = async (expr: string) => (await valueAt(expr, to))! - (await valueAt(expr, from))!;
    assert.equal(await moved(accepted), LOAD);
    assert.equal(await moved(delivered(ok)), LOAD);
    assert.equal(await moved(delivered(slow)), LOAD);
    assert.equal(await moved(failed(bad)), LOAD);

    // rate() over the window, times the window, is the count (within Prometheus' extrapolation to its edges).
    const near = (actual: number | undefined, expected: number, what: string) =>
      assert.ok(
        actual !== undefined && Math.abs(actual - expected) <= expected * 0.15,
        `${what}: ${actual}, expected ${expected} ±15%`,
      );
    const perWindow = async (expr: string) => ((await valueAt(expr, to)) ?? NaN) * window;
    near(
      await perWindow(`sum(rate(bucketflow_events_accepted_total{result="started"}[${window}s]))`),
      LOAD,
      'events accepted',
    );
    const byTarget = await prometheus.query(
      `sum by (target, outcome) (rate(bucketflow_deliveries_total[${window}s]))`,
      to,
    );
    const rateOf = (target: string, outcome: string) =>
      byTarget.find((s) => s.metric.target === target && s.metric.outcome === outcome)?.value;
    for (const [target, outcome] of [
      [ok, 'delivered'],
      [slow, 'delivered'],
      [bad, 'failed'],
    ])
      near((rateOf(target, outcome) ?? NaN) * window, LOAD, `${outcome} to ${target}`);
    assert.equal(rateOf(flaky, 'delivered'), 0, 'the warm-up delivery is before the window');
    near(
      await perWindow(
        `sum(rate(bucketflow_delivery_attempts_total{target="${bad}",result="permanent_error"}[${window}s]))`,
      ),
      LOAD,
      'permanent errors',
    );
    near(
      await perWindow(`sum(rate(bucketflow_delivery_attempt_seconds_count{target="${slow}"}[${window}s]))`),
      LOAD,
      'timed sends to the slow target',
    );

    // The slow receiver answers after 300 ms: its sends sit in the (0.25 s, 0.5 s] bucket; the others' below.
    const quantile = (q: number, target: string) =>
      valueAt(
        `histogram_quantile(${q}, sum by (le) (rate(bucketflow_delivery_attempt_seconds_bucket{target="${target}"}[${window}s])))`,
        to,
      );
    for (const q of [0.5, 0.95]) {
      const seconds = await quantile(q, slow);
      assert.ok(
        seconds !== undefined && seconds > 0.25 && seconds <= 0.5,
        `p${q * 100} of the slow target: ${seconds}`,
      );
    }
    const fast = await quantile(0.5, ok);
    assert.ok(fast !== undefined && fast <= 0.25, `p50 of the fast target: ${fast}`);
  },
);

/** Both processes' /metrics now, as Prometheus scrapes them. */
async function exported(): Promise<Map<string, Set<string>>> {
  const texts = await Promise.all(
    Object.values(metricsOf).map(async (address) => (await fetch(`http://${address}/metrics`)).text()),
  );
  return exportedSeries(texts.join('\n'));
}

/** Every metric `expr` names is exported, with the labels it matches on; every label it groups by is on one of them. */
function assertExported(expr: string, series: Map<string, Set<string>>, allowed: string[] = []): string[] {
  const names = promqlNames(expr);
  assert.ok(names.metrics.size > 0, `${expr}: names no metric`);
  const labels = new Set<string>();
  for (const metric of names.metrics) {
    if (allowed.includes(metric)) continue;
    assert.ok(series.has(metric), `${expr}: ${metric} is not exported`);
    for (const label of series.get(metric)!) labels.add(label);
    for (const label of names.matched.get(metric) ?? [])
      assert.ok(series.get(metric)!.has(label), `${expr}: ${metric} has no label ${label}`);
  }
  for (const label of names.grouped)
    if (!['job', 'instance'].includes(label))
      assert.ok(labels.has(label), `${expr}: no metric it names has the label ${label}`);
  return [...names.grouped].filter((label) => label !== 'le');
}

test(
  'every Grafana panel queries metrics and labels the worker and the ingest export, and gets data',
  { timeout: 120_000 },
  async () => {
    const dashboard = JSON.parse(await readFile(path.join(root, 'deploy/grafana/bucketflow.json'), 'utf8')) as {
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
      templating: { list: Array<{ name: string; definition?: string }> };
    };
    const series = await exported();
    const variable = dashboard.templating.list.find((v) => v.name === 'target')!;
    const [, metric, label] = /^label_values\((\w+), (\w+)\)$/.exec(variable.definition!)!;
    assert.ok(series.get(metric)?.has(label), `the target variable's ${metric} with ${label}`);

    // The check can fail: a misspelt metric, a label the metric lacks, a grouping no metric carries.
    assert.throws(
      () => assertExported('sum(rate(bucketflow_delivery_total[5m]))', series),
      /bucketflow_delivery_total is not exported/,
    );
    assert.throws(
      () => assertExported('bucketflow_circuit_open{outcome="x"}', series),
      /bucketflow_circuit_open has no label outcome/,
    );
    assert.throws(
      () => assertExported('sum by (reason) (bucketflow_deliveries_in_flight)', series),
      /no metric it names has the label reason/,
    );

    const queries = dashboard.panels
      .filter((p) => p.type !== 'row')
      .flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    assert.ok(queries.length >= 15, `${queries.length} queries`);
    for (const { title, expr } of queries) {
      // As Grafana sends it with every target selected and a 5-minute rate window.
      const sent = expr.replaceAll('$__rate_interval', '5m').replaceAll('$target', '.*');
      const grouped = assertExported(sent, series);
      const samples = await prometheus.query(sent);
      assert.ok(samples.length > 0, `${title}: ${sent} returned nothing`);
      for (const sample of samples)
        for (const label of grouped)
          assert.ok(label in sample.metric, `${title}: a sample without ${label}: ${JSON.stringify(sample.metric)}`);
    }
  },
);

test(
  'the alert rules evaluate on the real metrics: active for the failing target, the open circuit and a cut-off Temporal only',
  { timeout: 180_000 },
  async () => {
    const active = async () =>
      (await prometheus.alerts()).map((a) =>
        `${a.labels.alertname} ${a.labels.target ?? a.labels.instance ?? ''}`.trim(),
      );
    await eventually(
      async () => {
        const alerts = await active();
        return alerts.includes(`BucketflowDeliveriesFailed ${bad}`) &&
          alerts.includes(`BucketflowTargetFailing ${bad}`) &&
          alerts.includes(`BucketflowCircuitOpen ${down}`)
          ? true
          : undefined;
      },
      "the failing target's and the open circuit's alerts",
      60_000,
    );
    // None for the healthy targets, and none of the process alerts while Temporal answers. (The down target
    // fails every send too, but whether rate() sees two of its failures depends on timing; and a task-queue
    // backlog may show on a busy machine: its p95 is of a few dozen workflow tasks.)
    const before = await active();
    assert.deepEqual(
      before.filter((a) => a.includes(' arn:') && a !== `BucketflowTargetFailing ${down}`).sort(),
      [`BucketflowCircuitOpen ${down}`, `BucketflowDeliveriesFailed ${bad}`, `BucketflowTargetFailing ${bad}`].sort(),
    );
    for (const name of [
      'BucketflowIngestUnavailable',
      'BucketflowWorkerNotReady',
      'BucketflowIngestDown',
      'BucketflowNoDeliveries',
    ]) {
      assert.ok(!before.some((a) => a.startsWith(`${name} `) || a === name), `${name} active: ${before.join(', ')}`);
    }

    // Temporal out of reach: the ingest answers 503 and the worker's polls fail.
    // Two 503s a few scrapes apart: rate() sees a counter move only between two samples.
    await proxy.down();
    assert.equal(await post(main, 'cut-off-1.jpg'), 503);
    await sleep(3_000);
    assert.equal(await post(main, 'cut-off-2.jpg'), 503);
    let alerts: string[] = [];
    await eventually(
      async () => {
        alerts = await active();
        return alerts.includes(`BucketflowIngestUnavailable ${metricsOf.ingest}`) &&
          alerts.includes(`BucketflowWorkerNotReady ${metricsOf.worker}`)
          ? true
          : undefined;
      },
      "the ingest's and the worker's alerts",
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; active: ${alerts.join(', ')}`);
    });

    const rules = await prometheus.rules();
    assert.equal(rules.length, 9);
    for (const rule of rules) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`);
    // Every metric the rules name is one the processes export now (`up` is Prometheus' own).
    const series = await exported();
    const file = await readFile(path.join(root, 'deploy/prometheus/alerts.yml'), 'utf8');
    const exprs = [...file.matchAll(/expr: (?:\|\n((?: {10}.*\n)+)|(.*)\n)/g)].map((m) => (m[1] ?? m[2]).trim());
    assert.equal(exprs.length, 9);
    for (const expr of exprs) assertExported(expr, series, ['up']);
  },
);
