// Poison events never loop: a body that could never become a delivery is refused with a 4xx naming why (a sender
// retries 5xx forever), bucket names that are Object.prototype's own names are plain buckets, and a workflow whose
// rule lookup keeps failing ends visibly failed after a bounded number of attempts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { workflowIdFor } from '../../src/publish/publisher';
import { buildEvent, eventIdentity } from '../../src/events';
import { buildIngestServer } from '../../src/http/server';
import { searchKeys } from '../../src/delivery/search-attributes';
import { RULES_LOOKUP_FAILED } from '../../src/delivery/types';
import { startEngine, type Engine } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'hasOwnProperty', 'toString'];
let receiver: Receiver;
let engine: Engine;
const servers: FastifyInstance[] = [];

before(async () => {
  receiver = await Receiver.start();
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } },
    rules: { constructor: [{ id: '1', arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
  });
});
after(async () => {
  for (const server of servers) await server.close();
  await engine?.stop();
  await receiver?.close();
});

/** An ingest on the worker's publisher (rules matched where the event is accepted) or a plain one (the workflow matches them). */
async function ingestUrl(publisher = engine.client): Promise<string> {
  const app = buildIngestServer({ publisher });
  await app.listen({ host: '127.0.0.1', port: 0 });
  servers.push(app);
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
}

const post = (url: string, body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
// Keys unique per run: event ids (and so workflow ids) derive from bucket, key and sequencer.
const recordIn = (bucket: string, extra: Record<string, unknown> = {}) =>
  ({ ...buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `poison-${randomUUID()}.txt` }), ...extra });

test("buckets named after Object.prototype's properties are delivered by their own rules, or have none", async () => {
  for (const url of [await ingestUrl(), await ingestUrl(engine.plainClient)]) {
    for (const bucket of PROTOTYPE_NAMES) {
      const response = await post(url, JSON.stringify({ Records: [recordIn(bucket)] }));
      const answer = (await response.json()) as { accepted: Array<{ workflowId: string }>; error?: string };
      assert.equal(response.status, 202, `${bucket}: ${answer.error}`);
      const result = await engine.client.temporal.workflow.getHandle(answer.accepted[0].workflowId).result();
      assert.equal(result.status, bucket === 'constructor' ? 'delivered' : 'no-targets', bucket);
    }
  }
});

test('a body nested 100,000 levels deep is a 400 naming why, whichever field nests', async () => {
  const url = await ingestUrl();
  const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const whole = await post(url, `{"Records": [${deep(100_000)}]}`);
  assert.equal(whole.status, 400);
  assert.deepEqual(await whole.json(), { error: 'body: nested deeper than 64 levels' });
  const record = JSON.stringify({ Records: [recordIn('images')] }).replace('"userIdentity":', `"deep":${deep(100_000)},"userIdentity":`);
  const inRecord = await post(url, record);
  assert.equal(inRecord.status, 400);
  assert.deepEqual(await inRecord.json(), { error: 'body: nested deeper than 64 levels' });
});

test('a record too large for a workflow input is a 413 naming the record and the limit; nothing of the body starts', async () => {
  const url = await ingestUrl();
  const small = recordIn('constructor');
  const large = recordIn('constructor', { responseElements: { padding: 'x'.repeat(300 * 1024) } });
  const response = await post(url, JSON.stringify({ Records: [small, large] }));
  assert.equal(response.status, 413);
  assert.match(((await response.json()) as { error: string }).error, /^Records\[1\]: \d+ bytes once encoded; a record may carry at most 262144 to become a delivery/);
  await assert.rejects(engine.client.temporal.workflow.getHandle(workflowIdFor(eventIdentity(small))).describe(), WorkflowNotFoundError);
});

test('a rule lookup that keeps failing ends the workflow failed after bounded attempts, status failed', { timeout: 90_000 }, async () => {
  const rulesFile = path.join(engine.settings.dataDir, 'rules.json');
  await writeFile(rulesFile, '{"constructor": ['); // unreadable: every lookup fails
  try {
    const url = await ingestUrl(engine.plainClient);
    const response = await post(url, JSON.stringify({ Records: [recordIn('constructor')] }));
    assert.equal(response.status, 202);
    const [{ workflowId }] = ((await response.json()) as { accepted: Array<{ workflowId: string }> }).accepted;
    const handle = engine.client.temporal.workflow.getHandle(workflowId);
    const failure = await handle.result().then(() => undefined, (err: unknown) => err);
    assert.ok(failure instanceof WorkflowFailedError, String(failure));
    const cause = failure.cause as { type?: string; message?: string };
    assert.equal(cause.type, RULES_LOOKUP_FAILED);
    assert.match(cause.message ?? '', /^bucket rules could not be looked up after 5 attempts: .*rules\.json: not valid JSON/);
    assert.equal((await handle.describe()).typedSearchAttributes.get(searchKeys.status), 'failed');
  } finally {
    await writeFile(rulesFile, '{}');
  }
});
