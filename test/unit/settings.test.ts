// Every BUCKETFLOW_* setting is read by loadSettings, once per entry point: defaults, and bad values named.
// Every variable's bad value, BUCKETFLOW_* and TEMPORAL_* alike, is one ConfigError line naming it (the
// entry points print that line and exit 2: test/unit/entry-point-settings.test.ts); the Web UI link follows
// the loaded connection, a Temporal profile's address included.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/config/params';
import { healthSettings, ingestSettings, loadSettings } from '../../src/settings';

test('defaults: worker tuning, the ingest address and limits, no metrics or health server, INFO logs', () => {
  const settings = loadSettings({});
  assert.deepEqual(settings.tuning, {
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentLocalActivityExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 100,
    maxCachedWorkflows: 256,
  });
  assert.equal(settings.maxInFlightDeliveries, 256);
  assert.equal(settings.ingest.host, '127.0.0.1');
  assert.equal(settings.ingest.port, 9400);
  assert.equal(settings.ingest.maxRecords, 1_000);
  assert.equal(settings.metrics.port, undefined);
  assert.equal(settings.health.port, undefined);
  assert.equal(settings.logLevel, 'INFO');
});

test('the parts come from their variables', () => {
  const settings = loadSettings({
    BUCKETFLOW_MAX_CONCURRENT_WORKFLOW_TASKS: '20',
    BUCKETFLOW_MAX_CACHED_WORKFLOWS: '50',
    BUCKETFLOW_INGEST_PORT: '9500',
    BUCKETFLOW_METRICS_PORT: '9464',
    BUCKETFLOW_HEALTH_PORT: '9402',
    BUCKETFLOW_LOG_LEVEL: 'warn',
  });
  assert.equal(settings.tuning.maxConcurrentWorkflowTaskExecutions, 20);
  assert.equal(settings.tuning.maxCachedWorkflows, 50);
  assert.equal(settings.ingest.port, 9500);
  assert.deepEqual(settings.metrics, { host: '127.0.0.1', port: 9464, sdkAddress: '127.0.0.1:9465' });
  assert.equal(settings.health.port, 9402);
  assert.equal(settings.logLevel, 'WARN');
});

test("the workflow cache follows the admission bound (at least the workflow task slots), not the heap; a value set wins; no bound = the SDK's", () => {
  assert.equal(loadSettings({ BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES: '1000' }).tuning.maxCachedWorkflows, 1000);
  assert.equal(loadSettings({ BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES: '64' }).tuning.maxCachedWorkflows, 100);
  assert.equal(
    loadSettings({ BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES: '64', BUCKETFLOW_MAX_CONCURRENT_WORKFLOW_TASKS: '10' }).tuning
      .maxCachedWorkflows,
    64,
  );
  assert.equal(
    loadSettings({ BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES: '1000', BUCKETFLOW_MAX_CACHED_WORKFLOWS: '40' }).tuning
      .maxCachedWorkflows,
    40,
  );
  assert.equal(loadSettings({ BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES: '0' }).tuning.maxCachedWorkflows, undefined);
  assert.throws(
    () => loadSettings({ BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES: '-1' }),
    (err: unknown) => err instanceof ConfigError && /BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES/.test(err.message),
  );
});

test('the high-volume mode: off by default; durations with a unit or bare milliseconds; at most 200 events per batch', () => {
  assert.deepEqual(loadSettings({}).batch, { maxEvents: 1, maxWaitMs: 0, dedupeWindowMs: 600_000 });
  assert.deepEqual(
    loadSettings({
      BUCKETFLOW_BATCH_MAX_EVENTS: '200',
      BUCKETFLOW_BATCH_MAX_WAIT: '5ms',
      BUCKETFLOW_BATCH_DEDUPE_WINDOW: '30000',
    }).batch,
    { maxEvents: 200, maxWaitMs: 5, dedupeWindowMs: 30_000 },
  );
  assert.throws(() => loadSettings({ BUCKETFLOW_BATCH_MAX_EVENTS: '201' }), /BUCKETFLOW_BATCH_MAX_EVENTS: at most 200/);
  assert.throws(
    () => loadSettings({ BUCKETFLOW_BATCH_MAX_WAIT: 'soon' }),
    /BUCKETFLOW_BATCH_MAX_WAIT: expected a duration/,
  );
});

test("a backfill's batches: 200 events by default, 2 to 200", () => {
  assert.deepEqual(loadSettings({}).backfill, { batchEvents: 200 });
  assert.deepEqual(loadSettings({ BUCKETFLOW_BACKFILL_BATCH_EVENTS: '128' }).backfill, { batchEvents: 128 });
  assert.throws(
    () => loadSettings({ BUCKETFLOW_BACKFILL_BATCH_EVENTS: '201' }),
    /BUCKETFLOW_BACKFILL_BATCH_EVENTS: at most 200/,
  );
  assert.throws(() => loadSettings({ BUCKETFLOW_BACKFILL_BATCH_EVENTS: '1' }), /BUCKETFLOW_BACKFILL_BATCH_EVENTS: /);
});

test('bad values name their variable', () => {
  assert.throws(
    () => loadSettings({ BUCKETFLOW_LOG_LEVEL: 'loud' }),
    /BUCKETFLOW_LOG_LEVEL: expected one of TRACE, DEBUG, INFO, WARN, ERROR/,
  );
  assert.throws(
    () => loadSettings({ BUCKETFLOW_MAX_CONCURRENT_ACTIVITIES: 'many' }),
    /BUCKETFLOW_MAX_CONCURRENT_ACTIVITIES: expected an integer/,
  );
  assert.throws(
    () => loadSettings({ BUCKETFLOW_HEALTH_PORT: 'http' }),
    /BUCKETFLOW_HEALTH_PORT: expected a port number/,
  );
  assert.throws(
    () => loadSettings({ BUCKETFLOW_METRICS_PORT: '94x4' }),
    /BUCKETFLOW_METRICS_PORT: expected a port number, got "94x4"/,
  );
});

/** A bad value for every variable that can have one; secrets are never quoted back. */
const BAD_VALUES: Record<string, string> = {
  BUCKETFLOW_INGEST_PORT: 'abc',
  BUCKETFLOW_INGEST_MAX_BODY_BYTES: '10MB',
  BUCKETFLOW_INGEST_MAX_RECORDS: '0',
  BUCKETFLOW_INGEST_TLS_CERT: '/only/the/cert.pem',
  BUCKETFLOW_INGEST_TLS_KEY: '/only/the/key.pem',
  BUCKETFLOW_METRICS_PORT: '70000',
  BUCKETFLOW_SDK_METRICS_PORT: '-1',
  BUCKETFLOW_HEALTH_PORT: 'http',
  BUCKETFLOW_MAX_CONCURRENT_ACTIVITIES: 'many',
  BUCKETFLOW_MAX_CONCURRENT_LOCAL_ACTIVITIES: '0',
  BUCKETFLOW_MAX_CONCURRENT_WORKFLOW_TASKS: '1.5',
  BUCKETFLOW_MAX_CACHED_WORKFLOWS: 'lots',
  BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES: '-5',
  BUCKETFLOW_INGEST_OPEN_SOURCES: 'minio,gcs',
  BUCKETFLOW_LOG_LEVEL: 'loud',
  BUCKETFLOW_FAST_PATH: 'maybe',
  BUCKETFLOW_INGEST: 'sometimes',
  BUCKETFLOW_RULES_POSTGRES_URL: 'mysql://admin:s3cret-password@db/rules',
  TEMPORAL_UI_URL: 'localhost:8233',
  TEMPORAL_ADDRESS: 'temporal:frontend',
  TEMPORAL_TLS: 'enabled',
  TEMPORAL_PROFILE: 'no-such-profile',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/nonexistent/ca.pem',
  TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/client.pem',
  TEMPORAL_TLS_CLIENT_KEY_PATH: '/nonexistent/client.key',
  BUCKETFLOW_SOURCE_KAFKA_BROKERS: 'kafka://broker',
  BUCKETFLOW_SOURCE_KAFKA_TOPIC: 'minio-events', // without brokers
  BUCKETFLOW_BATCH_MAX_EVENTS: '500', // over the 200 a batch's search-attribute index holds
  BUCKETFLOW_BATCH_MAX_WAIT: 'soon',
  BUCKETFLOW_BATCH_DEDUPE_WINDOW: '10 minutes',
  BUCKETFLOW_INGEST_AUTH_TOKEN: 'Bearer s3cret-password extra', // three words: MinIO could never send it
  BUCKETFLOW_INGEST_ALLOW_OPEN: 'perhaps',
  BUCKETFLOW_INGEST_HEADERS_TIMEOUT_MS: '10s',
  BUCKETFLOW_INGEST_REQUEST_TIMEOUT_MS: '0',
  BUCKETFLOW_INGEST_MAX_CONNECTIONS: '0',
  BUCKETFLOW_INGEST_BUCKETS: 'photos,../etc',
  BUCKETFLOW_INGEST_SNS_MIN_SIGNATURE_VERSION: '3',
  BUCKETFLOW_BACKFILL_BATCH_EVENTS: '1', // a backfill always publishes in batches (2-200)
  BUCKETFLOW_SCAN_PAGE_SIZE: '1001', // S3 lists at most 1,000 keys a request
};
/** Variables any value of which is valid (names, paths checked where they are opened, secrets, lists). */
const FREE_TEXT = [
  'BUCKETFLOW_TASK_QUEUE',
  'BUCKETFLOW_CONFIG',
  'BUCKETFLOW_DATA_DIR',
  'BUCKETFLOW_INGEST_HOST',
  'BUCKETFLOW_INGEST_SNS_ORIGINS',
  'BUCKETFLOW_INGEST_SNS_TOPICS',
  'BUCKETFLOW_METRICS_HOST',
  'BUCKETFLOW_HEALTH_HOST',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_CONFIG_FILE',
  'BUCKETFLOW_SOURCE_KAFKA_GROUP',
];
const SECRETS = ['s3cret-password'];

test("every variable's bad value is one ConfigError line naming the variable, secrets never quoted", () => {
  for (const [name, value] of Object.entries(BAD_VALUES)) {
    // TLS settings are checked once TLS is asked for, and TLS needs an address.
    const env = name.startsWith('TEMPORAL_TLS_')
      ? { TEMPORAL_ADDRESS: 'temporal.internal:7233', [name]: value }
      : { [name]: value };
    assert.throws(
      () => loadSettings(env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${name}=${value}: a ConfigError, not ${String(err)}`);
        // The variable itself, or (half of a pair) the missing other half, naming this one.
        assert.match(err.message, /^(BUCKETFLOW|TEMPORAL)_[A-Z_]+: /, `${name}=${value}`);
        assert.ok(err.message.includes(name), `${name}=${value}: ${err.message}`);
        assert.doesNotMatch(err.message, /\n/);
        for (const secret of SECRETS) assert.ok(!err.message.includes(secret), err.message);
        return true;
      },
    );
  }
});

test('every variable the settings read is either checked above or takes any value', () => {
  const sources = ['src/settings/index.ts', 'src/settings/temporal.ts']
    .map((file) => readFileSync(path.resolve(__dirname, '../..', file), 'utf8'))
    .join('\n');
  const read = new Set([...sources.matchAll(/'((?:BUCKETFLOW|TEMPORAL)_[A-Z_]+)/g)].map((m) => m[1]));
  for (const name of read) {
    if (`${name}_PATH` in BAD_VALUES) continue; // the stem of a _PATH/_DATA pair (TEMPORAL_TLS_CLIENT_CERT_PATH, ...)
    assert.ok(
      name in BAD_VALUES || FREE_TEXT.includes(name),
      `${name}: add a bad value to BAD_VALUES, or list it as free text`,
    );
  }
  assert.ok(read.has('BUCKETFLOW_INGEST_PORT') && read.has('TEMPORAL_UI_URL'), 'the scan finds the variables');
});

const dir = mkdtempSync(path.join(tmpdir(), 'bucketflow-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the Web UI link follows the loaded connection: a Temporal profile's address, else TEMPORAL_ADDRESS; TEMPORAL_UI_URL wins", () => {
  const config = path.join(dir, 'temporal.toml');
  writeFileSync(
    config,
    '[profile.default]\naddress = "temporal.internal:7233"\n[profile.staging]\naddress = "staging.internal:7300"\n',
  );
  assert.equal(loadSettings({}).temporalUiUrl, 'http://127.0.0.1:8233');
  assert.equal(loadSettings({ TEMPORAL_CONFIG_FILE: config }).temporalUiUrl, 'http://temporal.internal:8233');
  assert.equal(
    loadSettings({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'staging' }).temporalUiUrl,
    'http://staging.internal:8300',
  );
  assert.equal(
    loadSettings({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_ADDRESS: '10.0.0.5:7233' }).temporalUiUrl,
    'http://10.0.0.5:8233',
  );
  assert.equal(loadSettings({ TEMPORAL_ADDRESS: 'temporal' }).temporalUiUrl, 'http://temporal:8233');
  assert.equal(
    loadSettings({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_UI_URL: 'https://temporal.example.com/' }).temporalUiUrl,
    'https://temporal.example.com',
  );
});

test('TEMPORAL_TLS takes the same spellings as every other switch (envconfig alone reads "on" as off)', () => {
  assert.equal(loadSettings({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS: 'on' }).temporalTls, true);
  assert.equal(loadSettings({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS: 'off' }).temporalTls, undefined);
});

test('settings: limits, TLS files and per-source tokens from the environment, errors naming the variable', () => {
  const settings = ingestSettings({
    BUCKETFLOW_INGEST_MAX_BODY_BYTES: '4096',
    BUCKETFLOW_INGEST_MAX_RECORDS: '10',
    BUCKETFLOW_INGEST_AUTH_TOKEN: 'all',
    BUCKETFLOW_INGEST_AUTH_TOKEN_CEPH: 'c',
    BUCKETFLOW_INGEST_AUTH_TOKEN_AWS_SNS: 's',
    BUCKETFLOW_INGEST_TLS_CERT: '/c.pem',
    BUCKETFLOW_INGEST_TLS_KEY: '/k.pem',
    BUCKETFLOW_INGEST_SNS_TOPICS: 'arn:aws:sns:*:123456789012:uploads, arn:aws:sns:*:123456789012:logs',
  });
  assert.deepEqual(
    [
      settings.bodyLimitBytes,
      settings.maxRecords,
      settings.authToken,
      settings.sourceTokens,
      settings.tlsCertFile,
      settings.sns.topics.length,
    ],
    [4096, 10, 'all', { ceph: 'c', 'aws-sns': 's' }, '/c.pem', 2],
  );
  assert.throws(
    () => ingestSettings({ BUCKETFLOW_INGEST_TLS_CERT: '/c.pem' }),
    /^ConfigError: BUCKETFLOW_INGEST_TLS_KEY: required with BUCKETFLOW_INGEST_TLS_CERT$/,
  );
  assert.throws(
    () => ingestSettings({ BUCKETFLOW_INGEST_MAX_RECORDS: 'lots' }),
    /^ConfigError: BUCKETFLOW_INGEST_MAX_RECORDS: expected an integer, got "lots"$/,
  );
});

test('ingest tokens: empty, blank or more than two words are refused naming the variable, never quoting the token', () => {
  for (const name of [
    'BUCKETFLOW_INGEST_AUTH_TOKEN',
    'BUCKETFLOW_INGEST_AUTH_TOKEN_MINIO',
    'BUCKETFLOW_INGEST_AUTH_TOKEN_AWS_SNS',
  ]) {
    for (const [value, problem] of [
      ['', /set but empty/],
      ['   ', /set but empty/],
      ['\t\n', /set but empty/],
      ['Basic czNjcmV0 more', /got 3 words/],
    ] as const) {
      assert.throws(
        () => ingestSettings({ [name]: value }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.startsWith(`${name}: `) &&
          problem.test(err.message) &&
          !err.message.includes('czNjcmV0'),
        `${name}=${JSON.stringify(value)}`,
      );
    }
    assert.doesNotThrow(() => ingestSettings({ [name]: 'Basic czNjcmV0' }), 'two words: "<scheme> <credentials>"');
  }
  assert.equal(ingestSettings({ BUCKETFLOW_INGEST_AUTH_TOKEN: '  padded  ' }).authToken, 'padded');
});

test('a non-loopback ingest address needs a token, or BUCKETFLOW_INGEST_ALLOW_OPEN=true', () => {
  for (const host of ['0.0.0.0', '::', '10.0.0.5', 'ingest.internal', '[::]']) {
    assert.throws(
      () => ingestSettings({ BUCKETFLOW_INGEST_HOST: host }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          `BUCKETFLOW_INGEST_HOST: ${host} is reachable from other machines and no token is set: set BUCKETFLOW_INGEST_AUTH_TOKEN, or BUCKETFLOW_INGEST_ALLOW_OPEN=true to serve it open`,
      host,
    );
    assert.equal(
      ingestSettings({ BUCKETFLOW_INGEST_HOST: host, BUCKETFLOW_INGEST_ALLOW_OPEN: 'true' }).allowOpen,
      true,
    );
    assert.equal(ingestSettings({ BUCKETFLOW_INGEST_HOST: host, BUCKETFLOW_INGEST_AUTH_TOKEN: 't' }).host, host);
    assert.equal(
      ingestSettings({ BUCKETFLOW_INGEST_HOST: host, BUCKETFLOW_INGEST_AUTH_TOKEN_CEPH: 't' }).host,
      host,
      'any token closes the ingest',
    );
  }
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
    assert.equal(ingestSettings({ BUCKETFLOW_INGEST_HOST: host }).host, host);
});

test('slow clients and bucket patterns: defaults, values, and the headers timeout within the request timeout', () => {
  const defaults = ingestSettings({});
  assert.deepEqual(
    [
      defaults.headersTimeoutMs,
      defaults.requestTimeoutMs,
      defaults.maxConnections,
      defaults.buckets,
      defaults.sns.minSignatureVersion,
    ],
    [10_000, 30_000, 128, { global: undefined, sources: {} }, 1],
  );
  const set = ingestSettings({
    BUCKETFLOW_INGEST_HEADERS_TIMEOUT_MS: '2000',
    BUCKETFLOW_INGEST_REQUEST_TIMEOUT_MS: '5000',
    BUCKETFLOW_INGEST_MAX_CONNECTIONS: '64',
    BUCKETFLOW_INGEST_BUCKETS: 'photos, logs-*',
    BUCKETFLOW_INGEST_BUCKETS_CEPH: 'rgw-*',
    BUCKETFLOW_INGEST_SNS_MIN_SIGNATURE_VERSION: '2',
  });
  assert.deepEqual(
    [set.headersTimeoutMs, set.requestTimeoutMs, set.maxConnections, set.buckets, set.sns.minSignatureVersion],
    [2_000, 5_000, 64, { global: ['photos', 'logs-*'], sources: { ceph: ['rgw-*'] } }, 2],
  );
  assert.throws(
    () => ingestSettings({ BUCKETFLOW_INGEST_REQUEST_TIMEOUT_MS: '5000' }),
    /^ConfigError: BUCKETFLOW_INGEST_HEADERS_TIMEOUT_MS: 10000 is longer than BUCKETFLOW_INGEST_REQUEST_TIMEOUT_MS \(5000\), which includes the headers$/,
  );
  assert.throws(
    () => ingestSettings({ BUCKETFLOW_INGEST_BUCKETS_AWS_S3: 'ok,bad bucket' }),
    /^ConfigError: BUCKETFLOW_INGEST_BUCKETS_AWS_S3: "bad bucket" is not a bucket name or pattern/,
  );
});

test('BUCKETFLOW_HEALTH_PORT: off when unset, a clear error when not a port', () => {
  assert.deepEqual(healthSettings({}), { host: '127.0.0.1', port: undefined });
  assert.deepEqual(healthSettings({ BUCKETFLOW_HEALTH_PORT: '9402', BUCKETFLOW_HEALTH_HOST: '0.0.0.0' }), {
    host: '0.0.0.0',
    port: 9402,
  });
  assert.throws(
    () => healthSettings({ BUCKETFLOW_HEALTH_PORT: 'http' }),
    (err: Error) =>
      err instanceof ConfigError && err.message === 'BUCKETFLOW_HEALTH_PORT: expected a port number, got "http"',
  );
});

test('the Kafka source: off unless set, both brokers and topic required, brokers as host:port, group defaulted', () => {
  assert.equal(loadSettings({}).kafkaSource, undefined);
  assert.deepEqual(
    loadSettings({ BUCKETFLOW_SOURCE_KAFKA_BROKERS: 'k1:9092, k2:9093', BUCKETFLOW_SOURCE_KAFKA_TOPIC: 'minio-events' })
      .kafkaSource,
    { brokers: ['k1:9092', 'k2:9093'], topic: 'minio-events', group: 'bucketflow' },
  );
  assert.equal(
    loadSettings({
      BUCKETFLOW_SOURCE_KAFKA_BROKERS: 'k:9092',
      BUCKETFLOW_SOURCE_KAFKA_TOPIC: 't',
      BUCKETFLOW_SOURCE_KAFKA_GROUP: 'g',
    }).kafkaSource?.group,
    'g',
  );
  assert.throws(
    () => loadSettings({ BUCKETFLOW_SOURCE_KAFKA_TOPIC: 't' }),
    /BUCKETFLOW_SOURCE_KAFKA_BROKERS: required with BUCKETFLOW_SOURCE_KAFKA_TOPIC/,
  );
  assert.throws(
    () => loadSettings({ BUCKETFLOW_SOURCE_KAFKA_BROKERS: 'k:9092' }),
    /BUCKETFLOW_SOURCE_KAFKA_TOPIC: required/,
  );
  assert.throws(
    () => loadSettings({ BUCKETFLOW_SOURCE_KAFKA_BROKERS: 'kafka://k', BUCKETFLOW_SOURCE_KAFKA_TOPIC: 't' }),
    /^ConfigError: BUCKETFLOW_SOURCE_KAFKA_BROKERS: expected host:port, comma-separated, got "kafka:\/\/k"$/,
  );
});
