import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RuleError, rulesFromXml, rulesToXml, type NotificationRule } from '../../src/rules';

const rules: NotificationRule[] = [
  {
    id: '1',
    arn: 'arn:minio:sqs:us-east-1:1:amqp',
    events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
    prefix: 'photos/',
    suffix: '.jpg',
  },
  { id: 'docs', arn: 'arn:minio:sqs:us-east-1:1:webhook', events: ['s3:ObjectCreated:Put'], prefix: '', suffix: '' },
  {
    id: 'x',
    arn: 'arn:minio:sqs:us-east-1:1:redis',
    events: ['s3:ObjectAccessed:Get'],
    prefix: 'a & <b>',
    suffix: 'ü.txt',
  },
  {
    id: 'spaces',
    arn: 'arn:minio:sqs:us-east-1:1:redis',
    events: ['s3:ObjectCreated:Put'],
    prefix: ' leading',
    suffix: 'trailing ',
  },
];

test('round trip through S3 NotificationConfiguration XML', () => {
  const xml = rulesToXml(rules);
  assert.match(
    xml,
    /^<\?xml version="1.0" encoding="UTF-8"\?>\n<NotificationConfiguration xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/">/,
  );
  assert.match(xml, /<QueueConfiguration>/);
  assert.match(xml, /<Value>a &amp; &lt;b&gt;<\/Value>/);
  assert.match(xml, /<FilterRule>\s*<Name>suffix<\/Name>\s*<Value>.jpg<\/Value>/);
  assert.deepEqual(rulesFromXml(xml), rules);
});

test('reads what mc / S3 tools write', () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <QueueConfiguration><Id>1</Id><Filter><S3Key><FilterRule><Name>Suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter>
    <Queue>
      arn:minio:sqs:us-east-1:1:amqp
    </Queue>
    <Event> s3:ObjectCreated:* </Event></QueueConfiguration>
</NotificationConfiguration>`;
  assert.deepEqual(rulesFromXml(xml), [
    { id: '1', arn: 'arn:minio:sqs:us-east-1:1:amqp', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '.jpg' },
  ]);
  assert.deepEqual(rulesFromXml('<NotificationConfiguration></NotificationConfiguration>'), []);
  assert.deepEqual(rulesFromXml(rulesToXml([])), []);
  assert.deepEqual(rulesFromXml('<NotificationConfiguration>\n  \n</NotificationConfiguration>'), []);
});

const bad: Array<[string, string, string, RegExp]> = [
  ['not XML', '<NotificationConfiguration><Queue>', 'MalformedXML', /not well-formed/],
  [
    'no events',
    '<NotificationConfiguration><QueueConfiguration><Queue>arn:minio:sqs::1:amqp</Queue></QueueConfiguration></NotificationConfiguration>',
    'MalformedXML',
    /no Event/,
  ],
  [
    'a topic',
    '<NotificationConfiguration><TopicConfiguration><Topic>t</Topic></TopicConfiguration></NotificationConfiguration>',
    'UnsupportedNotification',
    /only QueueConfiguration/,
  ],
  [
    'a bad filter name',
    '<NotificationConfiguration><QueueConfiguration><Filter><S3Key><FilterRule><Name>middle</Name><Value>x</Value></FilterRule></S3Key></Filter><Queue>q</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>',
    'InvalidArgument',
    /prefix or suffix, not "middle"/,
  ],
  [
    'two prefixes',
    '<NotificationConfiguration><QueueConfiguration><Filter><S3Key><FilterRule><Name>prefix</Name><Value>a</Value></FilterRule><FilterRule><Name>prefix</Name><Value>b</Value></FilterRule></S3Key></Filter><Queue>q</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>',
    'InvalidArgument',
    /more than one prefix/,
  ],
];
for (const [name, xml, code, message] of bad) {
  test(`rejects ${name} as ${code}`, () => {
    assert.throws(
      () => rulesFromXml(xml),
      (e: unknown) => e instanceof RuleError && e.code === code && message.test(e.message),
    );
  });
}
