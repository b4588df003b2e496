// The SNS protocol (src/http/sns.ts) against a loopback stand-in for SNS whose certificate is made for the test:
// envelope checks, the topic allow-list, freshness, the signature, the certificate's origin and subject, subscription
// confirmation, and the S3 event inside a Notification; certificates cached by origin and path (a query string is no
// new fetch) and fetched at most CERTIFICATE_FETCHES_PER_MINUTE a minute; SignatureVersion 2 required on request.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeObjectKey, EventValidationError, parseEventBody } from '../../../src/events';
import { Refusal } from '../../../src/http/answers';
import {
  CERTIFICATE_FETCHES_PER_MINUTE,
  DEFAULT_SNS_ORIGINS,
  originPattern,
  parseSnsMessage,
  SnsEndpoint,
  snsStringToSign,
  unwrapNotification,
} from '../../../src/http/sns';
import { FakeSns } from '../../helpers/certificates';
import { sourceFixture } from '../../helpers/fixtures';

const TOPIC = 'arn:aws:sns:us-west-2:123456789012:MyTopic';
let sns: FakeSns;
let impostor: FakeSns;
before(async () => {
  sns = await FakeSns.start();
  impostor = await FakeSns.start('sns.attacker.example');
});
after(async () => {
  await sns.close();
  await impostor.close();
});

/** Rejects with a Refusal of `status` whose message matches `pattern`. */
const refused = (status: number, pattern: RegExp) => (err: unknown) =>
  err instanceof Refusal && err.status === status && pattern.test(err.message);

test("the string to sign follows SNS's field order, Subject only when present", () => {
  const message = parseSnsMessage(sourceFixture('sns-notification.json'));
  const signed = snsStringToSign(message);
  assert.ok(
    signed.startsWith(
      `Message\n${message.Message}\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nAmazon S3 Notification\n`,
    ),
  );
  assert.ok(signed.endsWith('TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n'));
  const confirmation = parseSnsMessage(sourceFixture('sns-subscription-confirmation.json'));
  const text = snsStringToSign(confirmation);
  const positions = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'].map((name) =>
    text.indexOf(`${name}\n${confirmation[name as keyof typeof confirmation]}\n`),
  );
  assert.equal(positions[0], 0);
  assert.deepEqual(
    [...positions].sort((a, b) => a - b),
    positions,
  );
  assert.ok(text.endsWith('Type\nSubscriptionConfirmation\n'));
});

test('a Notification of an allow-listed topic, signed by the allow-listed certificate, yields its S3 records (v1 and v2)', async () => {
  const endpoint = new SnsEndpoint({ origins: ['http://127.0.0.1:*'], topics: [TOPIC] });
  const fetched = sns.requests.filter((url) => url.endsWith('.pem')).length;
  for (const version of ['1', '2'] as const) {
    const receipt = await endpoint.receive(
      sns.sign(sourceFixture('sns-notification.json'), { SignatureVersion: version }),
    );
    assert.ok('events' in receipt);
    const parsed = receipt.events;
    assert.equal(parsed.source, 'aws-sns');
    assert.equal(parsed.events[0].source, 'aws-sns');
    assert.equal(parsed.events[0].record.eventName, 's3:ObjectCreated:CompleteMultipartUpload');
    assert.equal(decodeObjectKey(parsed.events[0].record.s3.object.key), 'videos/cat video.mp4');
  }
  // Fetched once, then cached.
  assert.equal(sns.requests.filter((url) => url.endsWith('.pem')).length, fetched + 1);
});

test('topics: none allow-listed refuses every Notification; a foreign topic is refused; an explicit * accepts any', async () => {
  const signed = sns.sign(sourceFixture('sns-notification.json'));
  await assert.rejects(
    new SnsEndpoint({ origins: [sns.origin] }).receive(signed),
    refused(403, /^TopicArn: arn:aws:sns:us-west-2:123456789012:MyTopic is not in BUCKETFLOW_INGEST_SNS_TOPICS/),
  );
  const foreign = sns.sign(sourceFixture('sns-notification.json'), {
    TopicArn: 'arn:aws:sns:us-west-2:999999999999:Other',
  });
  await assert.rejects(
    new SnsEndpoint({ origins: [sns.origin], topics: ['arn:aws:sns:us-west-2:123456789012:*'] }).receive(foreign),
    refused(403, /TopicArn: arn:aws:sns:us-west-2:999999999999:Other is not in/),
  );
  const any = await new SnsEndpoint({ origins: [sns.origin], topics: ['*'] }).receive(foreign);
  assert.ok('events' in any);
});

test('a message older than an hour (or an hour ahead) is refused; one a minute old is accepted', async () => {
  const endpoint = new SnsEndpoint({ origins: [sns.origin], topics: [TOPIC] });
  const at = (offsetMs: number) =>
    sns.sign(sourceFixture('sns-notification.json'), { Timestamp: new Date(Date.now() + offsetMs).toISOString() });
  await assert.rejects(
    endpoint.receive(at(-61 * 60_000)),
    refused(403, /^Timestamp: .* is more than 60 minutes from now/),
  );
  await assert.rejects(endpoint.receive(at(61 * 60_000)), refused(403, /^Timestamp: /));
  assert.ok('events' in (await endpoint.receive(at(-60_000))));
  await assert.rejects(
    endpoint.receive({ ...at(0), Timestamp: 'yesterday' }),
    /^EventValidationError: Timestamp: not an ISO-8601 time$/,
  );
});

test('a changed message, a certificate from an origin not allow-listed, or a certificate of another subject is refused', async () => {
  const endpoint = new SnsEndpoint({ origins: [sns.origin, impostor.origin], topics: [TOPIC] });
  const signed = sns.sign(sourceFixture('sns-notification.json'));
  await assert.rejects(
    endpoint.receive({ ...signed, Message: signed.Message.replace('cat+video', 'dog+video') }),
    refused(403, /^Signature: does not match/),
  );
  await assert.rejects(
    new SnsEndpoint({ topics: [TOPIC] }).receive(signed),
    refused(403, /^SigningCertURL: http:\/\/127\.0\.0\.1:\d+ is not an allowed SNS origin/),
  );
  // Validly signed by its own key, but the certificate is not SNS's.
  await assert.rejects(
    endpoint.receive(impostor.sign(sourceFixture('sns-notification.json'))),
    refused(403, /^SigningCertURL: certificate subject CN=sns\.attacker\.example is not SNS's/),
  );
});

test("the default origins are SNS's regional hosts only", () => {
  const allowed = (origin: string) => DEFAULT_SNS_ORIGINS.map(originPattern).some((pattern) => pattern.test(origin));
  for (const origin of [
    'https://sns.us-east-1.amazonaws.com',
    'https://sns.eu-central-1.amazonaws.com',
    'https://sns.us-gov-west-1.amazonaws.com',
    'https://sns.cn-north-1.amazonaws.com.cn',
  ]) {
    assert.ok(allowed(origin), origin);
  }
  for (const origin of [
    'https://sns.s3-us-west-2.amazonaws.com',
    'https://sns.s3.amazonaws.com',
    'http://sns.us-east-1.amazonaws.com',
    'https://sns.us-east-1.amazonaws.com.evil.example',
    'https://sns.us-east-1.amazonaws.com:8443',
    'https://evil.sns.us-east-1.amazonaws.com',
    'https://sns.amazonaws.com',
  ]) {
    assert.equal(allowed(origin), false, origin);
  }
});

test('SubscriptionConfirmation: SubscribeURL fetched only for an allow-listed topic', async () => {
  const confirmation = sns.sign(sourceFixture('sns-subscription-confirmation.json'));
  const before = sns.requests.filter((url) => url.startsWith('/?Action=ConfirmSubscription')).length;
  await assert.rejects(
    new SnsEndpoint({ origins: [sns.origin] }).receive(confirmation),
    refused(403, /is not in BUCKETFLOW_INGEST_SNS_TOPICS/),
  );
  assert.equal(sns.requests.filter((url) => url.startsWith('/?Action=ConfirmSubscription')).length, before);
  assert.deepEqual(
    await new SnsEndpoint({ origins: [sns.origin], topics: [confirmation.TopicArn] }).receive(confirmation),
    { answer: { confirmed: TOPIC } },
  );
  assert.match(
    sns.requests.at(-1)!,
    /^\/\?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336/,
  );
});

test('envelope problems name the field; SNS bodies are not accepted unverified by parseEventBody', () => {
  const fixture = sourceFixture('sns-notification.json');
  assert.throws(
    () => parseSnsMessage({ ...fixture, SignatureVersion: '3' }),
    /^EventValidationError: SignatureVersion: expected "1" or "2", got "3"$/,
  );
  assert.throws(
    () => parseSnsMessage({ ...fixture, Signature: undefined }),
    /^EventValidationError: Signature: required$/,
  );
  assert.throws(
    () => parseSnsMessage({ ...sourceFixture('sns-subscription-confirmation.json'), SubscribeURL: '' }),
    /SubscribeURL: required/,
  );
  assert.throws(() => parseEventBody(fixture), /an SNS message: post it to the ingest server/);
  assert.throws(
    () =>
      unwrapNotification(
        '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "2012-05-02T00:54:06.600Z", "s3": {"object": {"key": "k"}}}]}',
      ),
    (err: unknown) => err instanceof EventValidationError && err.message === 'Message.Records[0].s3.bucket: required',
  );
  assert.throws(() => unwrapNotification('not json'), /^EventValidationError: Message: not valid JSON/);
  assert.throws(
    () => unwrapNotification(`{"Records": ${'['.repeat(100)}${']'.repeat(100)}}`),
    /^EventValidationError: Message: nested deeper than 64 levels$/,
  );
});

test('certificates are fetched by origin and path: SigningCertURLs differing only in their query string are one fetch', async () => {
  const endpoint = new SnsEndpoint({ origins: [sns.origin], topics: [TOPIC] });
  const path = '/SimpleNotificationService-query-test.pem';
  const fetches = () => sns.requests.filter((url) => url.startsWith(path)).length;
  for (let i = 0; i < 2 * CERTIFICATE_FETCHES_PER_MINUTE; i++) {
    const signed = sns.sign(sourceFixture('sns-notification.json'), {
      SigningCertURL: `${sns.origin}${path}?cache-buster=${i}#${i}`,
    });
    assert.ok('events' in (await endpoint.receive(signed)), `message ${i}`);
  }
  assert.deepEqual(
    sns.requests.filter((url) => url.startsWith(path)),
    [path],
    'fetched once, without the query',
  );
  assert.equal(fetches(), 1);
});

test('new certificates are fetched at most CERTIFICATE_FETCHES_PER_MINUTE a minute (503, SNS retries); a cached one keeps working', async () => {
  const endpoint = new SnsEndpoint({ origins: [sns.origin], topics: [TOPIC] });
  const signedWith = (path: string) =>
    sns.sign(sourceFixture('sns-notification.json'), { SigningCertURL: `${sns.origin}${path}` });
  assert.ok('events' in (await endpoint.receive(signedWith('/SimpleNotificationService-real.pem'))));
  for (let i = 1; i < CERTIFICATE_FETCHES_PER_MINUTE; i++)
    assert.ok('events' in (await endpoint.receive(signedWith(`/flood-${i}.pem`))));
  const before = sns.requests.length;
  await assert.rejects(
    endpoint.receive(signedWith('/flood-over.pem')),
    refused(503, /^SigningCertURL: more than 10 new signing certificates asked for within a minute; retry later$/),
  );
  assert.equal(sns.requests.length, before, 'nothing fetched');
  assert.ok(
    'events' in (await endpoint.receive(signedWith('/SimpleNotificationService-real.pem'))),
    'the cached certificate still verifies',
  );
  assert.equal(sns.requests.length, before);
});

test('BUCKETFLOW_INGEST_SNS_MIN_SIGNATURE_VERSION=2 refuses SignatureVersion 1 (SHA1) before fetching anything; 2 passes', async () => {
  const endpoint = new SnsEndpoint({ origins: [sns.origin], topics: [TOPIC], minSignatureVersion: 2 });
  const before = sns.requests.length;
  await assert.rejects(
    endpoint.receive(sns.sign(sourceFixture('sns-notification.json'), { SignatureVersion: '1' })),
    refused(
      403,
      /^SignatureVersion: 1 \(SHA1\) is refused \(BUCKETFLOW_INGEST_SNS_MIN_SIGNATURE_VERSION=2\); set the topic's SignatureVersion attribute to 2$/,
    ),
  );
  assert.equal(sns.requests.length, before);
  assert.ok(
    'events' in (await endpoint.receive(sns.sign(sourceFixture('sns-notification.json'), { SignatureVersion: '2' }))),
  );
});
