// The ingest under faults and limits: Temporal unreachable (a loopback proxy is cut; the shared server keeps
// running), Temporal slow, TLS with a certificate made for the test, body and record limits, and the refusals that
// start nothing of their body: an event for a bucket outside its source's patterns, a forged MinIO sequencer.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import { BucketflowClient, workflowIdFor } from '../../src/publish/publisher';
import { buildEvent, eventIdentity, sequencerAt, toEnvelope, type S3EventRecord } from '../../src/events';
import { metrics } from '../../src/telemetry/metrics';
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
      buildEvent({
        eventName: 's3:ObjectCreated:Put',
        bucket,
        key: `k-${sequence}`,
        sequencer: (sequence++).toString(16).toUpperCase(),
      }),
    ),
  });

async function ingest(options: Omit<IngestOptions, 'publisher'> & { publisher?: BucketflowClient }): Promise<string> {
  const app: FastifyInstance = buildIngestServer({ publisher: engine.client, ...options });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closing.push(() => app.close());
  return `${options.tls ? 'https' : 'http'}://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
}

/** A publisher reaching Temporal through a proxy the test can cut. */
async function proxiedPublisher(): Promise<{ proxy: TcpProxy; publisher: BucketflowClient }> {
  const proxy = await TcpProxy.start({
    host: '127.0.0.1',
    port: Number(engine.settings.temporalAddress.split(':').at(-1)),
  });
  const connection = Connection.lazy({ address: proxy.address, channelArgs: FAST_RECONNECT_CHANNEL_ARGS });
  const publisher = new BucketflowClient(
    new Client({ connection, namespace: engine.settings.namespace }),
    { taskQueue: engine.settings.taskQueue, fastPath: engine.settings.fastPath },
    connection,
  );
  closing.push(async () => {
    await proxy.down();
    await publisher.close();
  });
  return { proxy, publisher };
}

const post = (url: string, body: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

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
    assert.equal(
      ((await response.json()) as { error: string }).error,
      'Temporal unreachable (connection refused); retry later',
    );
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
  const response = await request(url, {
    method: 'POST',
    dispatcher,
    body: eventBody(),
    headers: { authorization: 'Bearer tls-token' },
  });
  assert.equal(response.statusCode, 202);
  const { accepted } = (await response.body.json()) as { accepted: Array<{ workflowId: string }> };
  assert.equal((await engine.client.temporal.workflow.getHandle(accepted[0].workflowId).result()).status, 'delivered');
  // Plain HTTP to the TLS port is not served, and a client that does not trust the certificate refuses it.
  await assert.rejects(fetch(url.replace('https:', 'http:'), { method: 'POST', body: eventBody() }));
  await assert.rejects(fetch(url, { method: 'POST', body: eventBody() }), (err: Error) =>
    /certificate/i.test(String((err.cause as Error)?.message ?? err.message)),
  );
});

test('limits: a body over the byte limit or with too many records is a 413 naming the limit, and starts nothing', async () => {
  const url = await ingest({ bodyLimitBytes: 2_000, maxRecords: 2 });
  const big = await post(url, eventBody(5));
  assert.equal(big.status, 413);
  assert.equal(
    ((await big.json()) as { error: string }).error,
    'body larger than the limit of 2000 bytes (BUCKETFLOW_INGEST_MAX_BODY_BYTES)',
  );
  const many = JSON.stringify(
    toEnvelope(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'x', sequencer: '1' })),
  );
  assert.equal((await post(url, many)).status, 202);
  const three = await post(await ingest({ maxRecords: 2 }), eventBody(3));
  assert.equal(three.status, 413);
  assert.equal(
    ((await three.json()) as { error: string }).error,
    '3 records in one body; the limit is 2 (BUCKETFLOW_INGEST_MAX_RECORDS)',
  );
});

/** Whether the record's delivery workflow exists (was started). */
async function started(record: S3EventRecord): Promise<boolean> {
  try {
    await engine.client.temporal.workflow.getHandle(workflowIdFor(eventIdentity(record))).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

const recordIn = (inBucket: string, sequencer = (sequence++).toString(16).toUpperCase()) =>
  buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: inBucket, key: `k-${sequence}`, sequencer });

test('bucket patterns: a body with one event for another bucket is refused 403 naming it, and none of its events is started', async () => {
  const url = await ingest({ buckets: { global: ['hardening-*'] } });
  const allowed = recordIn(bucket);
  const other = recordIn('someone-elses-bucket');
  const response = await post(url, JSON.stringify({ Records: [allowed, other] }));
  assert.equal(response.status, 403);
  assert.equal(
    ((await response.json()) as { error: string }).error,
    'bucket "someone-elses-bucket" is not among the buckets minio may post for (BUCKETFLOW_INGEST_BUCKETS); nothing of this body was started',
  );
  assert.equal(await started(allowed), false);
  assert.equal(await started(other), false);
  assert.equal((await post(url, JSON.stringify({ Records: [allowed] }))).status, 202);
  assert.equal(await started(allowed), true);
});

test('a forged sequencer (far ahead of its eventTime) is refused 400, counted, and starts nothing of its body', async () => {
  const url = await ingest({});
  const rejected = async () =>
    (await metrics.eventsRejected.get()).values.find((v) => v.labels.reason === 'implausible_sequencer')?.value ?? 0;
  const before = await rejected();
  const real = recordIn(bucket, sequencerAt(Date.now()));
  const forged = { ...recordIn(bucket, 'F'.repeat(32)), eventName: 's3:ObjectRemoved:Delete' };
  const response = await post(url, JSON.stringify({ Records: [real, forged] }));
  assert.equal(response.status, 400);
  assert.match(
    ((await response.json()) as { error: string }).error,
    /^Records\[1\]\.s3\.object\.sequencer: F{32} is [\d,]+ days ahead of its eventTime/,
  );
  assert.equal(await rejected(), before + 1);
  assert.equal(await started(real), false);
  assert.equal(await started(forged), false);
});
