// How hard a target is tried: the fast path's settings and the durable schedule, as configured, and the
// process switches for the fast path and the in-worker ingest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, DEFAULT_RETRY, loadTargetsConfig, retrySettingsOf } from '../../src/config';
import { loadSettings } from '../../src/settings';

function load(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  const text = JSON.stringify({
    notify: { webhook: { '1': { enable: true, endpoint: 'http://127.0.0.1:9/', ...raw } } },
  });
  return loadTargetsConfig({ text, env, region: 'us-east-1' }).targets[0];
}

test('defaults: three fast attempts 200 ms apart, then the durable schedule', () => {
  assert.deepEqual(retrySettingsOf(load({}).config), {
    fastAttempts: 3,
    fastIntervalMs: 200,
    initialIntervalMs: 1_000,
    maxIntervalMs: 300_000,
    backoff: 2,
    maxDurationMs: 86_400_000,
  });
  assert.deepEqual(DEFAULT_RETRY, retrySettingsOf(load({}).config));
});

test('fast_attempts and fast_retry_interval from the file and from MINIO_NOTIFY_* env vars', () => {
  const fromFile = retrySettingsOf(load({ fast_attempts: 0, fast_retry_interval: '1.5s' }).config);
  assert.equal(fromFile.fastAttempts, 0);
  assert.equal(fromFile.fastIntervalMs, 1_500);
  const fromEnv = retrySettingsOf(
    load({}, { MINIO_NOTIFY_WEBHOOK_FAST_ATTEMPTS_1: '5', MINIO_NOTIFY_WEBHOOK_FAST_RETRY_INTERVAL_1: '50ms' }).config,
  );
  assert.equal(fromEnv.fastAttempts, 5);
  assert.equal(fromEnv.fastIntervalMs, 50);
});

test('bad fast-path values name the target and the field', () => {
  for (const [raw, problem] of [
    [{ fast_attempts: 11 }, /fast_attempts: expected at most 10/],
    [{ fast_attempts: -1 }, /fast_attempts: expected at least 0/],
    [{ fast_attempts: 1.5 }, /fast_attempts: expected an integer/],
    [{ fast_retry_interval: 'soon' }, /fast_retry_interval: expected a duration/],
  ] as const) {
    assert.throws(
      () => load(raw),
      (err: Error) => {
        assert.ok(err instanceof ConfigError, err.message);
        assert.match(err.message, /^arn:minio:sqs:us-east-1:1:webhook: notify\.webhook\.1\./);
        assert.match(err.message, problem);
        return true;
      },
    );
  }
});

test('BUCKETFLOW_FAST_PATH and BUCKETFLOW_INGEST: on/off spellings, a bad value names the variable', () => {
  assert.deepEqual([loadSettings({}).fastPath, loadSettings({}).ingestInWorker], [true, false]);
  assert.deepEqual(
    [
      loadSettings({ BUCKETFLOW_FAST_PATH: 'off', BUCKETFLOW_INGEST: 'on' }).fastPath,
      loadSettings({ BUCKETFLOW_INGEST: 'true' }).ingestInWorker,
    ],
    [false, true],
  );
  assert.throws(
    () => loadSettings({ BUCKETFLOW_FAST_PATH: 'maybe' }),
    /^ConfigError: BUCKETFLOW_FAST_PATH: expected a boolean \(true\/false\/on\/off\), got "maybe"$/,
  );
  assert.throws(() => loadSettings({ BUCKETFLOW_INGEST: 'yes please' }), /BUCKETFLOW_INGEST: expected a boolean/);
});
