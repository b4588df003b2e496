import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  EVENT_NAMES,
  EventValidationError,
  buildEvent,
  decodeObjectKey,
  encodeObjectKey,
  eventIdentity,
  eventIdentityParts,
  eventMatches,
  expandEventName,
  parseEventList,
  parseIncomingEvents,
  parseEventBody,
  parseIncomingJson,
  parseSourceBody,
  recordCount,
  toEnvelope,
  TooManyRecordsError,
} from '../../src/events';
import { unwrapNotification } from '../../src/http/sns';
import { sourceFixture } from '../helpers/fixtures';
import guideMessages from '../fixtures/minio-guide/sample-messages.json';

const time = new Date('2026-11-25T10:11:12.345Z');
const put = (key = 'photos/my cat.jpg', extra = {}) =>
  buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket: 'images',
    key,
    size: 200436,
    eTag: 'abc',
    eventTime: time,
    region: 'us-east-1',
    ...extra,
  });

describe('event names', () => {
  test('every family of MinIO event names is listed with its members', () => {
    assert.equal(EVENT_NAMES.length, 32); // 5 accessed, 8 created, 4 removed, 2 bucket, 5 replication, 2 restore, 2 transition, 3 scanner, 1 lifecycle
    for (const name of [
      's3:ObjectCreated:Put',
      's3:ObjectRemoved:DeleteMarkerCreated',
      's3:ObjectAccessed:Attributes',
      's3:BucketCreated:*',
      's3:Replication:OperationNotTracked',
      's3:Scanner:BigPrefix',
      's3:LifecycleDelMarkerExpiration:Delete',
    ]) {
      assert.ok(EVENT_NAMES.includes(name), name);
    }
  });

  test('every concrete name expands to itself and matches its family wildcard', () => {
    for (const name of EVENT_NAMES) {
      assert.deepEqual(expandEventName(name), [name]);
      const family = `s3:${name.split(':')[1]}:*`;
      assert.ok(eventMatches(family, name), `${family} covers ${name}`);
    }
  });

  test('wildcards expand to their family only', () => {
    assert.deepEqual(expandEventName('s3:ObjectRemoved:*'), [
      's3:ObjectRemoved:Delete',
      's3:ObjectRemoved:DeleteMarkerCreated',
      's3:ObjectRemoved:DeleteAllVersions',
      's3:ObjectRemoved:NoOP',
    ]);
    assert.equal(eventMatches('s3:ObjectRemoved:*', 's3:LifecycleDelMarkerExpiration:Delete'), false);
    assert.equal(eventMatches('s3:ObjectCreated:*', 's3:ObjectRemoved:Delete'), false);
    assert.equal(eventMatches('s3:ObjectCreated:Put', 's3:ObjectCreated:Post'), false);
    assert.throws(() => expandEventName('s3:ObjectMoved:*'), /unknown event name: s3:ObjectMoved:\*/);
    assert.throws(() => expandEventName('s3:ObjectCreated:Puts'), /unknown event name/);
    // Object.prototype's names are no family: `in` took them, and a rule for s3:constructor:* was accepted.
    for (const name of ['constructor', 'toString', '__proto__']) {
      assert.throws(() => expandEventName(`s3:${name}:*`), /unknown event name/);
      assert.throws(() => parseEventList(`s3:${name}:*`), /unknown event name/);
    }
  });

  test('mc shortcuts', () => {
    assert.deepEqual(parseEventList('put,delete,get'), [
      's3:ObjectCreated:*',
      's3:ObjectRemoved:*',
      's3:ObjectAccessed:*',
    ]);
    assert.deepEqual(parseEventList('ilm'), ['s3:ObjectRestore:*', 's3:ObjectTransition:*']);
    assert.deepEqual(parseEventList('scanner, s3:ObjectCreated:Copy'), [
      's3:Scanner:ManyVersions',
      's3:Scanner:BigPrefix',
      's3:ObjectCreated:Copy',
    ]);
    assert.throws(() => parseEventList('put,upload'), /unknown event name: upload/);
  });
});

describe('records', () => {
  test('built as MinIO emits them, key query-escaped, sequencer = ns time in hex', () => {
    const record = put();
    assert.equal(record.eventVersion, '2.0');
    assert.equal(record.eventSource, 'minio:s3');
    assert.equal(record.eventTime, '2026-11-25T10:11:12.345Z');
    assert.deepEqual(record.s3.bucket, {
      name: 'images',
      ownerIdentity: { principalId: 'minio' },
      arn: 'arn:aws:s3:::images',
    });
    assert.equal(record.s3.configurationId, 'Config');
    assert.deepEqual(Object.keys(record.s3.object), ['key', 'size', 'eTag', 'sequencer']);
    assert.equal(record.s3.object.key, 'photos%2Fmy+cat.jpg');
    assert.equal(BigInt(`0x${record.s3.object.sequencer}`), BigInt(time.getTime()) * 1_000_000n);
    assert.deepEqual(record.source, { host: '127.0.0.1', port: '', userAgent: 'bucketflow' });
  });

  test('removals carry no size or eTag', () => {
    const record = buildEvent({ eventName: 's3:ObjectRemoved:Delete', bucket: 'b', key: 'k', size: 5, eTag: 'e' });
    assert.deepEqual(Object.keys(record.s3.object), ['key', 'sequencer']);
  });

  test('keys round-trip through query escaping, unicode and reserved characters included', () => {
    for (const key of ['a b/c+d.jpg', 'über/日本語 ファイル.png', "it's (1)!*~.txt", '100%/x?y=z&w#']) {
      assert.equal(decodeObjectKey(encodeObjectKey(key)), key);
    }
    assert.equal(encodeObjectKey('a+b c/d!'), 'a%2Bb+c%2Fd%21');
    assert.equal(decodeObjectKey('myphoto.jpg'), 'myphoto.jpg');
  });

  test('the envelope carries the raw key', () => {
    const record = put();
    assert.deepEqual(toEnvelope(record), {
      EventName: 's3:ObjectCreated:Put',
      Key: 'images/photos/my cat.jpg',
      Records: [record],
    });
  });

  test('identity is stable for the same change and differs for any other', () => {
    const record = put();
    assert.match(eventIdentity(record), /^[0-9a-f]{32}$/);
    assert.equal(eventIdentity(record), eventIdentity(structuredClone(record)));
    const others = [
      put('photos/my dog.jpg'),
      put(undefined, { sequencer: 'FFFF' }),
      put(undefined, { versionId: 'v2' }),
      buildEvent({ eventName: 's3:ObjectCreated:Copy', bucket: 'images', key: 'photos/my cat.jpg', eventTime: time }),
      buildEvent({ eventName: 's3:ObjectCreated:Put', bucket: 'images2', key: 'photos/my cat.jpg', eventTime: time }),
    ];
    const ids = new Set([record, ...others].map(eventIdentity));
    assert.equal(ids.size, 6);
  });
});

describe('parsing what a storage server sends', () => {
  const record = put();
  const guideRecord = {
    eventVersion: '2.0',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2016-10-12T13:51:33Z',
    eventName: 's3:ObjectCreated:Put',
    userIdentity: { principalId: 'minio' },
    requestParameters: { sourceIPAddress: '[::1]:57106' },
    responseElements: {},
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'Config',
      bucket: { name: 'images', ownerIdentity: { principalId: 'minio' }, arn: 'arn:aws:s3:::images' },
      object: {
        key: 'myphoto.jpg',
        size: 56060,
        eTag: '1d97bf45ecb37f7a7b699418070df08f',
        sequencer: '147CCD1AE054BFD0',
      },
    },
  };

  test('accepts the webhook envelope, the old EventType one, {Records}, bare records and lists', () => {
    assert.deepEqual(parseIncomingEvents(toEnvelope(record)), [record]);
    assert.deepEqual(
      parseIncomingEvents({ EventType: 's3:ObjectCreated:Put', Key: 'images/myphoto.jpg', Records: [guideRecord] }),
      [guideRecord],
    );
    assert.deepEqual(parseIncomingEvents({ Records: [record, guideRecord] }), [record, guideRecord]);
    assert.deepEqual(parseIncomingEvents(record), [record]);
    assert.deepEqual(parseIncomingEvents([toEnvelope(record), guideRecord]), [record, guideRecord]);
    assert.deepEqual(parseIncomingJson(JSON.stringify(toEnvelope(record))), [record]);
  });

  const broken = (mutate: (r: any) => void) => {
    const copy = structuredClone(record) as any;
    mutate(copy);
    return { Records: [copy] };
  };
  const cases: Array<[string, unknown, string]> = [
    ['missing bucket name', broken((r) => delete r.s3.bucket.name), 'Records[0].s3.bucket.name: required'],
    ['missing s3', broken((r) => delete r.s3), 'Records[0].s3: required'],
    ['bad time', broken((r) => (r.eventTime = 'yesterday')), 'Records[0].eventTime: not an ISO-8601 time'],
    [
      'unknown event',
      broken((r) => (r.eventName = 's3:ObjectMoved:Put')),
      'Records[0].eventName: unknown event name "s3:ObjectMoved:Put"',
    ],
    ['size not a number', broken((r) => (r.s3.object.size = '12')), 'Records[0].s3.object.size: expected a number'],
    ['no sequencer', broken((r) => delete r.s3.object.sequencer), 'Records[0].s3.object.sequencer: required'],
    ['Records not a list', { Records: {} }, 'Records: expected a list of records'],
    ['empty Records', { Records: [] }, 'Records: empty'],
    ['second of a list', [record, { Records: [{}] }], '[1].Records[0].eventVersion: required'],
    ['not an object', 'hello', 'body: expected an object'],
    ['empty list', [], 'body: empty list of events'],
    [
      'an envelope EventName that is not a string',
      { ...toEnvelope(record), EventName: 7 },
      'EventName: expected a string',
    ],
  ];
  for (const [name, body, message] of cases) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => parseIncomingEvents(body),
        (err: unknown) => err instanceof EventValidationError && err.message === message,
      );
    });
  }

  test('rejects bad JSON with a clear message', () => {
    assert.throws(() => parseIncomingJson('{"Records": ['), /^EventValidationError: body: not valid JSON/);
  });
});

describe('the guide sample messages, as printed there', () => {
  const samples: Array<[string, unknown]> = Object.entries(guideMessages).map(([name, text]): [string, unknown] => {
    const body = JSON.parse(text);
    // The Elasticsearch sample is a search response: the stored document is its first hit's _source.
    return name === 'Elasticsearch search response'
      ? ['Elasticsearch _source', body.hits.hits[0]._source]
      : [name, body];
  });
  test('all six were found', () => assert.equal(samples.length, 6));
  for (const [name, body] of samples) {
    test(name, () => {
      const [record] = parseIncomingEvents(body);
      assert.equal(record.eventName, 's3:ObjectCreated:Put');
      assert.equal(record.s3.bucket.name, 'images');
      assert.equal(toEnvelope(record).Key, 'images/myphoto.jpg');
      assert.match(eventIdentity(record), /^[0-9a-f]{32}$/);
    });
  }
});

describe('every event name', () => {
  for (const name of EVENT_NAMES) {
    test(name, () => {
      const record = buildEvent({ eventName: name, bucket: 'b', key: 'k', size: 1 });
      assert.deepEqual(parseIncomingEvents(toEnvelope(record)), [record]);
    });
  }
  test('each family wildcard expands to exactly its own names, and all of them together to every name', () => {
    const families = [...new Set(EVENT_NAMES.map((n) => n.split(':')[1]))];
    const expanded = families.flatMap((family) => expandEventName(`s3:${family}:*`));
    assert.deepEqual(expanded.sort(), [...EVENT_NAMES].sort());
    for (const family of families)
      for (const name of expandEventName(`s3:${family}:*`)) assert.equal(name.split(':')[1], family);
  });
});

describe('records: the less common fields', () => {
  test('internal events carry null requestParameters; response elements as given; no metadata on removals', () => {
    const responseElements = { 'x-amz-request-id': '17A2B', 'x-minio-origin-endpoint': 'http://127.0.0.1:9000' };
    const lifecycle = buildEvent({
      eventName: 's3:ObjectTransition:Complete',
      bucket: 'b',
      key: 'k',
      requestParameters: null,
      responseElements,
    });
    assert.equal(lifecycle.requestParameters, null);
    assert.deepEqual(lifecycle.responseElements, responseElements);
    assert.deepEqual(parseIncomingEvents(lifecycle), [lifecycle]);
    const meta = { 'X-Amz-Meta-Owner': 'ann' };
    assert.deepEqual(put(undefined, { userMetadata: meta }).s3.object.userMetadata, meta);
    const removal = buildEvent({
      eventName: 's3:ObjectRemoved:Delete',
      bucket: 'b',
      key: 'k',
      userMetadata: meta,
      versionId: 'v1',
    });
    assert.deepEqual(Object.keys(removal.s3.object), ['key', 'versionId', 'sequencer']);
    assert.deepEqual(Object.keys(put('k', { size: 0 }).s3.object), ['key', 'eTag', 'sequencer']);
  });

  test('aws:s3 as configured', () => assert.equal(put(undefined, { eventSource: 'aws:s3' }).eventSource, 'aws:s3'));

  test('identity parts are the raw key, version, upper-case sequencer and event name', () => {
    const record = put('a b/c.jpg', { versionId: 'v1', sequencer: '17a2b' });
    assert.deepEqual(eventIdentityParts(record), ['images', 'a b/c.jpg', 'v1', '17A2B', 's3:ObjectCreated:Put']);
    assert.equal(eventIdentity(record), eventIdentity(put('a b/c.jpg', { versionId: 'v1', sequencer: '17A2B' })));
  });

  const broken = (mutate: (r: any) => void) => {
    const copy = structuredClone(put()) as any;
    mutate(copy);
    return copy;
  };
  const cases: Array<[string, unknown, string]> = [
    [
      'a non-hex sequencer',
      broken((r) => (r.s3.object.sequencer = 'xyz')),
      's3.object.sequencer: expected up to 32 hexadecimal digits',
    ],
    ['a negative size', broken((r) => (r.s3.object.size = -1)), 's3.object.size: expected a non-negative integer'],
    [
      'userMetadata not an object',
      broken((r) => (r.s3.object.userMetadata = 'x')),
      's3.object.userMetadata: expected an object',
    ],
    ['requestParameters a list', broken((r) => (r.requestParameters = [])), 'requestParameters: expected an object'],
    [
      'an eventTime without zone',
      broken((r) => (r.eventTime = '2026-11-25T10:11:12')),
      'eventTime: not an ISO-8601 time',
    ],
    ['an impossible date', broken((r) => (r.eventTime = '2026-13-45T10:11:12Z')), 'eventTime: not an ISO-8601 time'],
  ];
  for (const [name, body, message] of cases) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => parseIncomingEvents(body),
        (err: unknown) => err instanceof EventValidationError && err.message === message,
      );
    });
  }
});

describe('the records limit (the ingest passes BUCKETFLOW_INGEST_MAX_RECORDS)', () => {
  const record = put();
  const malformed = { eventName: 's3:ObjectCreated:Put' }; // not a whole record: an EventValidationError once read
  const tooMany = (err: unknown, count: number) =>
    err instanceof TooManyRecordsError &&
    err.message === `${count} records in one body; the limit is 2 (BUCKETFLOW_INGEST_MAX_RECORDS)`;

  test('is counted before any record is read: one more than the limit, the last malformed, is too many, not invalid', () => {
    assert.throws(
      () => parseEventBody({ Records: [record, record, malformed] }, 2),
      (err) => tooMany(err, 3),
    );
    assert.throws(
      () => parseEventBody([record, { Records: [record, malformed] }], 2),
      (err) => tooMany(err, 3),
    );
    const ceph = sourceFixture('ceph-notifications.json');
    assert.throws(
      () => parseEventBody({ Records: [...ceph.Records, malformed] }, 2),
      (err) => tooMany(err, 3),
    );
    assert.throws(
      () =>
        unwrapNotification(
          JSON.stringify({ Records: [...sourceFixture('aws-s3-object-created.json').Records, malformed] }),
          2,
        ),
      (err) => tooMany(err, 3),
    );
    // At the limit, the malformed record is read and refused naming itself.
    assert.throws(
      () => parseEventBody({ Records: [record, malformed] }, 2),
      /^EventValidationError: Records\[1\]\.eventVersion: required$/,
    );
  });

  test('counts what would become events: every record of every envelope in a list, one per EventBridge event, none for a test event', () => {
    assert.equal(
      recordCount('minio', [record, { Records: [record, record] }, { EventName: 'x', Records: [record] }]),
      4,
    );
    assert.equal(recordCount('minio', { Records: [record, record] }), 2);
    assert.equal(recordCount('minio', record), 1);
    assert.equal(recordCount('ceph', sourceFixture('ceph-notifications.json')), 2);
    assert.equal(recordCount('aws-s3', sourceFixture('aws-s3-test-event.json')), 0);
    assert.equal(recordCount('aws-eventbridge', sourceFixture('eventbridge-object-created.json')), 1);
    for (const [source, body] of [
      ['minio', [record, { Records: [record, record] }]],
      ['ceph', sourceFixture('ceph-notifications.json')],
      ['aws-s3', sourceFixture('aws-s3-object-created.json')],
    ] as const) {
      assert.equal(recordCount(source, body), parseSourceBody(source, body).events.length, source);
    }
  });
});
