// The NATS target against the stack's nats-server (JetStream enabled): what the guide's subscriber sees,
// and JetStream dedupe on the event id.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, type JetStreamManager, type Msg, type NatsConnection } from 'nats';
import { endpoints } from '../../../scripts/stack/endpoints';
import { create } from '../../../src/targets/nats';
import { PermanentDeliveryError } from '../../../src/delivery/failure';
import type { Target } from '../../../src/targets/target';
import { assertEnvelopes, Inbox, sendAndTake } from '../../helpers/inbox';
import { deliveryOf, putAndDelete } from '../../helpers/records';
import { assertConfigErrors, assertRetryable, freePort, targetConfig } from '../../helpers/target-config';
import {
  assertAllDelivered,
  assertEachOnce,
  assertOnlyFailed,
  distinctPuts,
  oneObjectShuffled,
} from '../../helpers/batch';
import { needs } from '../../helpers/needs';

const { after, before, test } = needs('nats');

const ARN = 'arn:minio:sqs:us-east-1:1:nats';
const opened: Target[] = [];
const streams: string[] = [];
let subscriber: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  subscriber = await connect({ servers: endpoints.nats });
  jsm = await subscriber.jetstreamManager();
});

after(async () => {
  await Promise.all(opened.map((t) => t.close()));
  for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
  await subscriber.close();
});

function nats(raw: Record<string, unknown>): Target {
  const target = create(ARN, targetConfig('nats', { address: endpoints.nats, ...raw }));
  opened.push(target);
  return target;
}

function freshSubject(): string {
  return `bucketevents.${randomUUID()}`;
}

/** The guide's subscriber: collects what arrives on the subject. */
async function subscribe(subject: string): Promise<Inbox<Msg>> {
  const inbox: Inbox<Msg> = new Inbox(() => subscription.unsubscribe());
  const subscription = subscriber.subscribe(subject, { callback: (_err, msg) => inbox.add(msg) });
  await subscriber.flush();
  return inbox;
}

/** The body and the event id (the Nats-Msg-Id header) of a message. */
const arrived = (msg: Msg) => ({ body: msg.string(), eventId: msg.headers?.get('Nats-Msg-Id') });

async function createStream(subject: string, limits: { max_msg_size?: number } = {}): Promise<string> {
  const name = `bucketflow-test-${randomUUID()}`;
  await jsm.streams.add({ name, subjects: [subject], ...limits });
  streams.push(name);
  return name;
}

test('core NATS: put and delete arrive as the guide shows, with the event id in Nats-Msg-Id', async () => {
  const subject = freshSubject();
  const inbox = await subscribe(subject);
  const target = nats({ subject, username: '', password: '', token: '', secure: false, pingInterval: 0 });
  const sent = putAndDelete();
  const messages = await sendAndTake(target, inbox, sent);
  assertEnvelopes(messages, sent, arrived);
  assert.equal(JSON.parse(messages[0].string()).Key, 'images/myphoto.jpg');
});

test('core NATS: the same event sent twice carries the same id, so subscribers can dedupe', async () => {
  const subject = freshSubject();
  const inbox = await subscribe(subject);
  const event = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'a b.jpg' });
  const messages = await sendAndTake(nats({ subject }), inbox, [event, event]);
  assertEnvelopes(messages, [event, event], arrived);
});

test('JetStream: the PubAck is awaited and a resent event is stored once', async () => {
  const subject = freshSubject();
  const stream = await createStream(subject);
  const target = nats({ subject, jetstream: true });
  const [put, del] = putAndDelete();
  await target.send(put);
  await target.send(put); // a retry of the same event
  await target.send(del);

  const info = await jsm.streams.info(stream);
  assert.equal(info.state.messages, 2);

  const consumer = await subscriber.jetstream().consumers.get(stream);
  const stored: Array<{ id: string | undefined; body: unknown }> = [];
  for await (const message of await consumer.fetch({ max_messages: 10, expires: 1_000 })) {
    stored.push({ id: message.headers?.get('Nats-Msg-Id'), body: message.json() });
  }
  assert.deepEqual(stored, [
    { id: put.eventId, body: put.envelope },
    { id: del.eventId, body: del.envelope },
  ]);
});

test('JetStream: no stream for the subject is a clear, retryable error', async () => {
  const subject = freshSubject();
  const target = nats({ subject, jetstream: true });
  await assert.rejects(
    target.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })),
    (err: Error) => {
      assert.ok(!(err instanceof PermanentDeliveryError));
      assert.match(
        err.message,
        new RegExp(`^${ARN}: .*no JetStream stream captures subject ${subject.replace(/\./g, '\\.')}`),
      );
      return true;
    },
  );
});

test("sendBatch, core NATS: 200 events published then flushed once arrive each once, one object's in sequencer order", async () => {
  const subject = freshSubject();
  const inbox = await subscribe(subject);
  const target = nats({ subject });
  const { batch: hot, inOrder } = oneObjectShuffled();
  const batch = [...distinctPuts(200), ...hot];
  assertAllDelivered(await target.sendBatch(batch), batch.length);
  const messages = await inbox.take(200 + inOrder.length);
  const ids = messages.map((m) => m.headers?.get('Nats-Msg-Id'));
  assertEachOnce(ids, [...batch.slice(0, 200), ...inOrder]);
  assert.deepEqual(
    ids.filter((id) => inOrder.some((d) => d.eventId === id)),
    inOrder.map((d) => d.eventId),
  );
});

test('sendBatch, JetStream: PubAcks awaited together; the batch resent is stored once', async () => {
  const subject = freshSubject();
  const stream = await createStream(subject);
  const target = nats({ subject, jetstream: true });
  const batch = distinctPuts(200);
  assertAllDelivered(await target.sendBatch(batch), 200);
  assertAllDelivered(await target.sendBatch(batch), 200); // a retry of the whole batch
  assert.equal((await jsm.streams.info(stream)).state.messages, 200);
  const consumer = await subscriber.jetstream().consumers.get(stream);
  const stored: Array<string | undefined> = [];
  for await (const message of await consumer.fetch({ max_messages: 300, expires: 1_000 }))
    stored.push(message.headers?.get('Nats-Msg-Id'));
  assert.deepEqual(
    stored,
    batch.map((d) => d.eventId),
  );
});

test('sendBatch, JetStream: a message the stream refuses (too large) fails alone, the rest are stored', async () => {
  const subject = freshSubject();
  const stream = await createStream(subject, { max_msg_size: 4096 });
  const target = nats({ subject, jetstream: true });
  const batch = distinctPuts(20);
  batch[5] = distinctPuts(1, 'poison', { userMetadata: { 'X-Amz-Meta-Note': 'x'.repeat(8192) } })[0];
  const [tooLarge] = assertOnlyFailed(await target.sendBatch(batch), [5]);
  assert.match(
    tooLarge.error.message,
    new RegExp(`^${ARN}: .*publish to ${subject.replace(/\./g, '\\.')}: .*size`, 'i'),
  );
  assert.equal((await jsm.streams.info(stream)).state.messages, 19);
});

test('bad config is refused, naming the ARN and the field', () => {
  const valid = { address: endpoints.nats, subject: 'bucketevents' };
  assertConfigErrors(ARN, create, valid, [
    [{ subject: 'bucketevents.*' }, /subject: cannot publish to a wildcard subject/],
    [{ subject: '' }, /subject: required/],
    [{ client_cert: '/tmp/cert.pem' }, /client_key: client_cert and client_key go together/],
  ]);
});

test('health: online against the server, offline with a reason where nothing listens', async () => {
  assert.deepEqual(await nats({ subject: 'bucketevents' }).health(), { online: true });
  const down = nats({ address: `127.0.0.1:${await freePort()}`, subject: 'bucketevents' });
  const offline = await down.health();
  assert.equal(offline.online, false);
  assert.match(offline.detail ?? '', /CONNECTION_REFUSED|ECONNREFUSED/);
  await assertRetryable(
    down.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })),
    /CONNECTION_REFUSED|ECONNREFUSED/,
  );
});
