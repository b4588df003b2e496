// Ceph RGW's HTTP push body (doc/radosgw/notifications.rst) normalized to MinIO's record.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeObjectKey,
  eventIdentity,
  EventValidationError,
  parseEventBody,
  parseIncomingEvents,
} from '../../../src/events';
import { sourceFixture } from '../../helpers/fixtures';

test('a Ceph body becomes MinIO records with source "ceph", names mapped, key escaped as MinIO does', () => {
  const parsed = parseEventBody(sourceFixture('ceph-notifications.json'));
  assert.equal(parsed.source, 'ceph');
  const [put, removed] = parsed.events;
  assert.equal(put.source, 'ceph');
  assert.equal(put.record.eventName, 's3:ObjectCreated:Put'); // RGW wrote "ObjectCreated:Put"
  assert.equal(put.record.eventSource, 'ceph:s3');
  assert.equal(put.record.eventTime, '2019-11-22T13:47:35.124Z'); // microseconds -> MinIO's milliseconds
  assert.equal(put.record.s3.object.key, 'photos%2Fmy+image1.jpg');
  assert.equal(decodeObjectKey(put.record.s3.object.key), 'photos/my image1.jpg');
  assert.equal(put.record.s3.object.sequencer, 'F7E6D75DC742D108');
  assert.equal(put.record.s3.object.size, 1024);
  assert.equal(put.record.s3.object.eTag, '37b51d194a7513e45b56f6524f2d51f2');
  assert.equal(put.record.s3.object.versionId, undefined); // "" = unversioned
  assert.deepEqual(put.record.s3.object.userMetadata, { 'x-amz-meta-owner': 'alice', 'x-amz-meta-camera': 'x100' });
  assert.equal(put.record.s3.configurationId, 'mynotif1');
  assert.equal(put.record.s3.bucket.arn, 'arn:aws:s3:zonegroup1::mybucket1');
  assert.equal(put.record.awsRegion, 'zonegroup1');
  assert.deepEqual(put.extras, {
    eventId: '1574430455.124724.37b51d194a7513e45b56f6524f2d51f2',
    opaqueData: 'me@example.com',
    bucketId: '503a4c37-85eb-47cd-8681-2817e80b4281.5332.38',
    tags: { project: 'apollo' },
  });
  // Ceph's "s3:"-prefixed names and its space-separated time are accepted too; removals carry no size or eTag.
  assert.equal(removed.record.eventName, 's3:ObjectRemoved:DeleteMarkerCreated');
  assert.equal(removed.record.eventTime, '2019-11-22T13:48:01.500Z');
  assert.equal(removed.record.s3.object.versionId, 'ZYx2dB7qAXUsV8fAX0P4Zb2nFTsbVaV');
  assert.equal(removed.record.s3.object.size, undefined);
  // What comes out is a valid MinIO record, so the publish path, rules and targets take it unchanged.
  assert.deepEqual(parseIncomingEvents({ Records: [put.record, removed.record] }), [put.record, removed.record]);
  assert.notEqual(eventIdentity(put.record), eventIdentity(removed.record));
});

test('Ceph lifecycle names map to MinIO removals; names without an equivalent are refused, naming the field', () => {
  const body = sourceFixture('ceph-notifications.json');
  body.Records[0].eventName = 'ObjectLifecycle:Expiration:Current';
  assert.equal(parseEventBody(body).events[0].record.eventName, 's3:ObjectRemoved:Delete');
  body.Records[0].eventName = 'ObjectLifecycle:Expiration:AbortMultipartUpload';
  assert.throws(() => parseEventBody(body), {
    name: 'EventValidationError',
    message: /^Records\[0\]\.eventName: "ObjectLifecycle:Expiration:AbortMultipartUpload" has no MinIO equivalent/,
  });
});

test('a Ceph record missing its bucket or key, or with a bad metadata list, is a 400-style error naming the field', () => {
  const cases: Array<[(body: Record<string, any>) => void, RegExp]> = [
    [(b) => delete b.Records[1].s3.bucket.name, /^Records\[1\]\.s3\.bucket\.name: required$/],
    [(b) => delete b.Records[0].s3.object.key, /^Records\[0\]\.s3\.object\.key: required$/],
    [
      (b) => (b.Records[0].s3.object.metadata = { owner: 'alice' }),
      /^Records\[0\]\.s3\.object\.metadata: expected a list/,
    ],
    [
      (b) => (b.Records[0].s3.object.sequencer = 'xyz'),
      /^Records\[0\]\.s3\.object\.sequencer: expected up to 32 hexadecimal digits$/,
    ],
    [
      (b) => (b.Records[1].eventSource = 'minio:s3'),
      /^Records\[1\]\.eventSource: a minio record in a body of ceph records/,
    ],
  ];
  for (const [breakIt, expected] of cases) {
    const body = sourceFixture('ceph-notifications.json');
    breakIt(body);
    assert.throws(
      () => parseEventBody(body),
      (err: unknown) => err instanceof EventValidationError && expected.test(err.message),
    );
  }
});
