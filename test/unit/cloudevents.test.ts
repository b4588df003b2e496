// The CloudEvents output without a server: the mapping of S3 records to CloudEvents 1.0 attributes (a table with the
// expected values written out), the structured and HTTP-binary forms parsed by the CloudEvents SDK, the binding's
// percent-encoding, and the `format` config key (default, environment variables, a bad value's one-line error).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import { ConfigError, loadTargetsConfig, type TargetType } from '../../src/config';
import { buildEvent, cloudEventAttributes, eventIdentity, toEnvelope, type EventSpec } from '../../src/events';
import type { S3EventRecord } from '../../src/events/types';
import { envelopeJson } from '../../src/targets/common';
import { attributeHeaders, encodeMessage, percentEncodeHeaderValue } from '../../src/targets/message-format';
import type { Delivery } from '../../src/targets/target';

function record(spec: Partial<EventSpec>, overrides: Partial<S3EventRecord> = {}): S3EventRecord {
  return {
    ...buildEvent({
      eventName: 's3:ObjectCreated:Put',
      bucket: 'photos',
      key: 'cat.jpg',
      size: 56060,
      eTag: '1d97bf45ecb37f7a7b699418070df08f',
      contentType: 'image/jpeg',
      eventTime: new Date('2024-05-01T12:00:00.123Z'),
      ...spec,
    }),
    ...overrides,
  };
}

function deliveryOf(rec: S3EventRecord): Delivery {
  return { eventId: eventIdentity(rec), record: rec, envelope: toEnvelope(rec) };
}

describe('the mapping of an S3 record to CloudEvents attributes', () => {
  const cases: Array<[string, S3EventRecord, { source: string; type: string; subject: string; time?: string }]> = [
    [
      'a MinIO put: the bucket under minio:s3, the event name, the key, eventTime as written',
      record({}),
      {
        source: 'minio:s3:::photos',
        type: 's3:ObjectCreated:Put',
        subject: 'cat.jpg',
        time: '2024-05-01T12:00:00.123Z',
      },
    ],
    [
      'the key raw, though the record carries it query-escaped',
      record({ key: 'holiday 2024/my photo+1.jpg' }),
      {
        source: 'minio:s3:::photos',
        type: 's3:ObjectCreated:Put',
        subject: 'holiday 2024/my photo+1.jpg',
        time: '2024-05-01T12:00:00.123Z',
      },
    ],
    [
      'a delete of a version, from Ceph: its eventSource, a non-ASCII key',
      record(
        { eventName: 's3:ObjectRemoved:Delete', key: 'café/ü €.txt', versionId: 'v1', eventSource: 'ceph:s3' },
        {},
      ),
      {
        source: 'ceph:s3:::photos',
        type: 's3:ObjectRemoved:Delete',
        subject: 'café/ü €.txt',
        time: '2024-05-01T12:00:00.123Z',
      },
    ],
    [
      'an eventTime with an offset, RFC 3339 already: kept',
      record({}, { eventTime: '2024-05-01T14:00:00+02:00' }),
      {
        source: 'minio:s3:::photos',
        type: 's3:ObjectCreated:Put',
        subject: 'cat.jpg',
        time: '2024-05-01T14:00:00+02:00',
      },
    ],
    [
      'an eventTime that is a date but not RFC 3339: normalized',
      record({}, { eventTime: 'Wed, 01 May 2024 12:00:00 GMT' }),
      {
        source: 'minio:s3:::photos',
        type: 's3:ObjectCreated:Put',
        subject: 'cat.jpg',
        time: '2024-05-01T12:00:00.000Z',
      },
    ],
    [
      'an eventTime that is no time, an eventSource that is no URI scheme: no time, minio:s3',
      record({}, { eventTime: 'soon', eventSource: 'my source' }),
      { source: 'minio:s3:::photos', type: 's3:ObjectCreated:Put', subject: 'cat.jpg' },
    ],
  ];
  for (const [name, rec, expected] of cases) {
    test(name, () => {
      assert.deepEqual(cloudEventAttributes(rec), {
        specversion: '1.0',
        id: eventIdentity(rec),
        ...expected,
        datacontenttype: 'application/json',
      });
      // The CloudEvents SDK takes the attributes as a valid 1.0 event (strict: it validates them).
      assert.doesNotThrow(() => new CloudEvent({ ...cloudEventAttributes(rec), data: toEnvelope(rec) }, true));
    });
  }

  test('id: the event identity, the same for a redelivery of the event, another for another event', () => {
    const put = record({});
    assert.equal(cloudEventAttributes(structuredClone(put)).id, cloudEventAttributes(put).id);
    assert.match(cloudEventAttributes(put).id, /^[0-9a-f]{32}$/);
    assert.notEqual(
      cloudEventAttributes(record({ eventName: 's3:ObjectRemoved:Delete' })).id,
      cloudEventAttributes(put).id,
    );
    // A delivery's own id wins (it is the identity the publisher computed).
    assert.equal(cloudEventAttributes(put, 'given').id, 'given');
  });
});

describe('the forms a target sends', () => {
  const delivery = deliveryOf(record({ key: 'holiday 2024/"100%" café.jpg' }));

  test('minio: the envelope byte for byte, application/json, no CloudEvent', () => {
    assert.deepEqual(encodeMessage(delivery, 'minio'), {
      body: JSON.stringify({
        EventName: 's3:ObjectCreated:Put',
        Key: 'photos/holiday 2024/"100%" café.jpg',
        Records: [delivery.record],
      }),
      cloudEvent: false,
      contentType: 'application/json',
    });
    assert.deepEqual(encodeMessage(delivery, ''), encodeMessage(delivery, 'minio'));
  });

  test('cloudevents (structured): the SDK parses the HTTP request; data is the envelope, spliced in byte for byte', () => {
    const message = encodeMessage(delivery, 'cloudevents');
    assert.equal(message.contentType, 'application/cloudevents+json; charset=utf-8');
    assert.ok(message.body.endsWith(`,"data":${envelopeJson(delivery)}}`));
    const event = HTTP.toEvent({ headers: { 'content-type': message.contentType }, body: message.body }) as CloudEvent;
    assertEventOf(event, delivery);
  });

  test('cloudevents-binary over HTTP: ce- headers percent-encoded, the body the envelope; the SDK parses it', () => {
    const message = encodeMessage(delivery, 'cloudevents-binary');
    assert.equal(message.body, envelopeJson(delivery));
    const headers: Record<string, string> = {
      'content-type': message.contentType,
      ...attributeHeaders(message.binary!, 'ce-', { encode: percentEncodeHeaderValue }),
    };
    assert.equal(headers['ce-subject'], 'holiday%202024/%22100%25%22%20caf%C3%A9.jpg');
    assert.equal(headers['ce-datacontenttype'], undefined); // the Content-Type carries it
    // The SDK does not percent-decode header values (the HTTP binding says a receiver must): done here.
    const event = HTTP.toEvent({ headers, body: message.body }) as CloudEvent;
    assertEventOf(new CloudEvent({ ...event, subject: decodeURIComponent(event.subject!) }), delivery);
  });

  test("percent-encoding: space, '\"', '%' and everything outside printable ASCII, by UTF-8 byte, upper-case hex", () => {
    for (const [value, encoded] of [
      ['Euro € 😀', 'Euro%20%E2%82%AC%20%F0%9F%98%80'], // the binding's own example
      ['a"b%c', 'a%22b%25c'],
      ['tab\there\n', 'tab%09here%0A'],
      ["plain/key_1-2.jpg~!#$&'()*+,:;=?@[]", "plain/key_1-2.jpg~!#$&'()*+,:;=?@[]"],
    ]) {
      assert.equal(percentEncodeHeaderValue(value), encoded);
      assert.equal(decodeURIComponent(encoded), value);
    }
  });
});

/** A parsed event carries the delivery's attributes and its envelope as data. */
function assertEventOf(event: CloudEvent, delivery: Delivery): void {
  const rec = delivery.record;
  assert.equal(event.specversion, '1.0');
  assert.equal(event.id, eventIdentity(rec));
  assert.equal(event.source, 'minio:s3:::photos');
  assert.equal(event.type, rec.eventName);
  assert.equal(event.subject, 'holiday 2024/"100%" café.jpg');
  assert.equal(event.time, new Date(rec.eventTime).toISOString());
  assert.equal(event.datacontenttype, 'application/json');
  assert.deepEqual(event.data, delivery.envelope);
  event.validate();
}

describe('the format config key', () => {
  const MESSAGE_TYPES: TargetType[] = ['webhook', 'kafka', 'amqp', 'nats', 'mqtt'];
  const load = (notify: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
    loadTargetsConfig({ env, text: JSON.stringify({ notify }) }).targets.map(
      (t) => [t.arn, (t.config as { format?: string }).format] as const,
    );

  test('each message target type takes minio by default and the two CloudEvents modes', () => {
    for (const type of MESSAGE_TYPES) {
      for (const format of [undefined, 'cloudevents', 'cloudevents-binary', 'minio']) {
        const loaded = load({ [type]: { '1': { enable: false, ...(format ? { format } : {}) } } });
        assert.deepEqual(loaded, [[`arn:minio:sqs:us-east-1:1:${type}`, format ?? 'minio']], `${type} ${format}`);
      }
    }
  });

  test("MinIO-style environment variables set it (MINIO_NOTIFY_<TYPE>_FORMAT[_<ID>]), over the file's", () => {
    const env = {
      MINIO_NOTIFY_WEBHOOK_FORMAT_1: 'cloudevents-binary',
      MINIO_NOTIFY_KAFKA_FORMAT: 'cloudevents',
      MINIO_NOTIFY_NATS_ENABLE_2: 'off',
      MINIO_NOTIFY_NATS_FORMAT_2: 'cloudevents',
    };
    assert.deepEqual(load({ webhook: { '1': { enable: false, format: 'minio' } } }, env), [
      ['arn:minio:sqs:us-east-1:_:kafka', 'cloudevents'],
      ['arn:minio:sqs:us-east-1:2:nats', 'cloudevents'],
      ['arn:minio:sqs:us-east-1:1:webhook', 'cloudevents-binary'],
    ]);
  });

  test('a bad value: one line naming the target, the field and the values it takes', () => {
    const cases: Array<[Record<string, unknown>, NodeJS.ProcessEnv, string]> = [
      [
        { webhook: { '1': { enable: true, endpoint: 'http://127.0.0.1:1/', format: 'cloudevent' } } },
        {},
        'arn:minio:sqs:us-east-1:1:webhook: notify.webhook.1.format: expected one of minio, cloudevents, cloudevents-binary',
      ],
      [
        {},
        { MINIO_NOTIFY_MQTT_FORMAT_7: 'json' },
        'arn:minio:sqs:us-east-1:7:mqtt: notify.mqtt.7.format: expected one of minio, cloudevents, cloudevents-binary',
      ],
      [
        // Store targets keep their own format (namespace or access).
        { redis: { '1': { enable: true, address: '127.0.0.1:6379', key: 'k', format: 'cloudevents' } } },
        {},
        'arn:minio:sqs:us-east-1:1:redis: notify.redis.1.format: expected one of namespace, access',
      ],
    ];
    for (const [notify, env, message] of cases) {
      assert.throws(
        () => load(notify, env),
        (err: Error) => err instanceof ConfigError && err.message === message && !err.message.includes('\n'),
        message,
      );
    }
  });
});
