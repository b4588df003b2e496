// SNS HTTP(S) messages (sns-message-and-json-formats): envelope checks, the signature against a certificate served
// from loopback (the allow-list points there), and the S3 event inside a Notification.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeObjectKey, EventValidationError, parseEventBody, parseSnsPayload } from '../../../src/events';
import { parseSnsMessage, snsStringToSign } from '../../../src/events/sources/sns';
import { SnsGate } from '../../../src/ingest/sns';
import { FakeSns } from '../../helpers/certificates';
import { sourceFixture } from '../../helpers/fixtures';

let sns: FakeSns;
before(async () => {
  sns = await FakeSns.start();
});
after(() => sns.close());

test("the string to sign follows SNS's field order, Subject only when present", () => {
  const message = parseSnsMessage(sourceFixture('sns-notification.json'));
  const signed = snsStringToSign(message);
  assert.ok(signed.startsWith(`Message\n${message.Message}\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nAmazon S3 Notification\n`));
  assert.ok(signed.endsWith('TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n'));
  const confirmation = parseSnsMessage(sourceFixture('sns-subscription-confirmation.json'));
  const text = snsStringToSign(confirmation);
  const positions = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'].map((name) => text.indexOf(`${name}\n${confirmation[name as keyof typeof confirmation]}\n`));
  assert.equal(positions[0], 0);
  assert.deepEqual([...positions].sort((a, b) => a - b), positions);
  assert.ok(text.endsWith('Type\nSubscriptionConfirmation\n'));
});

test('a Notification signed by the allow-listed certificate verifies (v1 and v2); its Message yields the S3 records', async () => {
  const gate = new SnsGate({ origins: ['http://127.0.0.1:*'] });
  for (const version of ['1', '2'] as const) {
    const message = parseSnsMessage(sns.sign(sourceFixture('sns-notification.json'), { SignatureVersion: version }));
    await gate.verify(message);
    const parsed = parseSnsPayload(message.Message);
    assert.equal(parsed.source, 'aws-sns');
    assert.equal(parsed.events[0].source, 'aws-sns');
    assert.equal(parsed.events[0].record.eventName, 's3:ObjectCreated:CompleteMultipartUpload');
    assert.equal(decodeObjectKey(parsed.events[0].record.s3.object.key), 'videos/cat video.mp4');
  }
  // Fetched once, then cached.
  assert.equal(sns.requests.filter((url) => url.endsWith('.pem')).length, 1);
});

test('a changed message, a certificate from a host not allow-listed, or a foreign topic is refused', async () => {
  const gate = new SnsGate({ origins: [sns.origin], topics: ['arn:aws:sns:us-west-2:123456789012:*'] });
  const signed = sns.sign(sourceFixture('sns-notification.json'));
  await assert.rejects(gate.verify(parseSnsMessage({ ...signed, Message: signed.Message.replace('cat+video', 'dog+video') })), /Signature: does not match/);
  const defaults = new SnsGate();
  await assert.rejects(defaults.verify(parseSnsMessage(signed)), /SigningCertURL: http:\/\/127\.0\.0\.1:\d+ is not an allowed SNS origin/);
  const foreign = sns.sign(sourceFixture('sns-notification.json'), { TopicArn: 'arn:aws:sns:us-west-2:999999999999:Other' });
  await assert.rejects(gate.verify(parseSnsMessage(foreign)), /TopicArn: arn:aws:sns:us-west-2:999999999999:Other is not in BUCKETFLOW_INGEST_SNS_TOPICS/);
});

test('SubscriptionConfirmation: SubscribeURL fetched only for an allow-listed topic', async () => {
  const confirmation = parseSnsMessage(sns.sign(sourceFixture('sns-subscription-confirmation.json')));
  const before = sns.requests.length;
  await assert.rejects(new SnsGate({ origins: [sns.origin] }).confirm(confirmation), /not confirming the subscription/);
  assert.equal(sns.requests.length, before);
  await new SnsGate({ origins: [sns.origin], topics: [confirmation.TopicArn] }).confirm(confirmation);
  assert.match(sns.requests.at(-1)!, /^\/\?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336/);
});

test('envelope problems name the field; SNS bodies are not accepted unverified by parseEventBody', () => {
  const fixture = sourceFixture('sns-notification.json');
  assert.throws(() => parseSnsMessage({ ...fixture, SignatureVersion: '3' }), /^EventValidationError: SignatureVersion: expected "1" or "2", got "3"$/);
  assert.throws(() => parseSnsMessage({ ...fixture, Signature: undefined }), /^EventValidationError: Signature: required$/);
  assert.throws(() => parseSnsMessage({ ...sourceFixture('sns-subscription-confirmation.json'), SubscribeURL: '' }), /SubscribeURL: required/);
  assert.throws(() => parseEventBody(fixture), /an SNS message: post it to the ingest server/);
  assert.throws(() => parseSnsPayload('{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "2012-05-02T00:54:06.600Z", "s3": {"object": {"key": "k"}}}]}'),
    (err: unknown) => err instanceof EventValidationError && err.message === 'Message.Records[0].s3.bucket: required');
  assert.throws(() => parseSnsPayload('not json'), /^EventValidationError: Message: not valid JSON/);
});
