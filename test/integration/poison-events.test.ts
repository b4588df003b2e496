// Poison events never loop: a body that could never become a delivery is refused with a 4xx naming why (a sender
// retries 5xx forever), whatever JSON any field of any source's body holds (fast-check through the real ingest),
// bucket names that are Object.prototype's own names are plain buckets, and a workflow whose rule lookup keeps
// failing ends visibly failed after a bounded number of attempts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { workflowIdFor } from '../../src/publish/publisher';
import { buildEvent, eventIdentity, toEnvelope } from '../../src/events';
import { buildIngestServer, type IngestOptions } from '../../src/http/server';
import { searchKeys } from '../../src/delivery/search-attributes';
import { RULES_LOOKUP_FAILED } from '../../src/delivery/types';
import { FakeSns } from '../helpers/certificates';
import { startEngine, type Engine } from '../helpers/engine';
import { sourceFixture } from '../helpers/fixtures';
import { oneFieldReplaced, replacedAt } from '../helpers/hostile-json';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';

const { after, before, test } = needs('temporal');

const arn = 'arn:minio:sqs:us-east-1:1:webhook';
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'hasOwnProperty', 'toString'];
const SNS_TOPIC = 'arn:aws:sns:us-west-2:123456789012:MyTopic';
let receiver: Receiver;
let engine: Engine;
let sns: FakeSns;
const servers: FastifyInstance[] = [];

before(async () => {
  receiver = await Receiver.start();
  sns = await FakeSns.start();
  engine = await startEngine({
    notify: { webhook: { '1': { enable: true, endpoint: receiver.url } } },
    rules: { constructor: [{ id: '1', arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }] },
  });
});
after(async () => {
  for (const server of servers) await server.close();
  await engine?.stop();
  await receiver?.close();
  await sns?.close();
});

/** An ingest on the worker's publisher (rules matched where the event is accepted) or a plain one (the workflow matches
 * them). */
async function ingestUrl(publisher = engine.client, options: Omit<IngestOptions, 'publisher'> = {}): Promise<string> {
  const app = buildIngestServer({ publisher, ...options });
  await app.listen({ host: '127.0.0.1', port: 0 });
  servers.push(app);
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
}

const post = (url: string, body: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
// Keys unique per run: event ids (and so workflow ids) derive from bucket, key and sequencer.
const recordIn = (bucket: string, extra: Record<string, unknown> = {}) => ({
  ...buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: `poison-${randomUUID()}.txt` }),
  ...extra,
});

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

test("any JSON in any field of any source's body is accepted (202) or refused naming the field (400), never a 500", async () => {
  const url = await ingestUrl(engine.client, { sns: { origins: [sns.origin], topics: [SNS_TOPIC] } });
  const answer = async (body: string) => {
    const response = await post(url, body);
    return { status: response.status, error: ((await response.json()) as { error?: string }).error };
  };
  // What made a parser throw (a 500, retried forever by the sender), one per kind, each refused naming the field.
  const notification = sourceFixture('sns-notification.json');
  const crashers: Array<[string, string]> = [
    [
      replacedAt(sourceFixture('ceph-notifications.json'), ['Records', 0, 'userIdentity', 'principalId'], {
        toString: 1,
      }),
      'Records[0].userIdentity.principalId: expected a string',
    ],
    [
      replacedAt(sourceFixture('aws-s3-object-created.json'), ['Records', 1, 'responseElements', 'x-amz-request-id'], {
        toString: 1,
      }),
      'Records[1].responseElements.x-amz-request-id: expected a string',
    ],
    [
      replacedAt(sourceFixture('aws-s3-object-created.json'), ['Records', 0, 's3', 'object', 'key'], 'a\ud800'),
      'Records[0].s3.object.key: not valid Unicode (a lone surrogate at character 1)',
    ],
    [
      replacedAt(sourceFixture('eventbridge-object-created.json'), ['detail', 'reason'], 'toString'),
      'detail.reason: expected one of PutObject, POST Object, CopyObject, CompleteMultipartUpload, got "toString"',
    ],
    [
      replacedAt(sourceFixture('ceph-notifications.json'), ['Records', 1, 'eventName'], 'constructor'),
      'Records[1].eventName: "constructor" has no MinIO equivalent (bucket rules use MinIO\'s s3: event names)',
    ],
    [
      JSON.stringify(
        sns.sign({
          ...notification,
          Message: replacedAt(JSON.parse(notification.Message), ['Records', 0, 'userIdentity', 'principalId'], {
            toString: 1,
          }),
        }),
      ),
      'Message.Records[0].userIdentity.principalId: expected a string',
    ],
  ];
  for (const [body, error] of crashers) assert.deepEqual(await answer(body), { status: 400, error });

  const bodies = [
    toEnvelope(buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'poison-fc', key: 'a b.txt', size: 1 })),
    sourceFixture('ceph-notifications.json'),
    sourceFixture('aws-s3-object-created.json'),
    sourceFixture('eventbridge-object-created.json'),
  ];
  for (const body of bodies) {
    await fc.assert(
      fc.asyncProperty(oneFieldReplaced(body), async ({ text }) => {
        const { status, error } = await answer(text);
        assert.ok(
          status === 202 || (status === 400 && /^[^\r\n]+?: [^\r\n]+$/.test(error ?? '')),
          `${status}: ${error}`,
        );
      }),
      { numRuns: 40 },
    );
  }
});

test('the records limit is checked before any record is read: one record over it, the last malformed, is a 413, not a 400', async () => {
  const url = await ingestUrl(engine.client, { maxRecords: 2, sns: { origins: [sns.origin], topics: [SNS_TOPIC] } });
  const malformed = { eventName: 's3:ObjectCreated:Put' };
  const aws = sourceFixture('aws-s3-object-created.json');
  const notification = sourceFixture('sns-notification.json');
  const bodies = [
    { Records: [recordIn('constructor'), recordIn('constructor'), malformed] },
    { Records: [...sourceFixture('ceph-notifications.json').Records, { ...malformed, eventSource: 'ceph:s3' }] },
    sns.sign({
      ...notification,
      Message: JSON.stringify({
        Records: [...aws.Records, { ...malformed, eventSource: 'aws:s3', eventName: 'ObjectCreated:Put' }],
      }),
    }),
  ];
  for (const body of bodies) {
    const response = await post(url, JSON.stringify(body));
    assert.equal(response.status, 413);
    assert.deepEqual(await response.json(), {
      error: '3 records in one body; the limit is 2 (BUCKETFLOW_INGEST_MAX_RECORDS)',
    });
  }
  // At the limit the malformed record is read, and refused naming itself.
  const atLimit = await post(url, JSON.stringify({ Records: [recordIn('constructor'), malformed] }));
  assert.equal(atLimit.status, 400);
  assert.deepEqual(await atLimit.json(), { error: 'Records[1].eventVersion: required' });
});

test('a body nested 100,000 levels deep is a 400 naming why, whichever field nests', async () => {
  const url = await ingestUrl();
  const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const whole = await post(url, `{"Records": [${deep(100_000)}]}`);
  assert.equal(whole.status, 400);
  assert.deepEqual(await whole.json(), { error: 'body: nested deeper than 64 levels' });
  const record = JSON.stringify({ Records: [recordIn('images')] }).replace(
    '"userIdentity":',
    `"deep":${deep(100_000)},"userIdentity":`,
  );
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
  assert.match(
    ((await response.json()) as { error: string }).error,
    /^Records\[1\]: \d+ bytes once encoded; a record may carry at most 262144 to become a delivery/,
  );
  await assert.rejects(
    engine.client.temporal.workflow.getHandle(workflowIdFor(eventIdentity(small))).describe(),
    WorkflowNotFoundError,
  );
});

test(
  'a rule lookup that keeps failing ends the workflow failed after bounded attempts, status failed',
  { timeout: 90_000 },
  async () => {
    const rulesFile = path.join(engine.settings.dataDir, 'rules.json');
    await writeFile(rulesFile, '{"constructor": ['); // unreadable: every lookup fails
    try {
      const url = await ingestUrl(engine.plainClient);
      const response = await post(url, JSON.stringify({ Records: [recordIn('constructor')] }));
      assert.equal(response.status, 202);
      const [{ workflowId }] = ((await response.json()) as { accepted: Array<{ workflowId: string }> }).accepted;
      const handle = engine.client.temporal.workflow.getHandle(workflowId);
      const failure = await handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(failure instanceof WorkflowFailedError, String(failure));
      const cause = failure.cause as { type?: string; message?: string };
      assert.equal(cause.type, RULES_LOOKUP_FAILED);
      assert.match(
        cause.message ?? '',
        /^bucket rules could not be looked up after 5 attempts: .*rules\.json: not valid JSON/,
      );
      assert.equal((await handle.describe()).typedSearchAttributes.get(searchKeys.status), 'failed');
    } finally {
      await writeFile(rulesFile, '{}');
    }
  },
);
