// The Temporal connection settings as Temporal's CLI and SDKs read them (@temporalio/envconfig): today's
// variables, a TOML profile, TLS and API-key settings, and bad input as one line naming the setting, from
// the loader, from bin/bucketflow (exit 2) and from a worker that refuses to start. Needs no server.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/config/params';
import { loadSettings } from '../../src/settings';
import { describeTemporalConnection, loadTemporalConnection } from '../../src/settings/temporal';
import { selfSignedCertificate } from '../helpers/certificates';

const repo = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'bucketflow-temporal-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const pair = selfSignedCertificate();
const file = (name: string, text: string) => {
  writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
};
const certFile = file('client.pem', pair.cert);
const keyFile = file('client.key', pair.key);
const SECRET = 'tk_very-secret-api-key';

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadTemporalConnection(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    assert.doesNotMatch(err.message, new RegExp(SECRET));
    assert.doesNotMatch(err.message, /\n/);
    return err.message;
  }
  assert.fail('accepted');
}

test("defaults and today's variables", () => {
  assert.deepEqual(loadTemporalConnection({}), { temporalAddress: '127.0.0.1:7233', namespace: 'default' });
  const settings = loadSettings({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_NAMESPACE: 'storage' });
  assert.equal(settings.temporalAddress, 'temporal.internal:7233');
  assert.equal(settings.namespace, 'storage');
  assert.equal(settings.temporalTls, undefined);
});

test('a profile of the TOML config file, picked by TEMPORAL_PROFILE, overridden by the environment', () => {
  const config = file(
    'temporal.toml',
    [
      '[profile.default]',
      'address = "localhost:7233"',
      '[profile.cloud]',
      'address = "ns.acct.tmprl.cloud:7233"',
      'namespace = "ns.acct"',
      `api_key = "${SECRET}"`,
      '[profile.mtls]',
      'address = "temporal.internal:7233"',
      '[profile.mtls.tls]',
      `client_cert_path = "${certFile}"`,
      `client_key_path = "${keyFile}"`,
      `server_ca_cert_path = "${certFile}"`,
      'server_name = "temporal"',
      '[profile.mtls.grpc_meta]',
      'x-tenant = "a"',
    ].join('\n'),
  );
  const base = { TEMPORAL_CONFIG_FILE: config };
  assert.equal(loadTemporalConnection(base).temporalAddress, 'localhost:7233');

  const cloud = loadTemporalConnection({ ...base, TEMPORAL_PROFILE: 'cloud' });
  assert.deepEqual(cloud, {
    temporalAddress: 'ns.acct.tmprl.cloud:7233',
    namespace: 'ns.acct',
    temporalTls: true,
    temporalApiKey: SECRET,
  });
  assert.deepEqual(describeTemporalConnection(cloud), {
    address: 'ns.acct.tmprl.cloud:7233',
    namespace: 'ns.acct',
    tls: 'on',
    apiKeySet: 'set',
  });

  const mtls = loadTemporalConnection({ ...base, TEMPORAL_PROFILE: 'mtls', TEMPORAL_NAMESPACE: 'from-env' });
  assert.equal(mtls.namespace, 'from-env');
  assert.deepEqual(mtls.temporalMetadata, { 'x-tenant': 'a' });
  assert.ok(typeof mtls.temporalTls === 'object');
  assert.equal(mtls.temporalTls.serverNameOverride, 'temporal');
  assert.equal(Buffer.from(mtls.temporalTls.clientCertPair!.crt).toString(), pair.cert);
  assert.equal(describeTemporalConnection(mtls).tls, 'mutual');

  assert.equal(
    refusal({ ...base, TEMPORAL_PROFILE: 'staging' }),
    `TEMPORAL_PROFILE: no profile "staging" in ${config}`,
  );
  const broken = file('broken.toml', '[profile.default\naddress = 1');
  assert.match(refusal({ TEMPORAL_CONFIG_FILE: broken }), new RegExp(`^TEMPORAL_CONFIG_FILE: ${broken}: `));
  const missingCa = file(
    'missing-ca.toml',
    '[profile.default]\naddress = "x:7233"\n[profile.default.tls]\nserver_ca_cert_path = "/nonexistent/ca.pem"',
  );
  assert.equal(
    refusal({ TEMPORAL_CONFIG_FILE: missingCa }),
    `${missingCa}: profile.default.tls.server_ca_cert_path: cannot read /nonexistent/ca.pem (ENOENT)`,
  );
});

test('TLS from the environment: files checked at load, each problem naming its variable', () => {
  const tls = {
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    TEMPORAL_TLS_CLIENT_CERT_PATH: certFile,
    TEMPORAL_TLS_CLIENT_KEY_PATH: keyFile,
  };
  assert.equal(describeTemporalConnection(loadTemporalConnection(tls)).tls, 'mutual');
  assert.equal(loadTemporalConnection({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS: 'true' }).temporalTls, true);
  assert.equal(loadTemporalConnection({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS: 'false' }).temporalTls, undefined);

  assert.equal(
    refusal({ ...tls, TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/client.pem' }),
    'TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read /nonexistent/client.pem (ENOENT)',
  );
  assert.equal(
    refusal({ ...tls, TEMPORAL_TLS_CLIENT_CERT_PATH: keyFile }),
    `TEMPORAL_TLS_CLIENT_CERT_PATH: ${keyFile} is not a PEM certificate`,
  );
  assert.equal(
    refusal({ ...tls, TEMPORAL_TLS_CLIENT_KEY_PATH: certFile }),
    `TEMPORAL_TLS_CLIENT_KEY_PATH: ${certFile} is not a PEM private key`,
  );
  assert.equal(
    refusal({ ...tls, TEMPORAL_TLS_CLIENT_KEY_PATH: '' }),
    'TEMPORAL_TLS_CLIENT_KEY_PATH: required with the client certificate (mutual TLS needs both)',
  );
  assert.equal(
    refusal({ TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'not a pem', TEMPORAL_ADDRESS: 'x:7233' }),
    'TEMPORAL_TLS_SERVER_CA_CERT_DATA: its data is not a PEM certificate',
  );
  assert.match(refusal({ TEMPORAL_TLS: 'true' }), /^TEMPORAL_ADDRESS: required with TLS settings/);
  assert.match(refusal({ TEMPORAL_API_KEY: SECRET }), /^TEMPORAL_ADDRESS: required with an API key/);
  assert.match(
    refusal({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_API_KEY: SECRET, TEMPORAL_TLS: 'false' }),
    /^TEMPORAL_API_KEY: an API key is only sent over TLS/,
  );
});

const badTls = {
  TEMPORAL_ADDRESS: '127.0.0.1:7233',
  TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/client.pem',
  TEMPORAL_TLS_CLIENT_KEY_PATH: keyFile,
  TEMPORAL_API_KEY: SECRET,
};

test('bin/bucketflow: a bad setting is one line on stderr and exit 2, the key never printed', () => {
  const run = spawnSync(path.join(repo, 'bin', 'bucketflow'), ['targets', 'list'], {
    encoding: 'utf8',
    env: { ...process.env, ...badTls, BUCKETFLOW_DATA_DIR: dir },
  });
  assert.equal(run.status, 2, run.stderr);
  assert.equal(
    run.stderr.replace(/^bucketflow: dist\/ is older.*\n/, ''),
    'bucketflow: TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read /nonexistent/client.pem (ENOENT)\n',
  );
});

test('the worker refuses to start: one log line naming the setting, no stack, exit 2, the key never printed', () => {
  const run = spawnSync('bash', [path.join(repo, 'scripts', 'entry.sh'), 'worker'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...badTls, BUCKETFLOW_DATA_DIR: dir, BUCKETFLOW_CONFIG: '' },
  });
  assert.equal(run.status, 2, run.stderr);
  const lines = run.stderr.split('\n').filter((line) => line.startsWith('{'));
  assert.equal(lines.length, 1, run.stderr);
  const entry = JSON.parse(lines[0]) as { level: string; msg?: string; message?: string; error: string };
  assert.equal(entry.error, 'TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read /nonexistent/client.pem (ENOENT)');
  assert.doesNotMatch(run.stderr + run.stdout, new RegExp(SECRET));
});
