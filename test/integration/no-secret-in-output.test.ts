// No secret in any output: a worker with its ingest runs one event to a target of every type,
// each holding canary secrets (URL userinfo and query values, libpq password and sslpassword, Go DSN
// password, tokens, SASL and broker passwords), some delivering, some failing. Then every output is read
// for the canaries: the workflow's history and search attributes, the worker's log, `targets health`,
// the status page's HTML and /metrics.
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { FileStateStore } from '../../src/state';
import { loadSettings } from '../../src/settings';
import { endpoints } from '../../scripts/stack/endpoints';
import { eventually } from '../helpers/cli';
import { freePort } from '../helpers/dev-server';
import { spawnWorker } from '../helpers/engine';
import { Receiver } from '../helpers/receiver';
import { deliveryOf } from '../helpers/records';
import { needs } from '../helpers/needs';

const { after, before, test } = needs(
  'temporal',
  'postgres',
  'mariadb',
  'redis',
  'rabbitmq',
  'nats',
  'mosquitto',
  'elasticsearch',
);

const root = path.resolve(__dirname, '../..');
const CANARY = 'cnry';
/** A canary secret: distinctive, found by its prefix in any output. */
const secret = (name: string) => `${CANARY}-${name}-${randomUUID().slice(0, 6)}`;
/** Failing targets give up quickly: one fast attempt, one durable attempt. */
const SHORT = { fast_attempts: 1, retry_initial_interval: '100ms', retry_max_duration: '1s' };
const bucket = `redaction-${randomUUID().slice(0, 8)}`;
const taskQueue = `redaction-${randomUUID()}`;

let dir: string;
let worker: ChildProcess;
let workerLog = '';
let receivers: Receiver[];
let ingestUrl: string;
let metricsUrl: string;
let configFile: string;
let client: Client;

function notify(closedPort: number): Record<string, Record<string, Record<string, unknown>>> {
  const [ok, failing] = receivers;
  const pg = new URL(endpoints.postgres);
  const mysql = new URL(endpoints.mysql);
  const amqp = new URL(endpoints.amqp);
  return {
    webhook: {
      ok: {
        enable: true,
        endpoint: `${ok.url}hook?token=${secret('webhook-query')}`,
        auth_token: secret('webhook-token'),
      },
      bad: {
        enable: true,
        endpoint: `${failing.url}hook?token=${secret('webhook-query')}`,
        auth_token: `Bearer ${secret('webhook-token')}`,
        ...SHORT,
      },
    },
    nats: {
      // The stack's NATS has no auth: it accepts the credentials; the closed port refuses.
      ok: {
        enable: true,
        address: `nats://natsuser:${secret('nats-password')}@${endpoints.nats}`,
        subject: 'bucketflow.redaction',
      },
      bad: {
        enable: true,
        address: `nats://natsuser:${secret('nats-password')}@127.0.0.1:${closedPort}`,
        subject: 'bucketflow.redaction',
        ...SHORT,
      },
    },
    postgresql: {
      ok: {
        enable: true,
        connection_string: `host=${pg.hostname} port=${pg.port} user=${pg.username} password=${pg.password} sslpassword=${secret('pg-sslpassword')} dbname=${pg.pathname.slice(1)}`,
        table: 'redaction_events',
      },
      bad: {
        enable: true,
        connection_string: `host=${pg.hostname} port=${pg.port} user=${pg.username} password=${secret('pg-password')} dbname=${pg.pathname.slice(1)}`,
        table: 'redaction_events',
        ...SHORT,
      },
      url: {
        enable: true,
        connection_string: `postgres://${pg.username}:${secret('pg-url-password')}@${pg.host}${pg.pathname}`,
        table: 'redaction_events',
        ...SHORT,
      },
    },
    mysql: {
      bad: {
        enable: true,
        dsn_string: `${mysql.username}:${secret('mysql-password')}@tcp(${mysql.host})${mysql.pathname}`,
        table: 'redaction_events',
        ...SHORT,
      },
    },
    redis: {
      bad: {
        enable: true,
        address: endpoints.redis,
        key: 'bucketflow-redaction',
        password: secret('redis-password'),
        ...SHORT,
      },
    },
    amqp: {
      bad: {
        enable: true,
        url: `amqp://${amqp.username}:${secret('amqp-password')}@${amqp.host}`,
        exchange: 'bucketflow-redaction',
        exchange_type: 'fanout',
        ...SHORT,
      },
    },
    elasticsearch: {
      ok: {
        enable: true,
        url: `http://elastic:${secret('es-password')}@${new URL(endpoints.elasticsearch).host}`,
        index: 'bucketflow-redaction',
      },
    },
    kafka: {
      bad: {
        enable: true,
        brokers: `127.0.0.1:${closedPort}`,
        topic: 'bucketflow-redaction',
        sasl: true,
        sasl_username: 'u',
        sasl_password: secret('kafka-password'),
        ...SHORT,
      },
    },
    mqtt: {
      ok: {
        enable: true,
        broker: endpoints.mqtt,
        topic: 'bucketflow/redaction',
        username: 'u',
        password: secret('mqtt-password'),
      },
      bad: {
        enable: true,
        broker: `tcp://u:${secret('mqtt-url-password')}@127.0.0.1:${closedPort}`,
        topic: 'bucketflow/redaction',
        ...SHORT,
      },
    },
  };
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-redaction-'));
  receivers = [await Receiver.start(), await Receiver.start([], 503)];
  const targets = notify(await freePort());
  configFile = path.join(dir, 'config.json');
  await writeFile(configFile, JSON.stringify({ notify: targets }));
  const arns = Object.entries(targets).flatMap(([type, byId]) =>
    Object.keys(byId).map((id) => `arn:minio:sqs:us-east-1:${id}:${type}`),
  );
  const store = new FileStateStore(dir);
  await store.put(
    bucket,
    arns.map((arn, i) => ({ id: String(i), arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' })),
  );
  await store.close();
  const [ingestPort, metricsPort] = [await freePort(), await freePort()];
  ingestUrl = `http://127.0.0.1:${ingestPort}/`;
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  worker = spawnWorker(
    { ...loadSettings({}), configFile, dataDir: dir, taskQueue },
    {
      BUCKETFLOW_INGEST: 'on',
      BUCKETFLOW_INGEST_PORT: String(ingestPort),
      BUCKETFLOW_LOG_LEVEL: 'DEBUG',
      BUCKETFLOW_METRICS_PORT: String(metricsPort),
      BUCKETFLOW_SDK_METRICS_PORT: String(await freePort()),
    },
  );
  worker.stderr!.on('data', (d: Buffer) => (workerLog += d));
  await eventually(
    async () => {
      if (worker.exitCode !== null) assert.fail(`the worker exited: ${workerLog}`);
      return workerLog.includes('worker started') ? true : undefined;
    },
    'the worker to start',
    60_000,
  );
  client = new Client({ connection: await Connection.connect({ address: endpoints.temporal }) });
});

after(async () => {
  if (worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
  await client?.connection.close();
  for (const receiver of receivers) await receiver.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every byte array in a history (payloads) as text, so a canary inside a payload is seen too. */
function readable(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(readable);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, readable(v)]));
  return value;
}

function assertNoCanary(output: string, where: string): void {
  const at = output.indexOf(CANARY);
  assert.equal(at, -1, `a secret in ${where}: ...${output.slice(Math.max(0, at - 200), at + 60)}...`);
}

test(
  'no canary secret in the history, search attributes, worker log, targets health, status page or metrics',
  { timeout: 180_000 },
  async () => {
    const { record } = deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key: 'secret-check.txt' });
    const accepted = await fetch(ingestUrl, { method: 'POST', body: JSON.stringify({ Records: [record] }) });
    assert.equal(accepted.status, 202, await accepted.text());

    // The delivery ends (partial: the failing targets gave up) with every outcome in its history.
    const execution = await eventually(
      async () => {
        for await (const found of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` }))
          if (found.status.name !== 'RUNNING') return found;
        return undefined;
      },
      'the delivery to end',
      150_000,
    );
    const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
    const history = JSON.stringify(readable(await handle.fetchHistory()));
    const description = await handle.describe();
    assert.match(history, /REDACTED/, 'the failures are in the history, redacted');
    assert.match(history, /nats:\/\/natsuser:REDACTED@127\.0\.0\.1/, 'the NATS address shows, its password hidden');
    assertNoCanary(history, 'the workflow history');
    assertNoCanary(JSON.stringify(readable(description.raw)), 'the workflow description (search attributes, memo)');
    assert.equal(receivers[0].requests.length, 1, 'the succeeding webhook was delivered to');
    assert.match(receivers[0].requests[0].url, /token=cnry-webhook-query/, 'the real token went to the receiver');

    const cli = await promisify(execFile)('bash', ['bin/bucketflow', 'targets', 'health'], {
      cwd: root,
      env: {
        ...process.env,
        BUCKETFLOW_CONFIG: configFile,
        BUCKETFLOW_DATA_DIR: dir,
        BUCKETFLOW_TASK_QUEUE: taskQueue,
      },
    });
    assert.match(cli.stdout, /arn:minio:sqs:us-east-1:bad:nats\s+offline/);
    assertNoCanary(cli.stdout + cli.stderr, '`bucketflow targets health`');
    const list = await promisify(execFile)('bash', ['bin/bucketflow', 'targets', 'list'], {
      cwd: root,
      env: { ...process.env, BUCKETFLOW_CONFIG: configFile },
    });
    assertNoCanary(list.stdout + list.stderr, '`bucketflow targets list`');

    const page = await fetch(`${ingestUrl}status`);
    const html = await page.text();
    assert.equal(page.status, 200, html);
    assert.match(html, /offline/);
    assertNoCanary(html, 'the status page');
    assertNoCanary(await (await fetch(metricsUrl)).text(), '/metrics');

    assert.match(workerLog, /delivery attempt failed/);
    assertNoCanary(workerLog, 'the worker log');
  },
);
