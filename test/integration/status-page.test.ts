// The ingest's status page in a real headless browser (Debian's chromium driven by puppeteer-core; the test
// installs the package through the stack's apt helper, never a downloaded browser): what it shows about a
// real engine, and its redeliver button starting a real redelivery that reaches the target.
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { redeliveryIdOf } from '../../src/operator/deliveries/redeliver';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { eventually } from '../helpers/cli';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { openStatusPage, type StatusPage } from '../helpers/status-page';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;
const bucket = uniqueBucket('status');
let engine: Engine;
let status: StatusPage;
let base: string;
let page: Page;
const receivers: Record<string, Receiver> = {};

before(async () => {
  receivers.ok = await Receiver.start();
  receivers.flaky = await Receiver.start([400]); // refuses the first event, takes the redelivery
  receivers.twice = await Receiver.start([400, 400]); // refuses the first event and its first redelivery
  engine = await startEngine({
    notify: {
      webhook: {
        ok: { enable: true, endpoint: receivers.ok.url },
        flaky: { enable: true, endpoint: receivers.flaky.url, fast_attempts: 1 },
        twice: { enable: true, endpoint: receivers.twice.url, fast_attempts: 1 },
      },
    },
    rules: {
      [bucket]: [
        { id: '1', arn: arn('ok'), events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
        { id: '2', arn: arn('flaky'), events: ['s3:ObjectCreated:*'], prefix: 'in/', suffix: '.jpg' },
        { id: '3', arn: arn('twice'), events: ['s3:ObjectCreated:*'], prefix: 'twice/', suffix: '' },
      ],
    },
  });
  status = await openStatusPage(engine);
  ({ base, page } = status);
});

after(async () => {
  await status?.close();
  await engine?.stop();
  for (const receiver of Object.values(receivers)) await receiver.close();
});

const text = (selector: string) => status.text(selector);

test(
  'the status page shows targets, rules, counts and the failed delivery; its redeliver button redelivers',
  { timeout: 180_000 },
  async () => {
    assert.equal((await fetch(`${base}/status`)).status, 401, 'the token protects the page');

    const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key: 'in/cat.jpg' });
    const response = await fetch(base, {
      method: 'POST',
      headers: { authorization: 'Bearer secret' },
      body: JSON.stringify({ Records: [record] }),
    });
    assert.equal(response.status, 202);
    const [{ workflowId }] = ((await response.json()) as { accepted: Array<{ workflowId: string }> }).accepted;
    await engine.plainClient.temporal.workflow
      .getHandle(workflowId)
      .result()
      .catch(() => {});

    // Visibility catches up within a moment: reload until the failed delivery is listed and counted (the list and
    // the count are separate queries; on Elasticsearch one may see a refresh the other has not yet).
    await eventually(async () => {
      await page.goto(`${base}/status`);
      const listed = await page.$(`#failed tr[data-workflow-id="${workflowId}"]`);
      return listed && Number(await text('#counts td[data-status="partial"]')) >= 1 ? true : undefined;
    }, 'the failed delivery on the page');

    assert.match(await text(`#targets tr[data-arn="${arn('ok')}"] .health`), /^online/);
    assert.match(await text(`#targets tr[data-arn="${arn('flaky')}"] .circuit`), /closed/);
    assert.match(
      await text('#rules'),
      new RegExp(`${bucket}\\s+${arn('flaky').replace(/\./g, '\\.')}\\s+s3:ObjectCreated:\\*\\s+in/\\s+\\.jpg`),
    );
    const row = `#failed tr[data-workflow-id="${workflowId}"]`;
    assert.match(
      await text(row),
      new RegExp(`partial\\s+${bucket}/in/cat\\.jpg\\s+${arn('flaky').replace(/\./g, '\\.')}`),
    );
    assert.equal(
      await page.$eval(`${row} a`, (a: unknown) => (a as { href: string }).href),
      `${engine.settings.temporalUiUrl}/namespaces/default/workflows/${workflowId}`,
    );

    await Promise.all([page.waitForNavigation(), page.click(`${row} button`)]);
    assert.match(
      await text('#message'),
      new RegExp(`^started ${redeliveryIdOf(workflowId)} for ${arn('flaky').replace(/\./g, '\\.')}$`),
    );
    await receivers.flaky.waitForRequests(2);
    assert.equal(receivers.ok.requests.length, 1, 'the delivered target is not sent again');

    await eventually(async () => {
      await page.goto(`${base}/status`);
      const status = await page.$(`#redeliveries tr[data-workflow-id="${redeliveryIdOf(workflowId)}"] .status`);
      return status && (await status.evaluate((el: unknown) => (el as { innerText: string }).innerText)) === 'delivered'
        ? true
        : undefined;
    }, 'the redelivery listed as delivered');

    // Clicking again: nothing left to redeliver, said on the page; nothing started.
    await page.goto(`${base}/status`);
    await Promise.all([page.waitForNavigation(), page.click(`${row} button`)]);
    assert.match(await text('#message'), /every target of bucketflow-\S+ was delivered/);
    assert.equal(receivers.flaky.requests.length, 2);
  },
);

test(
  'the redeliver form refuses cross-origin posts (another site, Origin null, a malformed Origin, no origin at all) and posts without the CSRF token',
  { timeout: 60_000 },
  async () => {
    const authorization = `Basic ${Buffer.from('operator:secret').toString('base64')}`;
    const page = await fetch(`${base}/status`, { headers: { authorization } });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const html = await page.text();
    const [, csrf] = /name="csrf" value="([^"]+)"/.exec(html) ?? [];
    const [, workflowId] = /name="workflowId" value="([^"]+)"/.exec(html) ?? [];
    assert.ok(csrf && workflowId, 'the page lists a failed delivery with its form');
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const post = (headers: Record<string, string>, body = form({ csrf, workflowId })) =>
      fetch(`${base}/status/redeliver`, {
        method: 'POST',
        redirect: 'manual',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });

    const refusals: Array<[string, Record<string, string>, string?]> = [
      ['another site', { origin: 'https://evil.example' }],
      ['another port of this host', { origin: base.replace(/:(\d+)$/, (_, port) => `:${Number(port) + 1}`) }],
      ['Origin: null', { origin: 'null' }],
      ['a malformed Origin', { origin: 'http://[' }],
      ['neither Origin nor Sec-Fetch-Site', {}],
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site', origin: base }],
      ['no CSRF token', { origin: base }, form({ workflowId })],
      ['a wrong CSRF token', { 'sec-fetch-site': 'same-origin' }, form({ csrf: `${csrf}x`, workflowId })],
    ];
    for (const [what, headers, body] of refusals) {
      const response = await post(headers, body);
      assert.equal(response.status, 403, what);
      assert.match(
        ((await response.json()) as { error: string }).error,
        /^(cross-origin request refused|csrf: )/,
        what,
      );
    }
    // The same form from the page's own origin goes through (to a redirect back to the page with the outcome).
    for (const headers of [{ origin: base }, { 'sec-fetch-site': 'same-origin' }] as Array<Record<string, string>>) {
      const response = await post(headers);
      assert.equal(response.status, 303, JSON.stringify(headers));
    }
  },
);

test(
  'the redeliver form redelivers the run its row shows, once: posted again it starts nothing, even after that redelivery failed',
  { timeout: 90_000 },
  async () => {
    const authorization = `Basic ${Buffer.from('operator:secret').toString('base64')}`;
    const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key: 'twice/a.bin' });
    const [{ workflowId }] = await engine.client.publish(record);
    const handle = (id: string) => engine.plainClient.temporal.workflow.getHandle(id);
    await handle(workflowId)
      .result()
      .catch(() => {});
    // The form's token, from the page once it lists the failed delivery with its form.
    const csrf = await eventually(async () => {
      const html = await (await fetch(`${base}/status`, { headers: { authorization } })).text();
      return html.includes(`name="workflowId" value="${workflowId}"`)
        ? /name="csrf" value="([^"]+)"/.exec(html)?.[1]
        : undefined;
    }, 'the failed delivery listed with its form');
    const redeliver = async (workflowId: string) => {
      const response = await fetch(`${base}/status/redeliver`, {
        method: 'POST',
        redirect: 'manual',
        headers: { authorization, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, workflowId }).toString(),
      });
      assert.equal(response.status, 303);
      return new URL(response.headers.get('location')!, base).searchParams.get('message');
    };

    const first = redeliveryIdOf(workflowId);
    assert.match(
      (await redeliver(workflowId))!,
      new RegExp(`^started ${first} for ${arn('twice').replace(/\./g, '\\.')}$`),
    );
    await handle(first)
      .result()
      .catch(() => {}); // refused again: the redelivery failed, the target still failed
    // The original's row posted again (a second click, another operator): that run was redelivered already.
    assert.equal(
      await redeliver(workflowId),
      `${workflowId}: already redelivered as ${first} (failed); redeliver that one to try again`,
    );
    await assert.rejects(handle(redeliveryIdOf(workflowId, 2)).describe(), /not found/i);
    assert.equal(receivers.twice.requests.length, 2);
    // The failed redelivery's own row: its redelivery, the next generation.
    assert.match((await redeliver(first))!, new RegExp(`^started ${redeliveryIdOf(workflowId, 2)} for `));
    await receivers.twice.waitForRequests(3);
  },
);
