// AWS S3 event notification records (notification-content-structure) normalized to MinIO's record.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeObjectKey,
  EventValidationError,
  parseEventBody,
  parseIncomingEvents,
  sequencerAt,
} from '../../../src/events';
import { sourceFixture } from '../../helpers/fixtures';

test('AWS records become MinIO records with source "aws-s3": S3 URL-encoding undone, MinIO escaping applied', () => {
  const parsed = parseEventBody(sourceFixture('aws-s3-object-created.json'));
  assert.equal(parsed.source, 'aws-s3');
  const [put, expired] = parsed.events.map((event) => event.record);
  assert.equal(put.eventName, 's3:ObjectCreated:Put');
  assert.equal(put.eventSource, 'aws:s3');
  assert.equal(decodeObjectKey(put.s3.object.key), 'photos/red flower(1).jpg'); // S3 sent photos/red+flower%281%29.jpg
  assert.equal(put.s3.object.key, 'photos%2Fred+flower%281%29.jpg'); // as MinIO escapes it
  assert.equal(put.s3.object.sequencer, '0055AED6DCD90281E5');
  assert.equal(put.s3.object.versionId, '096fKKXTRTtl3on89fVO.nfljtsv6qko');
  assert.equal(put.s3.object.size, 1024);
  assert.equal(put.userIdentity.principalId, 'AWS:AIDAJDPLRKLG7UEXAMPLE');
  assert.equal(put.responseElements['x-amz-request-id'], 'C3D13FE58DE4C810');
  assert.equal(put.awsRegion, 'us-west-2');
  assert.equal(put.source?.host, '172.16.0.1');
  // eventVersion 2.3's lifecycle names map to MinIO's removals.
  assert.equal(expired.eventName, 's3:ObjectRemoved:DeleteMarkerCreated');
  assert.deepEqual(parseIncomingEvents({ Records: [put, expired] }), [put, expired]);
});

test("S3's s3:TestEvent is accepted with nothing to deliver", () => {
  assert.deepEqual(parseEventBody(sourceFixture('aws-s3-test-event.json')), {
    source: 'aws-s3',
    events: [],
    nothingToDeliver: 's3:TestEvent',
  });
});

test('MinIO guide records (aws:s3 with s3: names) stay MinIO records', () => {
  const body = sourceFixture('aws-s3-object-created.json');
  body.Records = [body.Records[0]];
  body.Records[0].eventName = 's3:ObjectCreated:Put';
  // As MinIO writes it, the sequencer is the event's time in ns (S3's opaque one would be refused in a MinIO record
  // as forged: test/unit/sequencer-time.test.ts).
  body.Records[0].s3.object.sequencer = sequencerAt(Date.parse(body.Records[0].eventTime));
  assert.equal(parseEventBody(body).source, 'minio');
});

test('bad AWS records are refused naming the field; names with no MinIO equivalent too', () => {
  const cases: Array<[(body: Record<string, any>) => void, RegExp]> = [
    [(b) => delete b.Records[0].s3.bucket.name, /^Records\[0\]\.s3\.bucket\.name: required$/],
    [(b) => delete b.Records[1].s3.object.key, /^Records\[1\]\.s3\.object\.key: required$/],
    [
      (b) => (b.Records[0].eventName = 'ObjectAcl:Put'),
      /^Records\[0\]\.eventName: "ObjectAcl:Put" has no MinIO equivalent/,
    ],
    [(b) => (b.Records[0].eventTime = 'yesterday'), /^Records\[0\]\.eventTime: not an ISO-8601 time$/],
    [(b) => (b.Records[0].s3.object.size = -1), /^Records\[0\]\.s3\.object\.size: expected a non-negative integer$/],
  ];
  for (const [breakIt, expected] of cases) {
    const body = sourceFixture('aws-s3-object-created.json');
    breakIt(body);
    assert.throws(
      () => parseEventBody(body),
      (err: unknown) => err instanceof EventValidationError && expected.test(err.message),
      String(expected),
    );
  }
});

test('a body of none of the formats names what was expected', () => {
  for (const body of [{ hello: 'world' }, 42, 'text', null]) {
    assert.throws(
      () => parseEventBody(body),
      /^EventValidationError: body: expected MinIO's webhook body .*Ceph RGW or AWS S3, an SNS message .* or an EventBridge event/,
    );
  }
});
