// bucketflow against a TLS-secured Temporal: the stack's nginx terminates TLS in front of the dev server
// (scripts/stack/services/temporal-tls.ts). Deliveries end to end over TLS, mutual TLS and with an API key,
// and each way of getting it wrong as one line naming the setting, from the client library and from a worker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { BucketflowClient } from '../../src/publish/publisher';
import { buildEvent } from '../../src/events';
import { loadTemporalConnection, type TemporalConnectionSettings } from '../../src/settings/temporal';
import { connectTemporal } from '../../src/temporal/connection';
import { endpoints } from '../../scripts/stack/endpoints';
import { TEMPORAL_TEST_API_KEY, temporalTlsFiles } from '../../scripts/stack/services/temporal-tls';
import { selfSignedCertificate } from '../helpers/certificates';
import { startEngine, uniqueBucket } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { needs } from '../helpers/needs';

const { describe, test } = needs('temporal', 'temporal-tls');

const repo = path.resolve(__dirname, '../..');
const ca = { TEMPORAL_TLS_SERVER_CA_CERT_PATH: temporalTlsFiles.ca };
const clientPair = {
  TEMPORAL_TLS_CLIENT_CERT_PATH: temporalTlsFiles.clientCert,
  TEMPORAL_TLS_CLIENT_KEY_PATH: temporalTlsFiles.clientKey,
};
const ways: Record<string, NodeJS.ProcessEnv> = {
  TLS: { TEMPORAL_ADDRESS: endpoints.temporalTls, ...ca },
  'mutual TLS': { TEMPORAL_ADDRESS: endpoints.temporalMtls, ...ca, ...clientPair },
  'an API key': { TEMPORAL_ADDRESS: endpoints.temporalApiKey, ...ca, TEMPORAL_API_KEY: TEMPORAL_TEST_API_KEY },
};

describe('a delivery end to end through the TLS proxy', () => {
  for (const [way, env] of Object.entries(ways)) {
    test(`over ${way}: the worker polls and the client publishes through the proxy`, async () => {
      const receiver = await Receiver.start();
      const bucket = uniqueBucket('tls');
      const temporal = loadTemporalConnection(env);
      const engine = await startEngine({
        notify: { webhook: { 1: { enable: true, endpoint: receiver.url } } },
        rules: {
          [bucket]: [
            {
              id: '1',
              arn: 'arn:minio:sqs:us-east-1:1:webhook',
              events: ['s3:ObjectCreated:*'],
              prefix: '',
              suffix: '',
            },
          ],
        },
        temporal,
      });
      try {
        // The storage-side client on a connection of its own: the workflow matches the rules on the worker.
        const [published] = await engine.plainClient.publish({
          Records: [buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'a.jpg' })],
        });
        await engine.plainClient.temporal.workflow.getHandle(published.workflowId).result();
        assert.equal(receiver.requests.length, 1);
        assert.equal(JSON.parse(receiver.requests[0].body).Key, `${bucket}/a.jpg`);
        assert.equal(engine.settings.temporalAddress, env.TEMPORAL_ADDRESS); // nothing reached the dev server directly
      } finally {
        await engine.stop();
        await receiver.close();
      }
    });
  }
});

/** The one-line error connecting with `env` gives: through BucketflowClient.connect, or a bare Connection that gives up
 * after 2 s. */
async function refusal(env: NodeJS.ProcessEnv, through: 'library' | 'connection' = 'connection'): Promise<string> {
  const settings: TemporalConnectionSettings = loadTemporalConnection(env);
  try {
    if (through === 'library')
      await (await BucketflowClient.connect({ ...settings, taskQueue: 'tls-refusals' })).close();
    else
      await (
        await connectTemporal(settings, (options) => Connection.connect({ ...options, connectTimeout: 2_000 }))
      ).close();
  } catch (err) {
    const message = (err as Error).message;
    assert.doesNotMatch(message, /\n/);
    assert.doesNotMatch(message, new RegExp(TEMPORAL_TEST_API_KEY));
    return message;
  }
  assert.fail('connected');
}

describe('refusals, each one line naming the setting', () => {
  test('mutual TLS without a client certificate: the proxy refuses it', async () => {
    assert.equal(
      await refusal({ TEMPORAL_ADDRESS: endpoints.temporalMtls, ...ca }, 'library'),
      `TEMPORAL_TLS_CLIENT_CERT_PATH: Temporal at ${endpoints.temporalMtls} wants credentials (a client certificate or TEMPORAL_API_KEY): mutual TLS: the proxy requires a client certificate signed by its CA`,
    );
  });

  test("a client certificate the proxy's CA did not sign", async () => {
    const stranger = selfSignedCertificate('stranger');
    const dir = mkdtempSync(path.join(tmpdir(), 'bucketflow-stranger-'));
    writeFileSync(path.join(dir, 'cert.pem'), stranger.cert);
    writeFileSync(path.join(dir, 'key.pem'), stranger.key);
    const message = await refusal({
      TEMPORAL_ADDRESS: endpoints.temporalMtls,
      ...ca,
      TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'cert.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'key.pem'),
    });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(
      message,
      `TEMPORAL_TLS_CLIENT_CERT_PATH: the client certificate was refused by Temporal at ${endpoints.temporalMtls}: mutual TLS: the proxy requires a client certificate signed by its CA`,
    );
  });

  test('a wrong API key: the proxy checks the authorization header', async () => {
    const message = await refusal(
      { TEMPORAL_ADDRESS: endpoints.temporalApiKey, ...ca, TEMPORAL_API_KEY: 'wrong-key' },
      'library',
    );
    assert.equal(
      message,
      `TEMPORAL_API_KEY: refused by Temporal at ${endpoints.temporalApiKey}: missing or wrong API key`,
    );
  });

  test('a server certificate from a CA the client does not trust', async () => {
    const message = await refusal({ TEMPORAL_ADDRESS: endpoints.temporalTls, TEMPORAL_TLS: 'true' });
    assert.match(
      message,
      new RegExp(
        `^TEMPORAL_TLS_SERVER_CA_CERT_PATH: the certificate of Temporal at ${endpoints.temporalTls} is not trusted \\(`,
      ),
    );
  });

  test('TLS against the plaintext dev server, and plaintext against the TLS proxy', async () => {
    assert.match(
      await refusal({ TEMPORAL_ADDRESS: endpoints.temporal, ...ca }),
      new RegExp(`^TEMPORAL_TLS: Temporal at ${endpoints.temporal} does not speak TLS`),
    );
    assert.equal(
      await refusal({ TEMPORAL_ADDRESS: endpoints.temporalTls }),
      `TEMPORAL_TLS: Temporal at ${endpoints.temporalTls} speaks TLS and the connection was plaintext; set TEMPORAL_TLS=true (with TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)`,
    );
  });

  test('a worker without its client certificate refuses to start, saying why in one line', () => {
    const run = spawnSync('bash', [path.join(repo, 'scripts', 'entry.sh'), 'worker'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: endpoints.temporalMtls,
        ...ca,
        BUCKETFLOW_CONFIG: '',
        BUCKETFLOW_TASK_QUEUE: 'tls-refusals',
      },
    });
    assert.equal(run.status, 1);
    const failed = run.stderr.split('\n').filter((line) => line.includes('"worker failed"'));
    assert.equal(failed.length, 1, run.stderr);
    assert.match(
      JSON.parse(failed[0]).error,
      /^TEMPORAL_TLS_CLIENT_CERT_PATH: Temporal at 127\.0\.0\.1:7244 wants credentials .*: mutual TLS: the proxy requires a client certificate signed by its CA$/,
    );
    assert.ok(readFileSync(temporalTlsFiles.ca)); // the stack's CA is where the service says
  });
});
