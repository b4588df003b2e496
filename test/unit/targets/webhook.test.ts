// The webhook target against a real HTTP receiver on loopback.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { EVENT_ID_HEADER } from '../../../src/targets/common';
import { PermanentDeliveryError } from '../../../src/delivery/failure';
import type { Target } from '../../../src/targets/target';
import { create } from '../../../src/targets/webhook';
import { assertConfigErrors, assertRetryable, freePort, targetConfig } from '../../helpers/target-config';
import { deliveryOf, putAndDelete } from '../../helpers/records';
import { Receiver } from '../../helpers/receiver';
import {
  assertAllDelivered,
  assertEachOnce,
  assertOnlyFailed,
  distinctPuts,
  oneObjectShuffled,
} from '../../helpers/batch';

const ARN = 'arn:minio:sqs:us-east-1:1:webhook';
const opened: Array<Target | Receiver> = [];

function webhook(raw: Record<string, unknown>): Target {
  const target = create(ARN, targetConfig('webhook', raw));
  opened.push(target);
  return target;
}

async function receiver(
  script: Parameters<typeof Receiver.start>[0] = [],
  options: Parameters<typeof Receiver.start>[2] = {},
): Promise<Receiver> {
  const started = await Receiver.start(script, 200, options);
  opened.push(started);
  return started;
}

after(async () => {
  await Promise.all(opened.map((o) => o.close()));
});

test('put and delete arrive as the guide shows: POSTed envelope JSON with the event id and bearer token', async () => {
  const server = await receiver();
  const target = webhook({ endpoint: server.url, auth_token: 's3cr3t' });
  const [put, del] = putAndDelete();
  await target.send(put);
  await target.send(del);

  assert.equal(server.requests.length, 2);
  for (const [i, sent] of [put, del].entries()) {
    const request = server.requests[i];
    assert.equal(request.method, 'POST');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers.authorization, 'Bearer s3cr3t');
    assert.equal(request.headers[EVENT_ID_HEADER.toLowerCase()], sent.eventId);
    assert.deepEqual(JSON.parse(request.body), sent.envelope);
  }
  const body = JSON.parse(server.requests[0].body);
  assert.equal(body.EventName, 's3:ObjectCreated:Put');
  assert.equal(body.Key, 'images/myphoto.jpg');
  assert.equal(JSON.parse(server.requests[1].body).Records[0].eventName, 's3:ObjectRemoved:Delete');
});

test('a two-word auth_token is sent verbatim, as MinIO does', async () => {
  const server = await receiver();
  await webhook({ endpoint: server.url, auth_token: 'Basic dXNlcjpwYXNz' }).send(
    deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' }),
  );
  assert.equal(server.requests[0].headers.authorization, 'Basic dXNlcjpwYXNz');
});

test('the same event sent twice carries the same event id, so the receiver can dedupe', async () => {
  const server = await receiver();
  const target = webhook({ endpoint: server.url });
  const event = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'dir/a b.jpg' });
  await target.send(event);
  await target.send(event);
  const ids = server.requests.map((r) => r.headers[EVENT_ID_HEADER.toLowerCase()]);
  assert.deepEqual(ids, [event.eventId, event.eventId]);
  assert.equal(new Set(ids).size, 1);
  assert.equal(JSON.parse(server.requests[0].body).Key, 'images/dir/a b.jpg');
  assert.equal(server.requests[0].headers.authorization, undefined);
});

test('500 is retryable and the retry succeeds; 429 and 408 are retryable', async () => {
  const server = await receiver([500, 200, 429, 408]);
  const target = webhook({ endpoint: server.url });
  const event = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'x.jpg' });
  await assertRetryable(target.send(event), /answered 500: scripted 500/);
  await target.send(event);
  for (const status of [429, 408])
    await assertRetryable(target.send(event), new RegExp(`answered ${status}: scripted ${status}`));
  assert.equal(server.requests.length, 4);
});

test('400 is a PermanentDeliveryError naming the status and the body', async () => {
  const server = await receiver([400]);
  const target = webhook({ endpoint: server.url });
  await assert.rejects(
    target.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })),
    (err: Error) => {
      assert.ok(err instanceof PermanentDeliveryError, `expected PermanentDeliveryError, got ${err.name}`);
      assert.match(err.message, new RegExp(`^${ARN}: POST .* answered 400: scripted 400$`));
      return true;
    },
  );
});

test('a receiver that does not answer within timeout is a retryable error', async () => {
  const server = await receiver(['hang']);
  const target = webhook({ endpoint: server.url, timeout: '300ms' });
  const started = Date.now();
  await assertRetryable(
    target.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })),
    new RegExp(`^${ARN}: POST `),
  );
  assert.ok(Date.now() - started < 5_000);
});

test('nothing listening: a retryable connection error', async () => {
  const target = webhook({ endpoint: `http://127.0.0.1:${await freePort()}/` });
  await assertRetryable(
    target.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })),
    /ECONNREFUSED/,
  );
});

test('bad config is refused, naming the ARN and the field', () => {
  const valid = { endpoint: 'https://127.0.0.1:3000/' };
  assertConfigErrors(ARN, create, valid, [
    [{ endpoint: 'localhost:3000' }, /endpoint: unsupported scheme "localhost:" \(expected http: https:\)/],
    [{ endpoint: 'not a url' }, /endpoint: not a URL/],
    [{ auth_token: 'a b c' }, /auth_token:/],
    [{ client_cert: '/nonexistent/cert.pem' }, /client_key: required with client_cert/],
    [{ client_cert: '/nonexistent/c.pem', client_key: '/nonexistent/k.pem' }, /client_cert: cannot read/],
  ]);
  // The config loader already refuses a non-URL endpoint, naming the config field.
  assert.throws(() => targetConfig('webhook', { endpoint: 'localhost:3000' }), /notify\.webhook\.1\.endpoint/);
});

test('health: a TCP dial of the endpoint, online when it listens and offline with a reason when not', async () => {
  const server = await receiver();
  assert.deepEqual(await webhook({ endpoint: server.url }).health(), { online: true });
  const offline = await webhook({ endpoint: `http://127.0.0.1:${await freePort()}/hook` }).health();
  assert.equal(offline.online, false);
  assert.match(offline.detail ?? '', /ECONNREFUSED/);
});

const idOf = (request: { headers: Record<string, unknown> }) => String(request.headers[EVENT_ID_HEADER.toLowerCase()]);

test("sendBatch: 200 events, one POST each with MinIO's body, each once, over reused kept-alive connections", async () => {
  const server = await receiver();
  const target = webhook({ endpoint: server.url });
  const batch = distinctPuts(200);
  assertAllDelivered(await target.sendBatch(batch), 200);
  assertEachOnce(server.requests.map(idOf), batch);
  const byId = new Map(batch.map((d) => [d.eventId, d]));
  for (const request of server.requests) assert.deepEqual(JSON.parse(request.body), byId.get(idOf(request))!.envelope);
  const sockets = new Set(server.requests.map((r) => r.remotePort));
  assert.ok(sockets.size <= 100, `connections kept alive and reused: ${sockets.size} for 200 POSTs`);
});

test("sendBatch: one object's events are POSTed in sequencer order, a repeated event id once", async () => {
  const server = await receiver([], { delayMs: 5 });
  const target = webhook({ endpoint: server.url });
  const { batch, inOrder } = oneObjectShuffled();
  const neighbours = distinctPuts(20);
  const results = await target.sendBatch([...batch, ...neighbours]);
  assertAllDelivered(results, batch.length + neighbours.length);
  const hot = server.requests.map(idOf).filter((id) => inOrder.some((d) => d.eventId === id));
  assert.deepEqual(
    hot,
    inOrder.map((d) => d.eventId),
  );
});

test('sendBatch: a receiver refusing one event (400) fails that event alone, permanently; a 503 alone is retryable', async () => {
  const batch = distinctPuts(50);
  const [refused, unavailable] = [batch[7], batch[30]];
  const server = await receiver([], {
    answer: (request) =>
      idOf(request) === refused.eventId ? 400 : idOf(request) === unavailable.eventId ? 503 : undefined,
  });
  const target = webhook({ endpoint: server.url });
  const [bad, busy] = assertOnlyFailed(await target.sendBatch(batch), [7, 30]);
  assert.ok(bad.permanent && bad.error instanceof PermanentDeliveryError);
  assert.match(bad.error.message, new RegExp(`^${ARN}: POST .* answered 400: scripted 400$`));
  assert.ok(!busy.permanent && !(busy.error instanceof PermanentDeliveryError));
  assert.match(busy.error.message, /answered 503/);
  assert.equal(server.requests.length, 50);
});

test('sendBatch: nothing listening fails every event, retryably', async () => {
  const target = webhook({ endpoint: `http://127.0.0.1:${await freePort()}/` });
  const results = await target.sendBatch(distinctPuts(5));
  assert.deepEqual(
    assertOnlyFailed(results, [0, 1, 2, 3, 4]).map((r) => r.permanent),
    [false, false, false, false, false],
  );
  assert.match((results[0] as { error: Error }).error.message, /ECONNREFUSED/);
});
