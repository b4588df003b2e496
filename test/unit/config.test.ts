import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, describeTargets, formatArn, loadTargetsConfig, parseArn } from '../../src/config';

const guide = readFileSync(path.resolve(__dirname, '../../../shared/reference/minio-bucket-notification-guide.md'), 'utf8');

/** The guide's config blocks, exactly as written (fenced blocks that start with `"<type>": {`). */
function guideBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const [, body] of guide.matchAll(/```(?:json)?\n(\s*"(\w+)"\s*:\s*\{[\s\S]*?)```/g)) {
    const type = /"(\w+)"/.exec(body)![1];
    blocks.set(type, body);
  }
  return blocks;
}

describe('ARNs', () => {
  test('parse and format', () => {
    assert.deepEqual(parseArn('arn:minio:sqs:us-east-1:1:amqp'), { region: 'us-east-1', id: '1', type: 'amqp' });
    assert.deepEqual(parseArn('arn:minio:sqs::_:webhook'), { region: '', id: '_', type: 'webhook' });
    assert.equal(formatArn({ region: 'us-east-1', id: '1', type: 'kafka' }), 'arn:minio:sqs:us-east-1:1:kafka');
  });
  for (const [arn, message] of [
    ['arn:minio:sqs:us-east-1:1', 'expected arn:minio:sqs:<region>:<id>:<type>'],
    ['arn:aws:sqs:us-east-1:1:amqp', 'must start with arn:minio:sqs:'],
    ['arn:minio:sqs:us-east-1::amqp', 'target id is empty'],
    ['arn:minio:sqs:us-east-1:1:', 'target type is empty'],
    ['arn:minio:sqs:us-east-1:1:sqs', 'unknown target type "sqs"'],
  ]) {
    test(`rejects ${arn}`, () => assert.throws(() => parseArn(arn), (e: Error) => e.message.startsWith(`ARN "${arn}": ${message}`)));
  }
});

describe('targets config', () => {
  test('every config block of the guide loads as written', () => {
    const blocks = guideBlocks();
    assert.deepEqual([...blocks.keys()].sort(), ['amqp', 'elasticsearch', 'kafka', 'mysql', 'nats', 'postgresql', 'redis', 'webhook']);
    for (const [type, block] of blocks) {
      const { targets } = loadTargetsConfig({ text: block, env: {} });
      assert.equal(targets.length, 1, type);
      assert.equal(targets[0].arn, `arn:minio:sqs:us-east-1:1:${type}`);
      assert.equal(targets[0].enabled, true);
    }
  });

  test('guide spellings map to canonical fields with their types', () => {
    const amqp = loadTargetsConfig({ text: guideBlocks().get('amqp')!, env: {} }).targets[0];
    assert.equal(amqp.type, 'amqp');
    if (amqp.type !== 'amqp') return;
    assert.equal(amqp.config.routing_key, 'bucketlogs');
    assert.equal(amqp.config.exchange_type, 'fanout');
    assert.equal(amqp.config.no_wait, false);
    const pg = loadTargetsConfig({ text: guideBlocks().get('postgresql')!, env: {} }).targets[0];
    assert.equal(pg.type === 'postgresql' && pg.config.port, 5432);
    const kafka = loadTargetsConfig({ text: guideBlocks().get('kafka')!, env: {} }).targets[0];
    assert.deepEqual(kafka.type === 'kafka' && kafka.config.brokers, ['localhost:9092']);
  });

  test('a whole MinIO config.json: region and notify section; disabled targets listed but disabled', () => {
    const { region, targets } = loadTargetsConfig({
      env: {},
      text: JSON.stringify({ version: '33', region: 'eu-west-1', notify: {
        redis: { '1': { enable: true, address: '127.0.0.1:6379', key: 'events', format: 'namespace' } },
        webhook: { '1': { enable: false, endpoint: '' } },
      } }),
    });
    assert.equal(region, 'eu-west-1');
    assert.deepEqual(targets.map((t) => [t.arn, t.enabled]), [
      ['arn:minio:sqs:eu-west-1:1:redis', true],
      ['arn:minio:sqs:eu-west-1:1:webhook', false],
    ]);
  });

  test('MINIO_NOTIFY_* env vars override the file and can define targets alone', () => {
    const { targets } = loadTargetsConfig({
      text: '"webhook": {"1": {"enable": true, "endpoint": "http://a.example/"}}',
      env: {
        MINIO_NOTIFY_WEBHOOK_ENDPOINT_1: 'http://127.0.0.1:3000/',
        MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_1: 'tok',
        MINIO_NOTIFY_KAFKA_ENABLE: 'on',
        MINIO_NOTIFY_KAFKA_BROKERS: '127.0.0.1:9092,127.0.0.2:9092',
        MINIO_NOTIFY_KAFKA_TOPIC: 'events',
        MINIO_NOTIFY_KAFKA_TLS_SKIP_VERIFY: 'off',
      },
    });
    const byArn = Object.fromEntries(targets.map((t) => [t.arn, t]));
    const webhook = byArn['arn:minio:sqs:us-east-1:1:webhook'];
    assert.equal(webhook.type === 'webhook' && webhook.config.endpoint, 'http://127.0.0.1:3000/');
    assert.equal(webhook.type === 'webhook' && webhook.config.auth_token, 'tok');
    const kafka = byArn['arn:minio:sqs:us-east-1:_:kafka'];
    assert.equal(kafka.enabled, true);
    assert.deepEqual(kafka.type === 'kafka' && kafka.config.brokers, ['127.0.0.1:9092', '127.0.0.2:9092']);
  });

  test('retry overrides are durations', () => {
    const [t] = loadTargetsConfig({ env: {}, text: '{"webhook": {"1": {"enable": true, "endpoint": "http://x/", "retry_initial_interval": "250ms", "retry_max_duration": "1h30m"}}}' }).targets;
    assert.equal(t.config.retry_initial_interval_ms, 250);
    assert.equal(t.config.retry_max_duration_ms, 5_400_000);
    assert.equal(t.config.retry_max_interval_ms, 300_000);
  });

  const bad: Array<[string, string, NodeJS.ProcessEnv, string]> = [
    ['missing required table', '{"postgresql": {"1": {"enable": true, "connectionString": "postgres://x/y"}}}', {}, 'notify.postgresql.1.table: required'],
    ['a non-boolean', '{"amqp": {"1": {"enable": true, "url": "amqp://x", "mandatory": "maybe"}}}', {}, 'notify.amqp.1.mandatory: expected a boolean (true/false/on/off)'],
    ['an unknown key', '{"webhook": {"1": {"enable": true, "endpoint": "http://x/", "bogus": 1}}}', {}, 'notify.webhook.1.bogus: unknown parameter'],
    ['an unsupported type', '{"nsq": {"1": {"enable": true}}}', {}, 'notify.nsq: target type not supported'],
    ['a bad endpoint', '{"webhook": {"1": {"enable": true, "endpoint": "localhost:3000"}}}', {}, 'notify.webhook.1.endpoint: unsupported scheme "localhost:" (expected http: https:)'],
    ['a bad format', '{"redis": {"1": {"enable": true, "address": "a:1", "key": "k", "format": "json"}}}', {}, 'notify.redis.1.format: expected one of namespace, access'],
    ['no postgres connection', '{"postgresql": {"1": {"enable": true, "table": "t"}}}', {}, 'notify.postgresql.1.connection_string: required unless host and database are given'],
    ['a bad duration', '{"webhook": {"1": {"enable": true, "endpoint": "http://x/", "timeout": "soon"}}}', {}, 'notify.webhook.1.timeout: expected a duration such as "500ms", "10s", "5m" or "24h"'],
    ['an unknown env param', '', { MINIO_NOTIFY_REDIS_COLOUR_1: 'red' }, 'MINIO_NOTIFY_REDIS_COLOUR_1: unknown parameter for redis'],
    ['broken JSON', '{"webhook": {"1": {"enable": tru}}}', {}, 'config: not valid JSON'],
  ];
  for (const [name, text, env, message] of bad) {
    test(`rejects ${name}`, () => {
      assert.throws(() => loadTargetsConfig({ text, env }), (e: unknown) => e instanceof ConfigError && e.message.startsWith(message));
    });
  }

  test('a disabled target is not checked for required fields', () => {
    const { targets } = loadTargetsConfig({ env: {}, text: '{"postgresql": {"1": {"enable": false}}}' });
    assert.equal(targets[0].enabled, false);
  });

  test('secrets are redacted when described', () => {
    const { targets } = loadTargetsConfig({ text: guideBlocks().get('nats')!, env: {} });
    const [described] = describeTargets(targets);
    assert.equal(described.config.password, 'REDACTED');
    assert.equal(described.config.username, 'yourusername');
    assert.equal(described.config.token, '');
    assert.doesNotMatch(JSON.stringify(describeTargets(loadTargetsConfig({ text: guideBlocks().get('amqp')!, env: {} }).targets)), /mypassword/);
  });
});
