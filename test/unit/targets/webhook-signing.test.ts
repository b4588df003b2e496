// Signed webhooks: what the webhook target sends is checked by the npm `standardwebhooks` package (an
// independent implementation of the spec) and by our own receiver-side verifier.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { loadTargetsConfig } from '../../../src/config';
import { create } from '../../../src/targets/webhook';
import type { Target } from '../../../src/targets/target';
import { verifyWebhook } from '../../../src/webhook-signature';
import { deliveryOf } from '../../helpers/records';
import { Receiver, type ReceivedRequest } from '../../helpers/receiver';
import { targetConfig } from '../../helpers/target-config';

const ARN = 'arn:minio:sqs:us-east-1:1:webhook';
const opened: Array<Target | Receiver> = [];
after(async () => {
  await Promise.all(opened.map((o) => o.close()));
});

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

async function sendSigned(
  signingSecret: string,
  script: number[] = [],
): Promise<{ requests: ReceivedRequest[]; eventId: string }> {
  const receiver = await Receiver.start(script);
  const target = create(ARN, targetConfig('webhook', { endpoint: receiver.url, signing_secret: signingSecret }));
  opened.push(receiver, target);
  const delivery = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'signed/a b.jpg' });
  for (let attempt = 0; ; attempt++) {
    try {
      await target.send(delivery);
      break;
    } catch (err) {
      if (attempt >= script.length) throw err;
    }
  }
  return { requests: receiver.requests, eventId: delivery.eventId };
}

const headersOf = (request: ReceivedRequest) => request.headers as Record<string, string>;

test('standardwebhooks verifies what we send; webhook-id is the event id', async () => {
  const secret = newSecret();
  const { requests, eventId } = await sendSigned(secret);
  const [request] = requests;
  assert.equal(request.headers['webhook-id'], eventId);
  assert.match(String(request.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
  assert.ok(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000) < 30);
  const payload = new Webhook(secret).verify(request.body, headersOf(request)) as { EventName: string };
  assert.equal(payload.EventName, 's3:ObjectCreated:Put');
  assert.equal(verifyWebhook(request.body, request.headers, secret), eventId);
});

test('a tampered body or an old timestamp fails verification, in both implementations', async () => {
  const secret = newSecret();
  const { requests } = await sendSigned(secret);
  const [request] = requests;
  const tampered = request.body.replace('signed%2Fa+b.jpg', 'signed%2Fevil.jpg');
  assert.notEqual(tampered, request.body);
  assert.throws(() => new Webhook(secret).verify(tampered, headersOf(request)), /No matching signature/);
  assert.throws(() => verifyWebhook(tampered, request.headers, secret), /webhook-signature: no signature matches/);

  const later = Number(request.headers['webhook-timestamp']) + 6 * 60;
  assert.throws(
    () => verifyWebhook(request.body, request.headers, secret, { nowSeconds: later }),
    /webhook-timestamp: .* outside the 300 s tolerance/,
  );
  // The independent check, against its own clock: the same body and signature re-dated 10 minutes back.
  const old = { ...headersOf(request), 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 600) };
  assert.throws(() => new Webhook(secret).verify(request.body, old), /too old/);
  assert.throws(() => new Webhook(newSecret()).verify(request.body, headersOf(request)), /No matching signature/);
});

test('rotation: with two secrets configured, a receiver holding either one verifies', async () => {
  const [previous, next] = [newSecret(), newSecret()];
  const { requests } = await sendSigned(`${previous} ${next}`);
  const [request] = requests;
  assert.equal(String(request.headers['webhook-signature']).split(' ').length, 2);
  for (const secret of [previous, next]) {
    new Webhook(secret).verify(request.body, headersOf(request));
    verifyWebhook(request.body, request.headers, secret);
  }
  // Comma-separated works too (env vars), and the receiver may hold both during its own rotation.
  const commas = await sendSigned(`${previous},${next}`);
  new Webhook(next).verify(commas.requests[0].body, headersOf(commas.requests[0]));
  verifyWebhook(commas.requests[0].body, commas.requests[0].headers, [newSecret(), previous]);
});

test('a retried delivery keeps its webhook-id and is signed afresh', async () => {
  const secret = newSecret();
  const { requests, eventId } = await sendSigned(secret, [500]);
  assert.equal(requests.length, 2);
  for (const request of requests) {
    assert.equal(request.headers['webhook-id'], eventId);
    new Webhook(secret).verify(request.body, headersOf(request));
  }
});

test('unsigned when no signing_secret is set', async () => {
  const receiver = await Receiver.start();
  const target = create(ARN, targetConfig('webhook', { endpoint: receiver.url }));
  opened.push(receiver, target);
  await target.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' }));
  assert.equal(receiver.requests[0].headers['webhook-signature'], undefined);
});

test('a malformed signing_secret is refused at load, naming the field', () => {
  const load = (value: unknown) => () =>
    loadTargetsConfig({
      env: {},
      text: JSON.stringify({ webhook: { '1': { enable: true, endpoint: 'http://x/', signing_secret: value } } }),
    });
  assert.throws(
    load('s3cr3t'),
    /arn:minio:sqs:us-east-1:1:webhook: notify\.webhook\.1\.signing_secret: secret: expected the prefix "whsec_"/,
  );
  assert.throws(
    load('whsec_not*base64!'),
    /notify\.webhook\.1\.signing_secret: secret: expected base64 after "whsec_"/,
  );
  assert.throws(
    load(`${newSecret()} whsec_c2hvcnQ=`),
    /notify\.webhook\.1\.signing_secret: secret 2: expected at least 16 bytes/,
  );
  assert.throws(
    () =>
      loadTargetsConfig({
        env: {
          MINIO_NOTIFY_WEBHOOK_ENABLE_1: 'on',
          MINIO_NOTIFY_WEBHOOK_ENDPOINT_1: 'http://x/',
          MINIO_NOTIFY_WEBHOOK_SIGNING_SECRET_1: 'nope',
        },
      }),
    /notify\.webhook\.1\.(SIGNING_SECRET|signing_secret): secret: expected the prefix/i,
  );
  const secret = newSecret();
  const [entry] = loadTargetsConfig({
    env: {},
    text: JSON.stringify({ webhook: { '1': { enable: true, endpoint: 'http://x/', signingSecret: secret } } }),
  }).targets;
  assert.equal(entry.type === 'webhook' && entry.config.signing_secret, secret);
});
