// S3 events through Amazon EventBridge (AmazonS3 userguide ev-events) normalized to MinIO's record.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeObjectKey, EventValidationError, parseEventBody, parseIncomingEvents } from '../../../src/events';
import { sourceFixture } from '../../helpers/fixtures';

test('Object Created becomes s3:ObjectCreated:<reason> with source "aws-eventbridge"', () => {
  const parsed = parseEventBody(sourceFixture('eventbridge-object-created.json'));
  assert.equal(parsed.source, 'aws-eventbridge');
  const [{ record, extras, source }] = parsed.events;
  assert.equal(source, 'aws-eventbridge');
  assert.equal(record.eventName, 's3:ObjectCreated:Put');
  assert.equal(record.eventTime, '2021-11-12T00:00:00.000Z');
  assert.equal(record.awsRegion, 'ca-central-1');
  assert.equal(record.s3.bucket.name, 'amzn-s3-demo-bucket1');
  assert.equal(record.s3.object.key, 'reports%2Fq4+2021.csv');
  assert.equal(decodeObjectKey(record.s3.object.key), 'reports/q4 2021.csv');
  assert.equal(record.s3.object.sequencer, '617f08299329d189');
  assert.equal(record.s3.object.eTag, 'b1946ac92492d2347c6235b4d2611184');
  assert.equal(record.s3.object.versionId, 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e');
  assert.equal(record.responseElements['x-amz-request-id'], 'N4N7GDK58NMKJ12R');
  assert.deepEqual(extras, { id: '17793124-05d4-b198-2fde-7ededc63b103', account: '111122223333' });
  assert.deepEqual(parseIncomingEvents({ Records: [record] }), [record]);

  const reasons = {
    'POST Object': 's3:ObjectCreated:Post',
    CopyObject: 's3:ObjectCreated:Copy',
    CompleteMultipartUpload: 's3:ObjectCreated:CompleteMultipartUpload',
  };
  for (const [reason, name] of Object.entries(reasons)) {
    const body = sourceFixture('eventbridge-object-created.json');
    body.detail.reason = reason;
    assert.equal(parseEventBody(body).events[0].record.eventName, name);
  }
});

test('Object Deleted: a delete marker or a permanent delete', () => {
  const body = sourceFixture('eventbridge-object-deleted.json');
  assert.equal(parseEventBody(body).events[0].record.eventName, 's3:ObjectRemoved:DeleteMarkerCreated');
  body.detail['deletion-type'] = 'Permanently Deleted';
  assert.equal(parseEventBody(body).events[0].record.eventName, 's3:ObjectRemoved:Delete');
});

test('bad EventBridge events are refused naming the field', () => {
  const cases: Array<[(body: Record<string, any>) => void, RegExp]> = [
    [(b) => delete b.detail.bucket.name, /^detail\.bucket\.name: required$/],
    [(b) => delete b.detail.object.key, /^detail\.object\.key: required$/],
    [(b) => (b.source = 'aws.ec2'), /^source: expected "aws\.s3", got "aws\.ec2"$/],
    [(b) => (b['detail-type'] = 'Object ACL Updated'), /^detail-type: "Object ACL Updated" has no MinIO equivalent/],
    [
      (b) => (b.detail.reason = 'Teleport'),
      /^detail\.reason: expected one of PutObject, POST Object, CopyObject, CompleteMultipartUpload, got "Teleport"$/,
    ],
  ];
  for (const [breakIt, expected] of cases) {
    const body = sourceFixture('eventbridge-object-created.json');
    breakIt(body);
    assert.throws(
      () => parseEventBody(body),
      (err: unknown) => err instanceof EventValidationError && expected.test(err.message),
      String(expected),
    );
  }
});
