// The MQTT target against the stack's Mosquitto: what a subscriber on the topic receives.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { endpoints } from '../../../scripts/stack/endpoints';
import { EVENT_ID_HEADER } from '../../../src/targets/common';
import { create } from '../../../src/targets/mqtt';
import type { Target } from '../../../src/targets/target';
import { assertEnvelopes, Inbox, sendAndTake } from '../../helpers/inbox';
import { deliveryOf, putAndDelete } from '../../helpers/records';
import { assertConfigErrors, assertRetryable, freePort, targetConfig } from '../../helpers/target-config';
import { assertAllDelivered, assertEachOnce, distinctPuts, oneObjectShuffled } from '../../helpers/batch';
import { needs } from '../../helpers/needs';

const { after, before, test } = needs('mosquitto');

const ARN = 'arn:minio:sqs:us-east-1:1:mqtt';
const opened: Target[] = [];
let subscriber: MqttClient;

before(async () => {
  subscriber = await connectAsync(endpoints.mqtt, { protocolVersion: 5, reconnectPeriod: 0 });
});

after(async () => {
  await Promise.all(opened.map((t) => t.close()));
  await subscriber.endAsync();
});

function mqtt(raw: Record<string, unknown>): Target {
  const target = create(ARN, targetConfig('mqtt', { broker: endpoints.mqtt, ...raw }));
  opened.push(target);
  return target;
}

/** Subscribes to a fresh topic and collects what arrives on it. */
async function freshTopic(): Promise<{ topic: string; inbox: Inbox<IPublishPacket> }> {
  const topic = `bucketevents/${randomUUID()}`;
  const inbox = new Inbox<IPublishPacket>(() => subscriber.unsubscribeAsync(topic));
  subscriber.on('message', (t, _payload, packet) => {
    if (t === topic) inbox.add(packet);
  });
  await subscriber.subscribeAsync(topic, { qos: 2 });
  return { topic, inbox };
}

/** The body and the event id (MQTT 5 user property) of a message. */
function arrived(packet: IPublishPacket) {
  const eventId = packet.properties?.userProperties?.[EVENT_ID_HEADER];
  return { body: packet.payload.toString(), eventId: typeof eventId === 'string' ? eventId : undefined };
}

for (const qos of [0, 1, 2]) {
  test(`QoS ${qos}: put and delete arrive as the envelope, with the event id as a user property`, async () => {
    const { topic, inbox } = await freshTopic();
    const sent = putAndDelete();
    const messages = await sendAndTake(mqtt({ topic, qos }), inbox, sent);
    assertEnvelopes(messages, sent, arrived);
    for (const message of messages) assert.equal(message.properties?.contentType, 'application/json');
  });
}

test('the same event sent twice carries the same event id, so subscribers can dedupe', async () => {
  const { topic, inbox } = await freshTopic();
  const event = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'a b.jpg' });
  const messages = await sendAndTake(mqtt({ topic, qos: 1 }), inbox, [event, event]);
  assertEnvelopes(messages, [event, event], arrived);
  assert.equal(JSON.parse(messages[0].payload.toString()).Key, 'images/a b.jpg');
});

for (const qos of [1, 2]) {
  test(`sendBatch, QoS ${qos}: 200 publishes in flight together arrive each once, one object's in sequencer order`, async () => {
    const { topic, inbox } = await freshTopic();
    const target = mqtt({ topic, qos });
    const { batch: hot, inOrder } = oneObjectShuffled();
    const batch = [...distinctPuts(200), ...hot];
    assertAllDelivered(await target.sendBatch(batch), batch.length);
    const messages = await inbox.take(200 + inOrder.length);
    const ids = messages.map((m) => arrived(m).eventId);
    assertEachOnce(ids, [...batch.slice(0, 200), ...inOrder]);
    assert.deepEqual(
      ids.filter((id) => inOrder.some((d) => d.eventId === id)),
      inOrder.map((d) => d.eventId),
    );
    assert.deepEqual(JSON.parse(messages[0].payload.toString()), batch.find((d) => d.eventId === ids[0])!.envelope);
  });
}

test('sendBatch: a broker that cannot be reached fails every event, retryably', async () => {
  const down = mqtt({ broker: `tcp://127.0.0.1:${await freePort()}`, topic: 'bucketevents' });
  const results = await down.sendBatch(distinctPuts(3));
  assert.deepEqual(
    results.map((r) => r.ok || r.permanent),
    [false, false, false],
  );
  assert.match((results[0] as { error: Error }).error.message, /ECONNREFUSED/);
});

test('bad config is refused, naming the ARN and the field', () => {
  const valid = { broker: endpoints.mqtt, topic: 'bucketevents' };
  assertConfigErrors(ARN, create, valid, [
    [
      { broker: 'http://127.0.0.1:1883' },
      /broker: unsupported scheme "http:" \(expected tcp: ssl: tls: ws: wss: mqtt: mqtts:\)/,
    ],
    [{ broker: '127.0.0.1:1883' }, /broker:/],
    [{ topic: 'bucketevents/#' }, /topic: cannot publish to a wildcard topic/],
    [{ qos: 3 }, /qos: expected one of 0, 1, 2/],
  ]);
});

test('health: online against the broker, offline with a reason where nothing listens', async () => {
  assert.deepEqual(await mqtt({ topic: 'bucketevents' }).health(), { online: true });
  const down = mqtt({ broker: `tcp://127.0.0.1:${await freePort()}`, topic: 'bucketevents' });
  const offline = await down.health();
  assert.equal(offline.online, false);
  assert.match(offline.detail ?? '', /ECONNREFUSED/);
  await assertRetryable(
    down.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })),
    /ECONNREFUSED/,
  );
});
