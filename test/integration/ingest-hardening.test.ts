// The ingest under faults and limits: Temporal unreachable (a loopback proxy is cut; the shared server keeps
// running), Temporal slow, TLS with a certificate made for the test, body and record limits.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import { BucketflowClient } from '../../src/publish/publisher';
import { buildEvent, toEnvelope } from '../../src/events';
import { buildIngestServer, type IngestOptions } from '../../src/http/server';
import { FAST_RECONNECT_CHANNEL_ARGS } from '../../src/temporal/reachability';
import { selfSignedCertificate } from '../helpers/certificates';
import { oneWebhook, startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { TcpProxy } from '../helpers/tcp-proxy';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const bucket = uniqueBucket('hardening');
let receiver: Receiver;
let engine: Engine;
const closing: Array<() => Promise<unknown>> = [];

before(async () => {
  receiver = await Receiver.start();
  engine = await startEngine({
    ...oneWebhook(receiver.url, bucket),
  });
});
after(async () => {
  for (const close of closing.reverse()) await close();
  await engine.stop();
  await receiver.close();
});

let sequence = 0x1000;
const eventBody = (count = 1) =>
  JSON.stringify({
    Records: Array.from({ length: count }, () =>
      buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `k-${sequence}`, sequencer: (sequence++).toString(16).toUpperCase() })),
  });

async function ingest(options: Omit<IngestOptions, 'publisher'> & { publisher?: BucketflowClient }): Promise<string> {
  const app: FastifyInstance = buildIngestServer({ publisher: engine.client, ...options });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closing.push(() => app.close());
  return `${options.tls ? 'https' : 'http'}://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
}

/** A publisher reaching Temporal through a proxy the test can cut. */
async function proxiedPublisher(): Promise<{ proxy: TcpProxy; publisher: BucketflowClient }> {
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(engine.settings.temporalAddress.split(':').at(-1)) });
  const connection = Connection.lazy({ address: proxy.address, channelArgs: FAST_RECONNECT_CHANNEL_ARGS });
  const publisher = new BucketflowClient(new Client({ connection, namespace: engine.settings.namespace }), { taskQueue: engine.settings.taskQueue, fastPath: engine.settings.fastPath }, connection);
  closing.push(async () => {
    await proxy.down();
    await publisher.close();
  });
  return { proxy, publisher };
}

const post = (url: string, body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await run();
  return [result, Date.now() - started];
}

test('Temporal unreachable: 503 with Retry-After and the kind of failure within 2 s; 202 again within 2 s of its return', async () => {
  const { proxy, publisher } = await proxiedPublisher();
  const url = await ingest({ publisher, temporalAddress: proxy.address });
  assert.equal((await post(url, eventBody())).status, 202);

  await proxy.down();
  for (let i = 0; i < 3; i++) {
    const [response, ms] = await timed(() => post(url, eventBody()));
    assert.equal(response.status, 503);
    assert.ok(ms < 2_000, `503 after ${ms} ms`);
    assert.equal(response.headers.get('retry-after'), '1');
    assert.equal(((await response.json()) as { error: string }).error, 'Temporal unreachable (connection refused); retry later');
  }
  const [health, healthMs] = await timed(() => fetch(new URL('/health', url)));
  assert.equal(health.status, 503);
  assert.ok(healthMs < 2_000, `health after ${healthMs} ms`);
  assert.match(((await health.json()) as { error: string }).error, /connection refused/);

  await proxy.up();
  const back = Date.now();
  let status = 0;
  while (status !== 202 && Date.now() - back < 10_000) {
    status = (await post(url, eventBody())).status;
    if (status !== 202) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(status, 202);
  assert.ok(Date.now() - back < 2_000, `202 again after ${Date.now() - back} ms`);
  assert.equal((await fetch(new URL('/health', url))).status, 200);
});

test('Temporal slow but reachable: the start is waited for (202), not turned into a 503', async () => {
  const { proxy, publisher } = await proxiedPublisher();
  const url = await ingest({ publisher, temporalAddress: proxy.address, watchdogMs: 300 });
  assert.equal((await post(url, eventBody())).status, 202); // connection established before the slowdown
  proxy.delayMs = 400; // each round trip now takes over the 300 ms watchdog
  const [response, ms] = await timed(() => post(url, eventBody()));
  assert.equal(response.status, 202, await response.clone().text());
  assert.ok(ms > 300, `took ${ms} ms: the watchdog must have fired`);
});

test('TLS: a round trip over https with a certificate made for the test', async () => {
  const { key, cert } = selfSignedCertificate();
  const url = await ingest({ tls: { key, cert }, authToken: 'tls-token' });
  assert.match(url, /^https:/);
  const dispatcher = new Agent({ connect: { ca: cert } });
  closing.push(() => dispatcher.close());
  const response = await request(url, { method: 'POST', dispatcher, body: eventBody(), headers: { authorization: 'Bearer tls-token' } });
  assert.equal(response.statusCode, 202);
  const { accepted } = (await response.body.json()) as { accepted: Array<{ workflowId: string }> };
  assert.equal((await engine.client.temporal.workflow.getHandle(accepted[0].workflowId).result()).status, 'delivered');
  // Plain HTTP to the TLS port is not served, and a client that does not trust the certificate refuses it.
  await assert.rejects(fetch(url.replace('https:', 'http:'), { method: 'POST', body: eventBody() }));
  await assert.rejects(fetch(url, { method: 'POST', body: eventBody() }), (err: Error) => /certificate/i.test(String((err.cause as Error)?.message ?? err.message)));
});

test('limits: a body over the byte limit or with too many records is a 413 naming the limit, and starts nothing', async () => {
  const url = await ingest({ bodyLimitBytes: 2_000, maxRecords: 2 });
  const big = await post(url, eventBody(5));
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as { error: string }).error, 'body larger than the limit of 2000 bytes (BUCKETFLOW_INGEST_MAX_BODY_BYTES)');
  const many = JSON.stringify(toEnvelope(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'x', sequencer: '1' })));
  assert.equal((await post(url, many)).status, 202);
  const three = await post((await ingest({ maxRecords: 2 })), eventBody(3));
  assert.equal(three.status, 413);
  assert.equal(((await three.json()) as { error: string }).error, '3 records in one body; the limit is 2 (BUCKETFLOW_INGEST_MAX_RECORDS)');
});
