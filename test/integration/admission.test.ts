// Admission control (src/ingest/admission.ts): a worker holds at most BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES deliveries
// in its fast path; above it its ingest answers 503 with Retry-After, the senders retry, and every event is still
// delivered. The webhook receiver answers slowly and counts the sends it holds at once: never more than the bound.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildEvent } from '../../src/events';
import { buildIngestServer } from '../../src/ingest/server';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';

const MAX_IN_FLIGHT = 4;
const EVENTS = 16;
const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const bucket = uniqueBucket('admission');
const received = new Set<string>();
let concurrent = 0;
let maxConcurrent = 0;
let receiver: Server;
let engine: Engine;
let ingest: FastifyInstance;
let url: string;

before(async () => {
  receiver = createServer((req, res) => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        received.add(String(req.headers[EVENT_ID_HEADER.toLowerCase()]));
        concurrent--;
        res.writeHead(200).end();
      }, 700));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/` } } },
    rules: { [bucket]: [{ id: '1', arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
    settings: { maxInFlightDeliveries: MAX_IN_FLIGHT },
  });
  ingest = buildIngestServer({ publisher: engine.client, admission: engine.deps.admission });
  await ingest.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(ingest.server.address() as AddressInfo).port}/`;
});
after(async () => {
  await ingest?.close();
  await engine?.stop();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

test(`a burst of ${EVENTS} events to a worker that may hold ${MAX_IN_FLIGHT}: 503 with Retry-After above the bound, senders retry, every event delivered`, { timeout: 120_000 }, async () => {
  const refusals: string[] = [];
  const records = Array.from({ length: EVENTS }, (_, i) => buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `burst/${i}.jpg` }));
  const eventIds = await Promise.all(records.map(async (record) => {
    for (;;) {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Records: [record] }) });
      const answer = (await response.json()) as { accepted?: Array<{ eventId: string }>; error?: string };
      if (response.status === 202) return answer.accepted![0].eventId;
      assert.equal(response.status, 503, answer.error);
      assert.equal(response.headers.get('retry-after'), '1');
      refusals.push(answer.error!);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }));
  assert.ok(refusals.length > 0, 'the burst went over the bound');
  assert.match(refusals[0], /^this worker holds \d+ deliveries, its limit \(BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES\); retry later$/);
  // Every accepted event is delivered, and the receiver never held more sends at once than the bound.
  const deadline = Date.now() + 60_000;
  while (received.size < EVENTS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual([...received].sort(), [...eventIds].sort());
  assert.ok(maxConcurrent <= MAX_IN_FLIGHT, `the receiver held ${maxConcurrent} sends at once`);
  // Every delivery reported its fast path over: nothing is held any more.
  const settled = Date.now() + 10_000;
  while (engine.deps.admission.count > 0 && Date.now() < settled) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(engine.deps.admission.count, 0);
});
