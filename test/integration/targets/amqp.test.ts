// The AMQP target against the stack's RabbitMQ: what a pika consumer of the guide would receive.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as amqplib from 'amqplib';
import { endpoints } from '../../../scripts/stack/endpoints';
import { create } from '../../../src/targets/amqp';
import { PermanentDeliveryError } from '../../../src/delivery/failure';
import type { Delivery, Target } from '../../../src/targets/target';
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

const { after, before, test } = needs('rabbitmq');

const ARN = 'arn:minio:sqs:us-east-1:1:amqp';
const url = endpoints.amqp;
const opened: Target[] = [];
const exchanges: string[] = [];
let consumer: amqplib.ChannelModel;

before(async () => {
  consumer = await amqplib.connect(url);
});

after(async () => {
  await Promise.all(opened.map((t) => t.close()));
  for (const exchange of new Set(exchanges)) {
    // A failed delete (never declared) closes its channel: one channel per exchange.
    const channel = await consumer.createChannel();
    channel.on('error', () => undefined);
    await channel.deleteExchange(exchange).then(
      () => channel.close(),
      () => undefined,
    );
  }
  await consumer.close();
});

/** The guide's block, pointed at a fresh exchange. */
function amqp(raw: Record<string, unknown> = {}): Target {
  const exchange = (raw.exchange as string | undefined) ?? `bucketevents-${randomUUID()}`;
  exchanges.push(exchange);
  const config = targetConfig('amqp', {
    url,
    exchange,
    routingKey: 'bucketlogs',
    exchangeType: 'fanout',
    mandatory: false,
    immediate: false,
    durable: false,
    internal: false,
    noWait: false,
    autoDeleted: false,
    ...raw,
  });
  const target = create(ARN, config);
  opened.push(target);
  return target;
}

/** What the guide's pika program does: declare the exchange, bind a fresh queue, read what arrives. */
async function bindQueue(exchange: string, type = 'fanout', routingKey = '', bindArguments?: Record<string, unknown>) {
  const channel = await consumer.createChannel();
  await channel.assertExchange(exchange, type, { durable: false });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, routingKey, bindArguments);
  return {
    async take(count: number): Promise<amqplib.GetMessage[]> {
      const messages: amqplib.GetMessage[] = [];
      const deadline = Date.now() + 10_000;
      while (messages.length < count && Date.now() < deadline) {
        const message = await channel.get(queue, { noAck: true });
        if (message) messages.push(message);
        else await new Promise((r) => setTimeout(r, 50));
      }
      return messages;
    },
    /** Messages waiting in the queue now (after a confirmed publish, whatever was routed here is here). */
    async count(): Promise<number> {
      return (await channel.checkQueue(queue)).messageCount;
    },
    close: () => channel.close(),
  };
}

function exchangeOf(target: Target): string {
  return exchanges[opened.indexOf(target)];
}

test('put and delete reach a bound queue as the guide shows, with headers and message id', async () => {
  const target = amqp({ deliveryMode: 2 });
  const queue = await bindQueue(exchangeOf(target));
  const [put, del] = putAndDelete();
  await target.send(put);
  await target.send(del);

  const messages = await queue.take(2);
  assert.equal(messages.length, 2);
  for (const [i, sent] of [put, del].entries()) assertMessage(messages[i], sent);
  assert.equal(messages[0].properties.deliveryMode, 2);
  assert.equal(JSON.parse(messages[0].content.toString()).Key, 'images/myphoto.jpg');
  assert.equal(messages[1].properties.headers?.['minio-event'], 's3:ObjectRemoved:Delete');
  await queue.close();
});

test('the same event sent twice carries the same message id, so consumers can dedupe', async () => {
  const target = amqp();
  const queue = await bindQueue(exchangeOf(target));
  const event = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'a b/c.jpg' });
  await target.send(event);
  await target.send(event);
  const messages = await queue.take(2);
  assert.deepEqual(
    messages.map((m) => m.properties.messageId),
    [event.eventId, event.eventId],
  );
  assert.equal(JSON.parse(messages[0].content.toString()).Key, 'images/a b/c.jpg');
  await queue.close();
});

test('mandatory: an unroutable message is a retryable error; without mandatory the broker confirms and drops it', async () => {
  const event = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'x.jpg' });
  const strict = amqp({ exchangeType: 'direct', routingKey: 'nobody-listens', mandatory: true });
  await assert.rejects(strict.send(event), (err: Error) => {
    assert.ok(!(err instanceof PermanentDeliveryError));
    assert.match(err.message, new RegExp(`^${ARN}: .*unroutable \\(mandatory\\)`));
    return true;
  });
  // Once a queue is bound, the same target delivers.
  const queue = await bindQueue(exchangeOf(strict), 'direct', 'nobody-listens');
  await strict.send(event);
  assert.equal((await queue.take(1)).length, 1);
  await queue.close();

  // Without mandatory the broker confirms an unroutable message and drops it: send resolves, no queue of
  // the exchange gets it, and it is not held for a queue bound later.
  const lax = amqp({ exchangeType: 'direct', routingKey: 'nobody-listens', mandatory: false });
  const other = await bindQueue(exchangeOf(lax), 'direct', 'someone-else');
  await lax.send(event);
  const later = await bindQueue(exchangeOf(lax), 'direct', 'nobody-listens');
  assert.equal(await other.count(), 0);
  assert.equal(await later.count(), 0);
  // The same send once a queue is bound: delivered, so the drop above was the broker's routing, not the target.
  await lax.send(event);
  const [arrived] = await later.take(1);
  assert.equal(arrived.properties.messageId, event.eventId);
  assert.deepEqual(JSON.parse(arrived.content.toString()), event.envelope);
  await Promise.all([other.close(), later.close()]);
});

test('an exchange declared differently on the broker is a PermanentDeliveryError (406); the target recovers once fixed', async () => {
  const exchange = `bucketevents-${randomUUID()}`;
  const conflicting = await bindQueue(exchange, 'topic');
  const target = amqp({ exchange, exchangeType: 'fanout' });
  const event = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'k.jpg' });
  await assert.rejects(target.send(event), (err: Error) => {
    assert.ok(err instanceof PermanentDeliveryError, err.message);
    assert.match(err.message, /PRECONDITION_FAILED|406/);
    return true;
  });
  await conflicting.close();

  // The operator removes the conflicting exchange: the same target reconnects, declares and delivers.
  const admin = await consumer.createChannel();
  await admin.deleteExchange(exchange);
  await admin.close();
  const queue = await bindQueue(exchange, 'fanout');
  await target.send(event);
  assertMessage((await queue.take(1))[0], event);
  await queue.close();
});

test('refused credentials are a PermanentDeliveryError', async () => {
  const wrong = new URL(url);
  wrong.username = 'nobody';
  wrong.password = 'wrong';
  const target = amqp({ url: wrong.toString() });
  await assert.rejects(
    target.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })),
    (err: Error) => {
      assert.ok(err instanceof PermanentDeliveryError, err.message);
      assert.match(err.message, /ACCESS.REFUSED/);
      assert.doesNotMatch(err.message, /wrong/); // the password is not echoed
      return true;
    },
  );
});

test('bad config is refused, naming the ARN and the field', () => {
  const valid = { url, exchange: 'bucketevents', exchangeType: 'fanout' };
  assertConfigErrors(ARN, create, valid, [
    [{ url: 'http://127.0.0.1:5672' }, /url: unsupported scheme "http:" \(expected amqp: amqps:\)/],
    [{ exchange_type: '' }, /exchange_type: required with exchange/],
    [{ delivery_mode: 3 }, /delivery_mode:/],
  ]);
});

test('health: online against the broker, offline with a reason where nothing listens', async () => {
  assert.deepEqual(await amqp().health(), { online: true });
  const nowhere = new URL(url);
  nowhere.port = String(await freePort());
  const down = amqp({ url: nowhere.toString() });
  const offline = await down.health();
  assert.equal(offline.online, false);
  assert.match(offline.detail ?? '', /ECONNREFUSED/);
  await assertRetryable(
    down.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })),
    /ECONNREFUSED/,
  );
});

test("sendBatch: 200 events published together reach the queue each once, one object's in sequencer order", async () => {
  const target = amqp();
  const queue = await bindQueue(exchangeOf(target));
  const { batch: hot, inOrder } = oneObjectShuffled();
  const batch = [...distinctPuts(200), ...hot];
  assertAllDelivered(await target.sendBatch(batch), batch.length);
  const messages = await queue.take(200 + inOrder.length);
  const expected = [...batch.slice(0, 200), ...inOrder];
  assertEachOnce(
    messages.map((m) => m.properties.messageId),
    expected,
  );
  for (const message of messages)
    assertMessage(
      message,
      expected.find((d) => d.eventId === message.properties.messageId)!,
    );
  const hotIds = messages.map((m) => m.properties.messageId).filter((id) => inOrder.some((d) => d.eventId === id));
  assert.deepEqual(
    hotIds,
    inOrder.map((d) => d.eventId),
  );
  await queue.close();
});

test('sendBatch: with mandatory, the messages no queue takes come back and fail alone; the rest are confirmed', async () => {
  // A headers exchange whose one queue takes only puts: the batch's deletes are unroutable.
  const target = amqp({ exchangeType: 'headers', mandatory: true });
  const queue = await bindQueue(exchangeOf(target), 'headers', '', {
    'x-match': 'all',
    'minio-event': 's3:ObjectCreated:Put',
  });
  const { batch: hot } = oneObjectShuffled();
  const batch = [...distinctPuts(30), ...hot];
  const deletes = batch.flatMap((d, n) => (d.record.eventName === 's3:ObjectRemoved:Delete' ? [n] : []));
  assert.equal(deletes.length, 1);
  const [returned] = assertOnlyFailed(await target.sendBatch(batch), deletes);
  assert.ok(!returned.permanent);
  assert.match(returned.error.message, new RegExp(`^${ARN}: .*unroutable \\(mandatory\\)`));
  // Every put once (the repeated one is sent once), the delete nowhere.
  const taken = await queue.take(batch.length - 2);
  assert.equal(taken.length, batch.length - 2);
  assert.equal(await queue.count(), 0);
  assert.ok(taken.every((m) => m.properties.headers?.['minio-event'] === 's3:ObjectCreated:Put'));
  await queue.close();
});

function assertMessage(message: amqplib.GetMessage, sent: Delivery): void {
  assert.deepEqual(JSON.parse(message.content.toString()), sent.envelope);
  assert.equal(message.properties.contentType, 'application/json');
  assert.equal(message.properties.messageId, sent.eventId);
  assert.deepEqual(message.properties.headers, { 'minio-bucket': 'images', 'minio-event': sent.record.eventName });
  assert.equal(message.fields.routingKey, 'bucketlogs');
}
