// Tracing end to end on the real worker process (with the ingest, as `npm start` runs it): an event POSTed
// with a traceparent yields one trace, exported over OTLP/HTTP to a receiver inside this test, whose spans
// link up: the ingest's request -> the workflow start -> the workflow -> the activity start -> the activity
// -> one span per send with the target's ARN, attempt and outcome (a failed first attempt included).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildEvent, toEnvelope } from '../../src/events';
import { spawnWorker, startEngine, uniqueBucket } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { freePort } from '../helpers/target-config';
import { needs } from '../helpers/needs';

const { after, test } = needs('temporal');

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  service: string;
}

/** An OTLP/HTTP (JSON) trace receiver: POST /v1/traces, as a collector takes them. */
async function otlpReceiver() {
  const spans: Span[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      assert.equal(req.url, '/v1/traces');
      assert.equal(req.headers['content-type'], 'application/json');
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: any[] };
      for (const resource of body.resourceSpans) {
        const service = resource.resource.attributes.find((a: any) => a.key === 'service.name')?.value.stringValue;
        for (const scope of resource.scopeSpans) {
          for (const span of scope.spans) {
            const attributes = Object.fromEntries(span.attributes.map((a: any) => [a.key, Object.values(a.value)[0]]));
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              attributes,
              service,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    spans,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('one trace from the ingest request to each send, with parent links', { timeout: 120_000 }, async () => {
  const collector = await otlpReceiver();
  cleanups.push(() => collector.close());
  const steady = await Receiver.start();
  const flaky = await Receiver.start([500]); // the first send fails, the fast path's second one succeeds
  cleanups.push(
    () => steady.close(),
    () => flaky.close(),
  );
  const bucket = uniqueBucket('traced');
  const arn = (id: string) => `arn:minio:sqs:us-east-1:${id}:webhook`;
  const engine = await startEngine({
    notify: {
      webhook: { steady: { enable: true, endpoint: steady.url }, flaky: { enable: true, endpoint: flaky.url } },
    },
    rules: {
      [bucket]: ['steady', 'flaky'].map((id) => ({
        id,
        arn: arn(id),
        events: ['s3:ObjectCreated:*'],
        prefix: '',
        suffix: '',
      })),
    },
    workers: 0,
  });
  cleanups.push(() => engine.stop());
  const port = await freePort();
  const worker = spawnWorker(engine.settings, {
    BUCKETFLOW_INGEST: 'on',
    BUCKETFLOW_INGEST_PORT: String(port),
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_SERVICE_NAME: 'bucketflow-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  cleanups.push(() => void worker.kill('SIGKILL'));
  let stderr = '';
  worker.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));

  // The sender's own trace: the ingest continues it.
  const traceId = randomBytes(16).toString('hex');
  const senderSpanId = randomBytes(8).toString('hex');
  const body = JSON.stringify(toEnvelope(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'traced.jpg' })));
  let response: Response | undefined;
  for (const deadline = Date.now() + 60_000; !response && Date.now() < deadline;) {
    response = await fetch(`http://127.0.0.1:${port}/minio/events`, {
      method: 'POST',
      body,
      headers: { traceparent: `00-${traceId}-${senderSpanId}-01` },
    }).catch(() => undefined);
    if (!response) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(response?.status, 202, stderr);
  const [{ workflowId }] = ((await response!.json()) as { accepted: Array<{ workflowId: string }> }).accepted;
  assert.equal((await engine.plainClient.temporal.workflow.getHandle(workflowId).result()).status, 'delivered');
  worker.kill('SIGTERM'); // flushes the spans still buffered
  assert.equal(await exited, 0, stderr);

  const spans = collector.spans.filter((s) => s.traceId === traceId);
  assert.ok(spans.length > 0, `no span of trace ${traceId} among ${collector.spans.length}`);
  assert.ok(spans.every((s) => s.service === 'bucketflow-test'));
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const one = (name: string) => {
    const found = spans.filter((s) => s.name === name);
    assert.equal(found.length, 1, `one ${name} span: ${spans.map((s) => s.name).join(', ')}`);
    return found[0];
  };
  const parentOf = (span: Span) => (span.parentSpanId ? byId.get(span.parentSpanId)?.name : undefined);

  const request = one('POST');
  assert.equal(request.parentSpanId, senderSpanId);
  assert.equal(request.attributes['http.response.status_code'], 202);
  assert.equal(parentOf(one('StartWorkflow:deliverEventV3')), 'POST');
  assert.equal(parentOf(one('RunWorkflow:deliverEventV3')), 'StartWorkflow:deliverEventV3');
  assert.equal(parentOf(one('RunActivity:deliverToTargets')), 'StartActivity:deliverToTargets');
  assert.equal(parentOf(one('StartActivity:deliverToTargets')), 'RunWorkflow:deliverEventV3');

  const sends = spans
    .filter((s) => s.name.startsWith('send '))
    .map((s) => [
      parentOf(s),
      s.attributes['bucketflow.target.arn'],
      Number(s.attributes['bucketflow.attempt']),
      s.attributes['bucketflow.outcome'],
    ])
    .sort((a, b) => String(a[1]).localeCompare(String(b[1])) || (a[2] as number) - (b[2] as number));
  assert.deepEqual(sends, [
    ['RunActivity:deliverToTargets', arn('flaky'), 1, 'failed'],
    ['RunActivity:deliverToTarget', arn('flaky'), 2, 'delivered'],
    ['RunActivity:deliverToTargets', arn('steady'), 1, 'delivered'],
  ]);
  assert.equal(flaky.requests.length, 2);
});
