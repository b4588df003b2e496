// The MQTT target against the stack's Mosquitto: what a subscriber on the topic receives.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { endpoints } from '../../../scripts/stack/endpoints';
import { EVENT_ID_HEADER } from '../../../src/targets/common';
import { create } from '../../../src/targets/mqtt';
import type { Target } from '../../../src/targets/target';
import { deliveryOf, putAndDelete } from '../../helpers/records';
import { assertConfigErrors, assertRetryable, freePort, targetConfig } from '../../helpers/target-config';
import { assertAllDelivered, assertEachOnce, distinctPuts, oneObjectShuffled } from '../../helpers/batch';

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
async function freshTopic() {
  const topic = `bucketevents/${randomUUID()}`;
  const received: IPublishPacket[] = [];
  subscriber.on('message', (t, _payload, packet) => {
    if (t === topic) received.push(packet);
  });
  await subscriber.subscribeAsync(topic, { qos: 2 });
  return {
    topic,
    async take(count: number): Promise<IPublishPacket[]> {
      const deadline = Date.now() + 10_000;
      while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await subscriber.unsubscribeAsync(topic);
      return received;
    },
  };
}

for (const qos of [0, 1, 2]) {
  test(`QoS ${qos}: put and delete arrive as the envelope, with the event id as a user property`, async () => {
    const inbox = await freshTopic();
    const target = mqtt({ topic: inbox.topic, qos });
    const [put, del] = putAndDelete();
    await target.send(put);
    await target.send(del);

    const messages = await inbox.take(2);
    assert.equal(messages.length, 2);
    for (const [i, sent] of [put, del].entries()) {
      assert.deepEqual(JSON.parse(messages[i].payload.toString()), sent.envelope);
      assert.equal(messages[i].properties?.userProperties?.[EVENT_ID_HEADER], sent.eventId);
      assert.equal(messages[i].properties?.contentType, 'application/json');
    }
  });
}

test('the same event sent twice carries the same event id, so subscribers can dedupe', async () => {
  const inbox = await freshTopic();
  const target = mqtt({ topic: inbox.topic, qos: 1 });
  const event = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: 'a b.jpg' });
  await target.send(event);
  await target.send(event);
  const messages = await inbox.take(2);
  assert.deepEqual(messages.map((m) => m.properties?.userProperties?.[EVENT_ID_HEADER]), [event.eventId, event.eventId]);
  assert.equal(JSON.parse(messages[0].payload.toString()).Key, 'images/a b.jpg');
});

for (const qos of [1, 2]) {
  test(`sendBatch, QoS ${qos}: 200 publishes in flight together arrive each once, one object's in sequencer order`, async () => {
    const inbox = await freshTopic();
    const target = mqtt({ topic: inbox.topic, qos });
    const { batch: hot, inOrder } = oneObjectShuffled();
    const batch = [...distinctPuts(200), ...hot];
    assertAllDelivered(await target.sendBatch(batch), batch.length);
    const messages = await inbox.take(200 + inOrder.length);
    const ids = messages.map((m) => m.properties?.userProperties?.[EVENT_ID_HEADER] as string | undefined);
    assertEachOnce(ids, [...batch.slice(0, 200), ...inOrder]);
    assert.deepEqual(ids.filter((id) => inOrder.some((d) => d.eventId === id)), inOrder.map((d) => d.eventId));
    assert.deepEqual(JSON.parse(messages[0].payload.toString()), batch.find((d) => d.eventId === ids[0])!.envelope);
  });
}

test('sendBatch: a broker that cannot be reached fails every event, retryably', async () => {
  const down = mqtt({ broker: `tcp://127.0.0.1:${await freePort()}`, topic: 'bucketevents' });
  const results = await down.sendBatch(distinctPuts(3));
  assert.deepEqual(results.map((r) => r.ok || r.permanent), [false, false, false]);
  assert.match((results[0] as { error: Error }).error.message, /ECONNREFUSED/);
});

test('bad config is refused, naming the ARN and the field', () => {
  const valid = { broker: endpoints.mqtt, topic: 'bucketevents' };
  assertConfigErrors(ARN, create, valid, [
    [{ broker: 'http://127.0.0.1:1883' }, /broker: unsupported scheme "http:" \(expected tcp: ssl: tls: ws: wss: mqtt: mqtts:\)/],
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
  await assertRetryable(down.send(deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'b', key: 'k' })), /ECONNREFUSED/);
});
