// Admission control (src/publish/admission.ts): a worker holds at most BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES deliveries
// in its fast path; above it its ingest answers 503 with Retry-After, the senders retry, and every event is still
// delivered. The webhook receiver answers slowly and counts the sends it holds at once: never more than the bound.
// The same in the high-volume mode, where a batch holds its events until its first task is over, and an event the
// batch continues per event (the receiver refuses each `flaky/` event's first send) is held by its own workflow:
// while continuations send, the worker holds at least as many deliveries as they are.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildEvent, decodeObjectKey } from '../../src/events';
import { buildIngestServer } from '../../src/http/server';
import type { BatchSettings } from '../../src/settings';
import { EVENT_ID_HEADER } from '../../src/targets/common';
import { startEngine, uniqueBucket, type Engine } from '../helpers/engine';
import { needs } from '../helpers/needs';

const { after, before, describe, test } = needs('temporal');

const MAX_IN_FLIGHT = 4;
const EVENTS = 16;
const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const received = new Set<string>();
/** Sends per event id, to refuse a `flaky/` event's first. */
const sends = new Map<string, number>();
let concurrent = 0;
let maxConcurrent = 0;
/** Sends after an event's first (its continuation's) at the receiver now, and those the worker did not hold. */
let continuing = 0;
const unheld: string[] = [];
/** What the worker under test holds now. */
let heldNow: () => number = () => 0;
let receiver: Server;

before(async () => {
  receiver = createServer((req, res) => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    const eventId = String(req.headers[EVENT_ID_HEADER.toLowerCase()]);
    const attempt = (sends.get(eventId) ?? 0) + 1;
    sends.set(eventId, attempt);
    // A continuation's fast path is held by its own workflow: every one sending now counts in the worker.
    if (attempt > 1 && ++continuing > heldNow())
      unheld.push(
        `${eventId}: attempt ${attempt} sent while ${continuing} were sending and the worker held ${heldNow()}`,
      );
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () =>
      setTimeout(() => {
        const key = (
          JSON.parse(Buffer.concat(chunks).toString()) as { Records: Array<{ s3: { object: { key: string } } }> }
        ).Records[0].s3.object.key;
        concurrent--;
        if (attempt > 1) continuing--;
        if (decodeObjectKey(key).startsWith('flaky/') && attempt === 1) return res.writeHead(503).end();
        received.add(eventId);
        res.writeHead(200).end();
      }, 700),
    );
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

/** A worker (and the ingest inside it) that may hold MAX_IN_FLIGHT deliveries; per-event mode unless `batch`. */
function onWorker(batch?: Partial<BatchSettings>) {
  const bucket = uniqueBucket('admission');
  const state = { bucket, engine: undefined as unknown as Engine, url: '' };
  let ingest: FastifyInstance | undefined;
  before(async () => {
    state.engine = await startEngine({
      notify: {
        webhook: {
          '1': {
            enable: true,
            endpoint: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
            fast_retry_interval: '10ms',
            circuit_threshold: 0,
          },
        },
      },
      rules: { [bucket]: [{ id: '1', arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
      settings: { maxInFlightDeliveries: MAX_IN_FLIGHT },
      ...(batch ? { batch } : {}),
    });
    ingest = buildIngestServer({ publisher: state.engine.client, admission: state.engine.deps.admission });
    await ingest.listen({ host: '127.0.0.1', port: 0 });
    state.url = `http://127.0.0.1:${(ingest.server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    await ingest?.close();
    await state.engine?.stop();
  });
  return state;
}

/** Senders start this far apart: a bound that lets go too early shows as sends piling up, not as one wave refused. */
const STAGGER_MS = 60;

/**
 * EVENTS events under `prefix`, one per POST, STAGGER_MS apart; a 503 is retried after its Retry-After. Then: the burst
 * went over the bound, every accepted event reached the receiver, the receiver never held more sends at once than
 * the bound, and once all is over the worker holds nothing.
 */
async function burst(
  { engine, url, bucket }: { engine: Engine; url: string; bucket: string },
  prefix: string,
): Promise<void> {
  maxConcurrent = 0;
  heldNow = () => engine.deps.admission.count;
  const refusals: string[] = [];
  const records = Array.from({ length: EVENTS }, (_, i) =>
    buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `${prefix}${i}.jpg` }),
  );
  const eventIds = await Promise.all(
    records.map(async (record, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * STAGGER_MS));
      for (;;) {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ Records: [record] }),
        });
        const answer = (await response.json()) as { accepted?: Array<{ eventId: string }>; error?: string };
        if (response.status === 202) return answer.accepted![0].eventId;
        assert.equal(response.status, 503, answer.error);
        assert.equal(response.headers.get('retry-after'), '1');
        refusals.push(answer.error!);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }),
  );
  console.error('DEBUG', refusals.length, maxConcurrent, JSON.stringify([...sends.values()]));
  assert.ok(refusals.length > 0, 'the burst went over the bound');
  assert.match(
    refusals[0],
    /^this worker holds \d+ deliveries, its limit \(BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES\); retry later$/,
  );
  const deadline = Date.now() + 60_000;
  const missing = () => eventIds.filter((id) => !received.has(id));
  while (missing().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(missing(), [], 'every accepted event delivered');
  assert.ok(maxConcurrent <= MAX_IN_FLIGHT, `the receiver held ${maxConcurrent} sends at once`);
  assert.deepEqual(unheld, [], 'every continuation sending was held by the worker');
  // Every delivery (every batch) reported its fast path over: nothing is held any more.
  const settled = Date.now() + 10_000;
  while (engine.deps.admission.count > 0 && Date.now() < settled)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(engine.deps.admission.count, 0);
}

describe('per-event mode', () => {
  const worker = onWorker();
  test(
    `a burst of ${EVENTS} events to a worker that may hold ${MAX_IN_FLIGHT}: 503 with Retry-After above the bound, senders retry, every event delivered`,
    { timeout: 120_000 },
    () => burst(worker, 'burst/'),
  );
});

describe('high-volume mode', () => {
  const worker = onWorker({ maxEvents: 8, maxWaitMs: 0, dedupeWindowMs: 60_000 });
  test(
    `a burst of ${EVENTS} events: each batch holds its events until its first task is over, so the bound holds`,
    { timeout: 120_000 },
    () => burst(worker, 'burst/'),
  );
  test(
    `a burst of ${EVENTS} events every one of which the batch continues per event: held by their own workflows, the bound holds`,
    { timeout: 120_000 },
    () => burst(worker, 'flaky/'),
  );
});
