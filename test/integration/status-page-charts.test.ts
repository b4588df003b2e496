// The status page's chart, per-target figures and search in Debian's chromium, with JavaScript off (the page
// has none): after known events to a real engine (some delivered, one failing, one partial, one matching no
// rule), the chart's bars and totals, each target's success rate and send counts, and the search result (the
// same text `bucketflow deliveries show` prints, found by workflow id, event id or bucket/key) match them.
import assert from 'node:assert/strict';
import { cliFor, eventually } from '../helpers/cli';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { openStatusPage, type StatusPage } from '../helpers/status-page';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;
const bucket = uniqueBucket('charts');
let engine: Engine;
let status: StatusPage;
const receivers: Record<string, Receiver> = {};

before(async () => {
  receivers.ok = await Receiver.start();
  receivers.bad = await Receiver.start([], 400);
  engine = await startEngine({
    notify: {
      webhook: {
        ok: { enable: true, endpoint: receivers.ok.url },
        bad: { enable: true, endpoint: receivers.bad.url, fast_attempts: 1 },
      },
    },
    rules: {
      [bucket]: [
        { id: '1', arn: arn('ok'), events: ['s3:ObjectCreated:*'], prefix: '', suffix: '.jpg' },
        { id: '2', arn: arn('bad'), events: ['s3:ObjectCreated:*'], prefix: 'b/', suffix: '' },
      ],
    },
  });
  status = await openStatusPage(engine, { javaScript: false });
});

after(async () => {
  await status?.close();
  await engine?.stop();
  for (const receiver of Object.values(receivers)) await receiver.close();
});

/** Posts one event to the ingest, waits for its delivery to end; its workflow and event ids. */
async function deliver(key: string): Promise<{ workflowId: string; eventId: string }> {
  const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key });
  const response = await fetch(status.base, {
    method: 'POST',
    headers: { authorization: `Bearer ${status.token}` },
    body: JSON.stringify({ Records: [record] }),
  });
  assert.equal(response.status, 202);
  const [accepted] = ((await response.json()) as { accepted: Array<{ workflowId: string; eventId: string }> }).accepted;
  await engine.plainClient.temporal.workflow
    .getHandle(accepted.workflowId)
    .result()
    .catch(() => {});
  return accepted;
}

test(
  "the chart, the targets' figures and the search match the deliveries posted; no JavaScript needed",
  { timeout: 180_000 },
  async () => {
    const started = Date.now();
    for (const key of ['a/1.jpg', 'a/2.jpg', 'a/3.jpg']) await deliver(key); // ok only: delivered
    await deliver('b/1.txt'); // bad only: failed
    const partial = await deliver('b/2.jpg'); // both: partial
    await deliver('c/1.txt'); // no rule: no-targets
    const expected = { delivered: 3, partial: 1, failed: 1, 'no-targets': 1, 'in progress': 0 };

    const { page } = status;
    // Visibility catches up within a moment: reload until the legend counts every delivery.
    await eventually(async () => {
      await page.goto(`${status.base}/status`);
      const total = await page.$$eval('#legend [data-total]', (spans: unknown[]) =>
        spans.reduce((n: number, s) => n + Number((s as { dataset: { total: string } }).dataset.total), 0),
      );
      return total === 6 ? true : undefined;
    }, 'the six deliveries in the chart');

    const bars = await page.$$eval('#chart rect.bar', (rects: unknown[]) =>
      rects.map((r) => ({ ...(r as { dataset: Record<string, string> }).dataset })),
    );
    for (const [series, count] of Object.entries(expected)) {
      assert.equal(
        bars.filter((b) => b.status === series).reduce((n, b) => n + Number(b.count), 0),
        count,
        `${series} in the bars`,
      );
      assert.equal(
        await page.$eval(
          `#legend [data-status="${series}"]`,
          (s: unknown) => (s as { dataset: { total: string } }).dataset.total,
        ),
        String(count),
        `${series} in the legend`,
      );
    }
    for (const bar of bars) {
      const minute = Date.parse(bar.minute);
      assert.ok(
        minute >= Math.floor(started / 60_000) * 60_000 && minute <= Date.now(),
        `a bar at ${bar.minute}, in the minutes the events were posted`,
      );
    }
    assert.equal(
      await page.$eval('meta[http-equiv="refresh"]', (m: unknown) => (m as { content: string }).content),
      '30',
      'the page reloads itself',
    );

    // Per target: this hour's finished deliveries and failures (all workers), this worker's sends and times.
    const row = (id: string) => `#targets tr[data-arn="${arn(id)}"]`;
    assert.equal(await status.text(`${row('ok')} .success`), '100% of 4');
    assert.equal(await status.text(`${row('bad')} .success`), '0% of 2');
    assert.equal(await status.text(`${row('ok')} .sends`), '4/4');
    assert.equal(await status.text(`${row('bad')} .sends`), '0/2');
    for (const id of ['ok', 'bad']) {
      assert.match(await status.text(`${row(id)} .p50`), /^\d+ ms$/);
      assert.match(await status.text(`${row(id)} .p95`), /^\d+ ms$/);
      assert.equal(await status.text(`${row(id)} .in-flight`), '0');
      assert.equal(await status.text(`${row(id)} .circuit`), 'closed');
    }

    // The search box, by workflow id, event id and bucket/key: the delivery as `deliveries show` prints it.
    const show = await cliFor(engine.settings)('deliveries', 'show', partial.workflowId);
    assert.equal(show.code, 0, show.err);
    for (const q of [partial.workflowId, partial.eventId, `${bucket}/b/2.jpg`]) {
      await page.goto(`${status.base}/status`);
      await page.type('#search input[name="q"]', q);
      await Promise.all([page.waitForNavigation(), page.click('#search button')]);
      assert.equal(
        await page.$eval(
          '#search-result',
          (d: unknown) => (d as { dataset: { workflowId: string } }).dataset.workflowId,
        ),
        partial.workflowId,
        q,
      );
      assert.equal(
        (await status.text('#search-result pre')).trim(),
        show.out,
        `the search for ${q} shows what deliveries show prints`,
      );
      assert.match(
        await status.text('#search-result pre'),
        new RegExp(`${arn('bad').replace(/\./g, '\\.')}\\s+failed`),
      );
      assert.equal(
        await page.$('meta[http-equiv="refresh"]'),
        null,
        'a search result stays until the operator leaves it',
      );
    }
    assert.equal(
      await page.$eval('#search-result a', (a: unknown) => (a as { href: string }).href),
      `http://127.0.0.1:8233/namespaces/default/workflows/${partial.workflowId}`,
    );

    await page.goto(`${status.base}/status?q=${encodeURIComponent(`${bucket}/nothing.jpg`)}`);
    assert.equal(await status.text('#search-error'), `search: no delivery of object ${bucket}/nothing.jpg`);
  },
);
