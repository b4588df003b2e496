// Every BUCKETFLOW_* setting is read by loadSettings, once per entry point: defaults, and bad values named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSettings } from '../../src/settings';

test('defaults: worker tuning, the ingest address and limits, no metrics or health server, INFO logs', () => {
  const settings = loadSettings({});
  assert.deepEqual(settings.tuning, {
    maxConcurrentActivityTaskExecutions: 200, maxConcurrentLocalActivityExecutions: 200, maxConcurrentWorkflowTaskExecutions: 100, maxCachedWorkflows: undefined,
  });
  assert.equal(settings.ingest.host, '127.0.0.1');
  assert.equal(settings.ingest.port, 9400);
  assert.equal(settings.ingest.maxRecords, 1_000);
  assert.equal(settings.metrics.port, undefined);
  assert.equal(settings.health.port, undefined);
  assert.equal(settings.logLevel, 'INFO');
});

test('the parts come from their variables', () => {
  const settings = loadSettings({
    BUCKETFLOW_MAX_CONCURRENT_WORKFLOW_TASKS: '20', BUCKETFLOW_MAX_CACHED_WORKFLOWS: '50', BUCKETFLOW_INGEST_PORT: '9500',
    BUCKETFLOW_METRICS_PORT: '9464', BUCKETFLOW_HEALTH_PORT: '9402', BUCKETFLOW_LOG_LEVEL: 'warn',
  });
  assert.equal(settings.tuning.maxConcurrentWorkflowTaskExecutions, 20);
  assert.equal(settings.tuning.maxCachedWorkflows, 50);
  assert.equal(settings.ingest.port, 9500);
  assert.deepEqual(settings.metrics, { host: '127.0.0.1', port: 9464, sdkAddress: '127.0.0.1:9465' });
  assert.equal(settings.health.port, 9402);
  assert.equal(settings.logLevel, 'WARN');
});

test('bad values name their variable', () => {
  assert.throws(() => loadSettings({ BUCKETFLOW_LOG_LEVEL: 'loud' }), /BUCKETFLOW_LOG_LEVEL: expected one of TRACE, DEBUG, INFO, WARN, ERROR/);
  assert.throws(() => loadSettings({ BUCKETFLOW_MAX_CONCURRENT_ACTIVITIES: 'many' }), /BUCKETFLOW_MAX_CONCURRENT_ACTIVITIES: expected an integer/);
  assert.throws(() => loadSettings({ BUCKETFLOW_HEALTH_PORT: 'http' }), /BUCKETFLOW_HEALTH_PORT: expected a port number/);
  assert.throws(() => loadSettings({ BUCKETFLOW_METRICS_PORT: '94x4' }), /BUCKETFLOW_METRICS_PORT: expected a port number, got "94x4"/);
});

test('the Kafka source: off unless set, both brokers and topic required, brokers as host:port, group defaulted', () => {
  assert.equal(loadSettings({}).kafkaSource, undefined);
  assert.deepEqual(loadSettings({ BUCKETFLOW_SOURCE_KAFKA_BROKERS: 'k1:9092, k2:9093', BUCKETFLOW_SOURCE_KAFKA_TOPIC: 'minio-events' }).kafkaSource,
    { brokers: ['k1:9092', 'k2:9093'], topic: 'minio-events', group: 'bucketflow' });
  assert.equal(loadSettings({ BUCKETFLOW_SOURCE_KAFKA_BROKERS: 'k:9092', BUCKETFLOW_SOURCE_KAFKA_TOPIC: 't', BUCKETFLOW_SOURCE_KAFKA_GROUP: 'g' }).kafkaSource?.group, 'g');
  assert.throws(() => loadSettings({ BUCKETFLOW_SOURCE_KAFKA_TOPIC: 't' }), /BUCKETFLOW_SOURCE_KAFKA_BROKERS: required with BUCKETFLOW_SOURCE_KAFKA_TOPIC/);
  assert.throws(() => loadSettings({ BUCKETFLOW_SOURCE_KAFKA_BROKERS: 'k:9092' }), /BUCKETFLOW_SOURCE_KAFKA_TOPIC: required/);
  assert.throws(() => loadSettings({ BUCKETFLOW_SOURCE_KAFKA_BROKERS: 'kafka://k', BUCKETFLOW_SOURCE_KAFKA_TOPIC: 't' }), /BUCKETFLOW_SOURCE_KAFKA_BROKERS: "kafka:\/\/k" is not host:port/);
});
