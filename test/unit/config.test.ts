import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ConfigError,
  TARGET_PARAMS,
  TARGET_TYPES,
  describeTargets,
  formatArn,
  loadTargetsConfig,
  parseArn,
  redactCredentials,
} from '../../src/config';
import type { ParamKind, ParamSpec } from '../../src/config/params';

import guideConfigBlocks from '../fixtures/minio-guide/config-blocks.json';

/** The guide's config blocks, exactly as written there (a bare `"<type>": {...}` fragment each). */
function guideBlocks(): Map<string, string> {
  return new Map(Object.entries(guideConfigBlocks));
}

function targetsByArn(options: Parameters<typeof loadTargetsConfig>[0]) {
  return Object.fromEntries(loadTargetsConfig(options).targets.map((t) => [t.arn, t]));
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
    test(`rejects ${arn}`, () =>
      assert.throws(
        () => parseArn(arn),
        (e: Error) => e.message.startsWith(`ARN "${arn}": ${message}`),
      ));
  }
});

describe('targets config', () => {
  test('every config block of the guide loads as written', () => {
    const blocks = guideBlocks();
    assert.deepEqual([...blocks.keys()].sort(), [
      'amqp',
      'elasticsearch',
      'kafka',
      'mysql',
      'nats',
      'postgresql',
      'redis',
      'webhook',
    ]);
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
      text: JSON.stringify({
        version: '33',
        region: 'eu-west-1',
        notify: {
          redis: { '1': { enable: true, address: '127.0.0.1:6379', key: 'events', format: 'namespace' } },
          webhook: { '1': { enable: false, endpoint: '' } },
        },
      }),
    });
    assert.equal(region, 'eu-west-1');
    assert.deepEqual(
      targets.map((t) => [t.arn, t.enabled]),
      [
        ['arn:minio:sqs:eu-west-1:1:redis', true],
        ['arn:minio:sqs:eu-west-1:1:webhook', false],
      ],
    );
  });

  test('MINIO_NOTIFY_* env vars override the file and can define targets alone', () => {
    const byArn = targetsByArn({
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
    const webhook = byArn['arn:minio:sqs:us-east-1:1:webhook'];
    assert.equal(webhook.type === 'webhook' && webhook.config.endpoint, 'http://127.0.0.1:3000/');
    assert.equal(webhook.type === 'webhook' && webhook.config.auth_token, 'tok');
    const kafka = byArn['arn:minio:sqs:us-east-1:_:kafka'];
    assert.equal(kafka.enabled, true);
    assert.deepEqual(kafka.type === 'kafka' && kafka.config.brokers, ['127.0.0.1:9092', '127.0.0.2:9092']);
  });

  test('retry overrides are durations', () => {
    const [t] = loadTargetsConfig({
      env: {},
      text: '{"webhook": {"1": {"enable": true, "endpoint": "http://x/", "retry_initial_interval": "250ms", "retry_max_duration": "1h30m"}}}',
    }).targets;
    assert.equal(t.config.retry_initial_interval_ms, 250);
    assert.equal(t.config.retry_max_duration_ms, 5_400_000);
    assert.equal(t.config.retry_max_interval_ms, 300_000);
    assert.equal(t.config.retry_backoff, 2);
    const [u] = loadTargetsConfig({
      env: { MINIO_NOTIFY_WEBHOOK_RETRY_BACKOFF_1: '1.5' },
      text: '{"webhook": {"1": {"enable": true, "endpoint": "http://x/"}}}',
    }).targets;
    assert.equal(u.config.retry_backoff, 1.5);
  });

  const bad: Array<[string, string, NodeJS.ProcessEnv, string]> = [
    [
      'missing required table',
      '{"postgresql": {"1": {"enable": true, "connectionString": "postgres://x/y"}}}',
      {},
      'notify.postgresql.1.table: required',
    ],
    [
      'a non-boolean',
      '{"amqp": {"1": {"enable": true, "url": "amqp://x", "mandatory": "maybe"}}}',
      {},
      'notify.amqp.1.mandatory: expected a boolean (true/false/on/off)',
    ],
    [
      'an unknown key',
      '{"webhook": {"1": {"enable": true, "endpoint": "http://x/", "bogus": 1}}}',
      {},
      'notify.webhook.1.bogus: unknown parameter',
    ],
    ['an unsupported type', '{"nsq": {"1": {"enable": true}}}', {}, 'notify.nsq: target type not supported'],
    [
      'a bad endpoint',
      '{"webhook": {"1": {"enable": true, "endpoint": "localhost:3000"}}}',
      {},
      'notify.webhook.1.endpoint: unsupported scheme "localhost:" (expected http: https:)',
    ],
    [
      'a bad format',
      '{"redis": {"1": {"enable": true, "address": "a:1", "key": "k", "format": "json"}}}',
      {},
      'notify.redis.1.format: expected one of namespace, access',
    ],
    [
      'no postgres connection',
      '{"postgresql": {"1": {"enable": true, "table": "t"}}}',
      {},
      'notify.postgresql.1.connection_string: required unless host and database are given',
    ],
    [
      'a bad duration',
      '{"webhook": {"1": {"enable": true, "endpoint": "http://x/", "timeout": "soon"}}}',
      {},
      'notify.webhook.1.timeout: expected a duration such as "500ms", "10s", "5m" or "24h"',
    ],
    [
      'a backoff below 1',
      '{"webhook": {"1": {"enable": true, "endpoint": "http://x/", "retry_backoff": 0.5}}}',
      {},
      'notify.webhook.1.retry_backoff: expected at least 1',
    ],
    [
      'a negative queue_limit',
      '{"webhook": {"1": {"enable": true, "endpoint": "http://x/", "queueLimit": -1}}}',
      {},
      'notify.webhook.1.queueLimit: expected at least 0',
    ],
    [
      'an unknown env param',
      '',
      { MINIO_NOTIFY_REDIS_COLOUR_1: 'red' },
      'MINIO_NOTIFY_REDIS_COLOUR_1: unknown parameter for redis',
    ],
    ['broken JSON', '{"webhook": {"1": {"enable": tru}}}', {}, 'config: not valid JSON'],
    // Rules beyond a parameter's kind, checked by the loader so a driver never meets them.
    [
      'a compression codec kafkajs lacks',
      '{"kafka": {"1": {"enable": true, "brokers": "a:1", "topic": "t", "compression_codec": "snappy"}}}',
      {},
      'notify.kafka.1.compression_codec: "snappy" is not supported (use none or gzip)',
    ],
    [
      'sasl without a username',
      '{"kafka": {"1": {"enable": true, "brokers": "a:1", "topic": "t", "sasl": true}}}',
      {},
      'notify.kafka.1.sasl_username: required with sasl',
    ],
    [
      'an exchange without its type',
      '{"amqp": {"1": {"enable": true, "url": "amqp://x", "exchange": "e"}}}',
      {},
      'notify.amqp.1.exchange_type: required with exchange',
    ],
    [
      'an auth token of three words',
      '{"webhook": {"1": {"enable": true, "endpoint": "http://x/", "authToken": "a b c"}}}',
      {},
      'notify.webhook.1.auth_token: expected a token or "<scheme> <credentials>"',
    ],
    [
      'a wildcard NATS subject',
      '{"nats": {"1": {"enable": true, "address": "a:1", "subject": "events.>"}}}',
      {},
      'notify.nats.1.subject: cannot publish to a wildcard subject',
    ],
    [
      'a wildcard MQTT topic',
      '{"mqtt": {"1": {"enable": true, "broker": "tcp://a:1", "topic": "events/#"}}}',
      {},
      'notify.mqtt.1.topic: cannot publish to a wildcard topic',
    ],
    [
      'an uppercase index',
      '{"elasticsearch": {"1": {"enable": true, "url": "http://a:9200", "index": "Events"}}}',
      {},
      'notify.elasticsearch.1.index: not a valid Elasticsearch index name',
    ],
    [
      'a Redis address without a host',
      '{"redis": {"1": {"enable": true, "address": ":6379", "key": "k"}}}',
      {},
      'notify.redis.1.address: expected host:port, got ":6379"',
    ],
    [
      'a table name that is not an identifier',
      '{"mysql": {"1": {"enable": true, "dsnString": "u:p@tcp(a:1)/d", "table": "a-b"}}}',
      {},
      'notify.mysql.1.table: not a plain SQL identifier: "a-b"',
    ],
    [
      'a DSN MinIO could not read',
      '{"mysql": {"1": {"enable": true, "dsnString": "nonsense", "table": "t"}}}',
      {},
      'notify.mysql.1.dsn_string: expected user:password@tcp(host:port)/database',
    ],
    [
      'a libpq string without pairs',
      '{"postgresql": {"1": {"enable": true, "connectionString": "host=db nonsense", "table": "t"}}}',
      {},
      'notify.postgresql.1.connection_string: expected key=value pairs or a postgres:// URL, got "nonsense"',
    ],
    [
      'client_cert without client_key',
      '{"nats": {"1": {"enable": true, "address": "a:1", "subject": "s", "clientCert": "/c.pem"}}}',
      {},
      'notify.nats.1.client_key: client_cert and client_key go together',
    ],
  ];
  for (const [name, text, env, message] of bad) {
    test(`rejects ${name}`, () => {
      // A target's own field is named with the target's ARN first.
      const target = /^notify\.(\w+)\.(\w+)\./.exec(message);
      const expected = target ? `arn:minio:sqs:us-east-1:${target[2]}:${target[1]}: ${message}` : message;
      assert.throws(
        () => loadTargetsConfig({ text, env }),
        (e: unknown) => e instanceof ConfigError && e.message.startsWith(expected),
      );
    });
  }

  test('a disabled target is not checked for required fields', () => {
    const { targets } = loadTargetsConfig({ env: {}, text: '{"postgresql": {"1": {"enable": false}}}' });
    assert.equal(targets[0].enabled, false);
  });

  test('a disabled target is not checked against its rules either (a whole MinIO config.json may hold anything there)', () => {
    const { targets } = loadTargetsConfig({
      env: {},
      text: '{"kafka": {"1": {"enable": false, "compression_codec": "snappy"}}}',
    });
    assert.equal(targets[0].enabled, false);
  });

  test('secrets are redacted when described', () => {
    const { targets } = loadTargetsConfig({ text: guideBlocks().get('nats')!, env: {} });
    const [described] = describeTargets(targets);
    assert.equal(described.config.password, 'REDACTED');
    assert.equal(described.config.username, 'yourusername');
    assert.equal(described.config.token, '');
    assert.doesNotMatch(
      JSON.stringify(describeTargets(loadTargetsConfig({ text: guideBlocks().get('amqp')!, env: {} }).targets)),
      /mypassword/,
    );
  });
});

describe('lenient JSON as pasted', () => {
  test('text inside strings is never changed, even with commas, braces and brackets', () => {
    const [t] = loadTargetsConfig({
      env: {},
      text: '"webhook": {"1": {"enable": true, "endpoint": "http://x/", "comment": "a, } ] {\\" ,]"\n},\n',
    }).targets;
    assert.equal(t.config.comment, 'a, } ] {" ,]');
  });
  test('several fragments, a trailing comma and unclosed braces', () => {
    const text =
      '"redis": {"1": {"enable": true, "address": "a:1", "key": "k"}},\n"webhook": {"2": {"enable": true, "endpoint": "http://x/"';
    assert.deepEqual(
      loadTargetsConfig({ env: {}, text }).targets.map((t) => t.arn),
      ['arn:minio:sqs:us-east-1:1:redis', 'arn:minio:sqs:us-east-1:2:webhook'],
    );
  });
});

describe('every declared parameter is accepted under each of its spellings, and sets its own field', () => {
  /** Parameters with a format rule of their own (ParamSpec.check) get a valid value. */
  const VALID_SAMPLES: Record<string, string> = {
    signing_secret: `whsec_${Buffer.from('a distinctive key').toString('base64')}`,
    dead_letter: 'arn:minio:sqs:us-east-1:distinctive:webhook',
  };

  /** A value for the field that differs from its default, as written in a config file, and as it loads. */
  function distinctive(field: string, spec: ParamSpec, n: number): [unknown, unknown] {
    if (spec.oneOf) {
      const value = spec.oneOf.find((v) => v !== spec.default && v !== 0)!;
      return [value, value];
    }
    if (VALID_SAMPLES[field]) return [VALID_SAMPLES[field], VALID_SAMPLES[field]];
    const int = spec.max === undefined ? 100 + n : spec.max === spec.default ? spec.max - 1 : spec.max;
    const samples: Record<ParamKind, [unknown, unknown]> = {
      string: [`value-of-${field}`, `value-of-${field}`],
      bool: spec.default === true ? ['off', false] : ['on', true],
      int: [String(int), int],
      number: [String(1.5 + n), 1.5 + n],
      duration: [`${2 + n}s`, (2 + n) * 1000],
      list: [[`${field}:1`], [`${field}:1`]],
      port: [String(1000 + n), 1000 + n],
    };
    return samples[spec.kind];
  }

  // Independent of the specs: an alias is its parameter's name in camelCase (the guide's and older MinIO's
  // spelling), save the few MinIO renamed. A spelling moved to another parameter fails here.
  const RENAMED: Record<string, string> = { 'nats.secure': 'tls' };
  test('each alias is the camelCase of its own parameter, or a rename MinIO made', () => {
    for (const type of TARGET_TYPES) {
      for (const [field, spec] of Object.entries(TARGET_PARAMS[type] as Record<string, ParamSpec>)) {
        for (const alias of spec.aliases ?? []) {
          const snake = alias.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
          assert.equal(RENAMED[`${type}.${alias}`] ?? snake, spec.input ?? field, `${type}.${alias}`);
        }
      }
    }
  });

  for (const type of TARGET_TYPES) {
    test(type, () => {
      // Disabled targets, so one parameter alone is valid; `enable` itself is covered by every other test.
      const load = (params: Record<string, unknown>) =>
        loadTargetsConfig({ env: {}, text: JSON.stringify({ [type]: { '1': { enable: false, ...params } } }) })
          .targets[0].config as unknown as Record<string, unknown>;
      const defaults = load({});
      Object.entries(TARGET_PARAMS[type] as Record<string, ParamSpec>).forEach(([field, spec], n) => {
        if (field === 'enable') return;
        const [written, loaded] = distinctive(field, spec, n);
        for (const name of [spec.input ?? field, ...(spec.aliases ?? [])]) {
          const config = load({ [name]: written });
          assert.deepEqual(config[field], loaded, `${type}.${name} sets ${field}`);
          assert.deepEqual(
            { ...config, [field]: defaults[field] },
            defaults,
            `${type}.${name} sets nothing but ${field}`,
          );
        }
      });
    });
  }
});

describe('environment variables', () => {
  test('MinIO spellings: POSTGRES for postgresql, on/off booleans, ids, and the file key they replace', () => {
    const byArn = targetsByArn({
      text: guideBlocks().get('amqp')!,
      env: {
        MINIO_NOTIFY_POSTGRES_ENABLE_PRIMARY: 'on',
        MINIO_NOTIFY_POSTGRES_CONNECTION_STRING_PRIMARY: 'host=127.0.0.1 dbname=events',
        MINIO_NOTIFY_POSTGRES_TABLE_PRIMARY: 'bucketevents',
        MINIO_NOTIFY_AMQP_ROUTING_KEY_1: 'fromenv',
        MINIO_NOTIFY_AMQP_DURABLE_1: 'on',
      },
    });
    const pg = byArn['arn:minio:sqs:us-east-1:PRIMARY:postgresql'];
    assert.equal(pg.type === 'postgresql' && pg.config.table, 'bucketevents');
    const amqp = byArn['arn:minio:sqs:us-east-1:1:amqp'];
    assert.equal(amqp.type === 'amqp' && amqp.config.routing_key, 'fromenv');
    assert.equal(amqp.type === 'amqp' && amqp.config.durable, true);
  });

  test('the region comes from options, then MINIO_SITE_REGION / MINIO_REGION, then the file, then us-east-1', () => {
    const text = '{"region": "eu-west-1", "notify": {}}';
    assert.equal(loadTargetsConfig({ text, env: {} }).region, 'eu-west-1');
    assert.equal(loadTargetsConfig({ text, env: { MINIO_REGION: 'ap-south-1' } }).region, 'ap-south-1');
    assert.equal(
      loadTargetsConfig({ text, env: { MINIO_SITE_REGION: 'sa-east-1', MINIO_REGION: 'x' } }).region,
      'sa-east-1',
    );
    assert.equal(loadTargetsConfig({ text, env: { MINIO_REGION: 'x' }, region: '' }).region, '');
    assert.equal(loadTargetsConfig({ text: '', env: {} }).region, 'us-east-1');
  });

  test('NSQ (a MinIO type we do not deliver to) is ignored while disabled, refused when enabled', () => {
    assert.deepEqual(
      loadTargetsConfig({ text: '', env: { MINIO_NOTIFY_NSQ_ENABLE: 'off', MINIO_NOTIFY_NSQ_TOPIC: 't' } }).targets,
      [],
    );
    assert.throws(
      () => loadTargetsConfig({ text: '', env: { MINIO_NOTIFY_NSQ_ENABLE_1: 'on' } }),
      /^ConfigError: MINIO_NOTIFY_NSQ_ENABLE_1: target type nsq not supported$/,
    );
    assert.throws(
      () => loadTargetsConfig({ text: '', env: { MINIO_NOTIFY_SQS_ENABLE: 'on' } }),
      /MINIO_NOTIFY_SQS_ENABLE: unknown target type/,
    );
  });
});

test('an older whole config.json: nested kafka tls/sasl, disabled NATS streaming and nsq', () => {
  const text = JSON.stringify({
    version: '33',
    credential: { accessKey: 'a', secretKey: 'b' },
    region: 'us-west-2',
    notify: {
      kafka: {
        '1': {
          enable: true,
          brokers: ['127.0.0.1:9092'],
          topic: 't',
          queueDir: '',
          queueLimit: 0,
          tls: { enable: true, skipVerify: true, clientAuth: 0 },
          sasl: { enable: true, username: 'u', password: 'p', mechanism: 'sha512' },
        },
      },
      nats: {
        '1': {
          enable: false,
          address: '',
          subject: '',
          streaming: { enable: false, clusterID: '', async: false, maxPubAcksInFlight: 0 },
        },
      },
      nsq: { '1': { enable: false, nsqdAddress: '', topic: '' } },
    },
  });
  const { region, targets } = loadTargetsConfig({ text, env: {} });
  assert.equal(region, 'us-west-2');
  const [kafka] = targets;
  assert.equal(kafka.arn, 'arn:minio:sqs:us-west-2:1:kafka');
  assert.ok(kafka.type === 'kafka');
  assert.deepEqual(
    [
      kafka.config.tls,
      kafka.config.tls_skip_verify,
      kafka.config.sasl,
      kafka.config.sasl_username,
      kafka.config.sasl_mechanism,
    ],
    [true, true, true, 'u', 'sha512'],
  );
  assert.throws(
    () =>
      loadTargetsConfig({
        env: {},
        text: '{"nats": {"1": {"enable": true, "address": "a:1", "subject": "s", "streaming": {"enable": true}}}}',
      }),
    /notify.nats.1.streaming.enable: NATS Streaming is not supported \(use jetstream\)/,
  );
  assert.throws(
    () => loadTargetsConfig({ env: {}, text: '{"nsq": {"1": {"enable": true}}}' }),
    /notify.nsq: target type not supported/,
  );
  assert.throws(
    () => loadTargetsConfig({ env: {}, text: '{"kafka": {"1": {"tls": {"verify": true}}}}' }),
    /notify.kafka.1.tls.verify: unknown parameter/,
  );
});

test('kafka batch_commit_timeout is a Go duration as in MinIO', () => {
  const [t] = loadTargetsConfig({
    env: {},
    text: '{"kafka": {"1": {"enable": true, "brokers": "a:1", "topic": "t", "batch_commit_timeout": "1.5s"}}}',
  }).targets;
  assert.equal(t.type === 'kafka' && t.config.batch_commit_timeout, 1500);
});

describe('redaction keeps connection strings readable but hides passwords', () => {
  const cases: Array<[string, string]> = [
    ['amqp://myuser:mypassword@localhost:5672', 'amqp://myuser:REDACTED@localhost:5672'],
    ['postgres://u:p%40ss@db:5432/events?sslmode=disable', 'postgres://u:REDACTED@db:5432/events?sslmode=REDACTED'],
    ['http://127.0.0.1:1/hook?token=abc&x=1', 'http://127.0.0.1:1/hook?token=REDACTED&x=REDACTED'],
    ['nats://user:pa@ss@127.0.0.1:4222', 'nats://user:REDACTED@127.0.0.1:4222'],
    ['nats://s3cr3t-token@127.0.0.1:4222', 'nats://REDACTED@127.0.0.1:4222'],
    ['host=db user=u sslpassword=secret sslmode=require', 'host=db user=u sslpassword=REDACTED sslmode=require'],
    ['authorization: Bearer abc.def-123', 'authorization: Bearer REDACTED'],
    [
      'host=db port=5432 user=u password=secret dbname=events',
      'host=db port=5432 user=u password=REDACTED dbname=events',
    ],
    ["host=db password='se cret' dbname=events", 'host=db password=REDACTED dbname=events'],
    ['root:pa:ss@w@tcp(127.0.0.1:3306)/miniodb', 'root:REDACTED@tcp(127.0.0.1:3306)/miniodb'],
    ['http://elastic:changeme@127.0.0.1:9200', 'http://elastic:REDACTED@127.0.0.1:9200'],
    ['http://127.0.0.1:9200', 'http://127.0.0.1:9200'],
  ];
  for (const [input, shown] of cases) test(input, () => assert.equal(redactCredentials(input), shown));

  test('in described targets: secret fields fully, embedded passwords in other fields too', () => {
    const text = JSON.stringify({
      postgresql: { '1': { enable: true, connection_string: 'host=db user=u password=secret dbname=e', table: 't' } },
      mysql: { '1': { enable: true, dsn_string: 'root:password@tcp(172.17.0.1:3306)/miniodb', table: 't' } },
      elasticsearch: {
        '1': {
          enable: true,
          url: 'http://elastic:changeme@127.0.0.1:9200',
          index: 'i',
          username: 'elastic',
          password: 'x',
        },
      },
      kafka: { '1': { enable: true, brokers: ['a:1'], topic: 't', sasl_password: 'kp' } },
      webhook: { '1': { enable: true, endpoint: 'http://x/', auth_token: 'Bearer abc' } },
    });
    const described = describeTargets(loadTargetsConfig({ env: {}, text }).targets);
    // Values only: a parameter's name may contain "secret" (signing_secret).
    const json = JSON.stringify(described.map((d) => Object.values(d.config)));
    for (const secretValue of ['secret', 'password@', 'changeme', '"kp"', 'abc', '"x"'])
      assert.ok(!json.includes(secretValue), secretValue);
    const config = (type: string) => described.find((d) => d.type === type)!.config;
    assert.equal(config('postgresql').connection_string, 'host=db user=u password=REDACTED dbname=e');
    assert.equal(config('mysql').dsn_string, 'root:REDACTED@tcp(172.17.0.1:3306)/miniodb');
    assert.equal(config('elasticsearch').url, 'http://elastic:REDACTED@127.0.0.1:9200');
    assert.equal(config('webhook').auth_token, 'REDACTED');
  });
});
