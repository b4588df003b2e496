// Property-based tests (fast-check) of every source format the ingest and the Kafka source parse: MinIO, Ceph RGW,
// AWS S3, EventBridge, SNS envelopes and the S3 records inside them. Any JSON value in any field position of a valid
// body, or any JSON as the whole body, is either accepted (and then what the publisher and the rules do with the
// record works too) or refused with EventValidationError naming a field; never a TypeError, URIError or RangeError,
// which the ingest answered with 500 (retried forever) and the Kafka source re-threw (its partition stopped).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { checkRecordSizes } from '../../../src/publish/publisher';
import {
  buildEvent,
  eventIdentity,
  EventValidationError,
  objectPath,
  orderingKey,
  parseEventBody,
  parseIncomingEvents,
  parseJson,
  storedValue,
  toEnvelope,
  type ParsedBody,
} from '../../../src/events';
import { Refusal } from '../../../src/http/answers';
import { parseSnsMessage, SnsEndpoint } from '../../../src/http/sns';
import { matchingArns } from '../../../src/rules';
import { FakeSns } from '../../helpers/certificates';
import { sourceFixture } from '../../helpers/fixtures';
import {
  HOSTILE_EXAMPLES,
  hostileValue,
  oneFieldReplaced,
  pathsOf,
  PROTOTYPE_NAMES,
  replacedAt,
} from '../../helpers/hostile-json';

const RUNS = Number(process.env.HOSTILE_RUNS ?? 400); // more for a deeper search: HOSTILE_RUNS=20000
const RULES = [
  {
    id: '1',
    arn: 'arn:minio:sqs::1:webhook',
    events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:Delete'],
    prefix: 'photos/',
    suffix: '.jpg',
  },
  { id: '2', arn: 'arn:minio:sqs::2:webhook', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' },
];

/** What the publisher and the rules do with an accepted record; a normalized record must also be a valid MinIO record.
 * */
function useAccepted(parsed: ParsedBody): void {
  checkRecordSizes(parsed.events);
  for (const { record, source } of parsed.events) {
    eventIdentity(record);
    orderingKey(record);
    objectPath(record);
    JSON.stringify(toEnvelope(record));
    storedValue(record);
    matchingArns(RULES, record.eventName, objectPath(record).slice(record.s3.bucket.name.length + 1));
    if (source !== 'minio')
      assert.deepEqual(
        parseIncomingEvents({ Records: [record] }),
        [record],
        'a normalized record is a valid MinIO record',
      );
  }
}

/** One line, `<field>: <problem>`, the field a path into the body (a key that is no plain name JSON-quoted:
 * `responseElements[": "]`). */
const namesItsField = (err: EventValidationError) =>
  /^[\w[]/.test(err.field) && err.message.startsWith(`${err.field}: `) && !/[\r\n]/.test(err.message);

/** 'accepted' or 'refused' (EventValidationError naming a field); anything else thrown fails the property. */
function outcomeOf(text: string): 'accepted' | 'refused' {
  let parsed: ParsedBody;
  try {
    parsed = parseEventBody(parseJson(text, 'body'));
  } catch (err) {
    if (err instanceof EventValidationError && namesItsField(err)) return 'refused';
    throw err;
  }
  useAccepted(parsed); // outside the try: a record accepted and then refused downstream fails the property
  return 'accepted';
}

const minioEnvelope = toEnvelope(
  buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket: 'photos',
    key: 'photos/cat 1.jpg',
    size: 3,
    eTag: 'e',
    versionId: 'v1',
    userMetadata: { 'X-Amz-Meta-A': 'b' },
  }),
);
const BODIES: Record<string, unknown> = {
  'MinIO webhook envelope': minioEnvelope,
  'MinIO list of records': [minioEnvelope.Records[0], { Records: [minioEnvelope.Records[0]] }],
  'Ceph RGW': sourceFixture('ceph-notifications.json'),
  'AWS S3': sourceFixture('aws-s3-object-created.json'),
  'AWS S3 test event': sourceFixture('aws-s3-test-event.json'),
  'EventBridge Object Created': sourceFixture('eventbridge-object-created.json'),
  'EventBridge Object Deleted': sourceFixture('eventbridge-object-deleted.json'),
};

describe('any JSON value in any field of a valid body: accepted, or refused naming the field', () => {
  for (const [format, body] of Object.entries(BODIES)) {
    test(format, () => {
      assert.equal(outcomeOf(JSON.stringify(body)), 'accepted', 'the fixture itself is accepted');
      const outcomes = { accepted: 0, refused: 0 };
      for (const path of pathsOf(body)) {
        for (const value of [...HOSTILE_EXAMPLES, undefined]) {
          try {
            outcomes[outcomeOf(replacedAt(body, path, value))]++;
          } catch (err) {
            assert.fail(`${path.join('.')} = ${JSON.stringify(value)}: ${String(err)}`);
          }
        }
      }
      fc.assert(
        fc.property(oneFieldReplaced(body), ({ text }) => void outcomes[outcomeOf(text)]++),
        { numRuns: RUNS },
      );
      assert.ok(outcomes.accepted > 0 && outcomes.refused > 0, `both outcomes seen: ${JSON.stringify(outcomes)}`);
    });
  }
});

test('any JSON as the whole body, or as one record of a body: accepted, or refused naming the field', () => {
  fc.assert(
    fc.property(hostileValue, (body) => void outcomeOf(JSON.stringify(body))),
    { numRuns: RUNS },
  );
  for (const body of [BODIES['Ceph RGW'], BODIES['AWS S3'], BODIES['MinIO webhook envelope']]) {
    fc.assert(
      fc.property(hostileValue, (record) => void outcomeOf(replacedAt(body, ['Records', 0], record))),
      { numRuns: RUNS / 4 },
    );
  }
});

test('the crashers found: objects in text fields, lone surrogates in keys, Object.prototype names as table keys', () => {
  const refusals: Array<[string, Array<string | number>, unknown, RegExp]> = [
    [
      'Ceph RGW',
      ['Records', 0, 'userIdentity', 'principalId'],
      { toString: 1 },
      /^Records\[0\]\.userIdentity\.principalId: expected a string$/,
    ],
    [
      'Ceph RGW',
      ['Records', 0, 's3', 'bucket', 'ownerIdentity', 'principalId'],
      { toString: 1 },
      /^Records\[0\]\.s3\.bucket\.ownerIdentity\.principalId: expected a string$/,
    ],
    [
      'AWS S3',
      ['Records', 0, 'requestParameters', 'sourceIPAddress'],
      { toString: 1 },
      /^Records\[0\]\.requestParameters\.sourceIPAddress: expected a string$/,
    ],
    [
      'AWS S3',
      ['Records', 1, 'responseElements', 'x-amz-id-2'],
      { toString: 1, valueOf: 1 },
      /^Records\[1\]\.responseElements\.x-amz-id-2: expected a string$/,
    ],
    [
      'AWS S3',
      ['Records', 1, 'responseElements'],
      { 'a: b\n': {} },
      /^Records\[1\]\.responseElements\["a: b\\n"\]: expected a string$/,
    ],
    [
      'AWS S3',
      ['Records', 0, 's3', 'object', 'key'],
      'photos/\ud800.jpg',
      /^Records\[0\]\.s3\.object\.key: not valid Unicode \(a lone surrogate at character 7\)$/,
    ],
    ['Ceph RGW', ['Records', 1, 's3', 'object', 'key'], '\udfff', /^Records\[1\]\.s3\.object\.key: not valid Unicode/],
    ['EventBridge Object Created', ['detail', 'object', 'key'], 'a\ud800', /^detail\.object\.key: not valid Unicode/],
    [
      'MinIO webhook envelope',
      ['Records', 0, 's3', 'object', 'key'],
      'a%2F\ud800',
      /^Records\[0\]\.s3\.object\.key: not valid Unicode/,
    ],
  ];
  for (const name of PROTOTYPE_NAMES) {
    refusals.push(
      ['Ceph RGW', ['Records', 0, 'eventName'], name, /^Records\[0\]\.eventName: ".*" has no MinIO equivalent/],
      ['EventBridge Object Created', ['detail', 'reason'], name, /^detail\.reason: expected one of PutObject/],
      ['EventBridge Object Created', ['detail-type'], name, /^detail-type: ".*" has no MinIO equivalent/],
    );
  }
  for (const [format, path, value, expected] of refusals) {
    assert.throws(
      () => parseEventBody(parseJson(replacedAt(BODIES[format], path, value), 'body')),
      (err: unknown) => err instanceof EventValidationError && expected.test(err.message),
      `${format} ${path.join('.')} = ${JSON.stringify(value)}`,
    );
  }
  // A surrogate pair is a character like any other.
  assert.equal(
    outcomeOf(replacedAt(BODIES['AWS S3'], ['Records', 0, 's3', 'object', 'key'], 'cat-\ud83d\ude00.jpg')),
    'accepted',
  );
});

test('a refused value is quoted JSON-escaped and cut, never sent back or logged whole', () => {
  const name = `Put\n\u001b[31m${'x'.repeat(1_000_000)}`;
  for (const [format, path] of [
    ['Ceph RGW', ['Records', 0, 'eventName']],
    ['EventBridge Object Created', ['detail-type']],
    ['MinIO webhook envelope', ['Records', 0, 'eventName']],
  ] as const) {
    assert.throws(
      () => parseEventBody(parseJson(replacedAt(BODIES[format], [...path], name), 'body')),
      (err: unknown) => {
        assert.ok(err instanceof EventValidationError);
        assert.ok(err.message.length < 400, `${format}: ${err.message.length} characters`);
        assert.match(err.message, /"Put\\n\\u001b\[31mxxx+"\.\.\. \(1000009 characters\)/);
        return true;
      },
    );
  }
});

describe('SNS', () => {
  const TOPIC = 'arn:aws:sns:us-west-2:123456789012:MyTopic';
  let sns: FakeSns;
  before(async () => (sns = await FakeSns.start()));
  after(async () => sns.close());

  /** 'accepted', 'refused' (EventValidationError) or 'denied' (a 4xx Refusal: topic, age, signature, certificate
   * origin). */
  async function received(endpoint: SnsEndpoint, text: string): Promise<string> {
    let receipt: Awaited<ReturnType<SnsEndpoint['receive']>>;
    try {
      receipt = await endpoint.receive(parseJson(text, 'body'));
    } catch (err) {
      if (err instanceof EventValidationError) return 'refused';
      if (err instanceof Refusal && err.status >= 400 && err.status < 500) return 'denied';
      throw err;
    }
    if ('events' in receipt) useAccepted(receipt.events);
    return 'accepted';
  }

  test('any JSON value in any envelope field: accepted, refused naming the field, or denied (4xx)', async () => {
    const endpoint = new SnsEndpoint({ origins: [sns.origin], topics: [TOPIC] });
    for (const fixture of ['sns-notification.json', 'sns-subscription-confirmation.json']) {
      const signed = sns.sign(sourceFixture(fixture));
      assert.equal(await received(endpoint, JSON.stringify(signed)), 'accepted');
      await fc.assert(
        fc.asyncProperty(oneFieldReplaced(signed), async ({ text }) => void (await received(endpoint, text))),
        { numRuns: RUNS / 2 },
      );
      fc.assert(
        fc.property(oneFieldReplaced(signed), ({ text }) => {
          try {
            parseSnsMessage(parseJson(text, 'body'));
          } catch (err) {
            if (!(err instanceof EventValidationError)) throw err;
          }
        }),
        { numRuns: RUNS },
      );
    }
  });

  test('any JSON value in any field of the S3 records a signed Notification carries: accepted or refused naming the field', async () => {
    const endpoint = new SnsEndpoint({ origins: [sns.origin], topics: [TOPIC] });
    const notification = sourceFixture('sns-notification.json');
    const inner = JSON.parse(notification.Message) as unknown;
    const outcomes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(oneFieldReplaced(inner), async ({ text }) => {
        const outcome = await received(endpoint, JSON.stringify(sns.sign({ ...notification, Message: text })));
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        assert.notEqual(outcome, 'denied', 'a validly signed message of an allowed topic is never denied');
      }),
      { numRuns: RUNS / 2 },
    );
    assert.ok(outcomes.accepted > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
  });
});
