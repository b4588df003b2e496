// `npm run worker` with a bad target config: the process exits 2 at start with an error naming the ARN
// and the field, for every target type (config checks and each target's own checks).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bucketflow-worker-start-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Starts the worker with `notify` as its config; resolves with the exit code and the ERROR log line. */
async function startWorker(notify: Record<string, unknown>) {
  const configFile = path.join(dir, `${Object.keys(notify)[0]}.json`);
  await writeFile(configFile, JSON.stringify({ notify }));
  const env = {
    ...process.env,
    BUCKETFLOW_CONFIG: configFile,
    BUCKETFLOW_DATA_DIR: dir,
    BUCKETFLOW_TASK_QUEUE: 'worker-start-test',
  };
  try {
    await run(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], { cwd: root, env, timeout: 30_000 });
    return { code: 0, error: '' };
  } catch (err) {
    const { code, stderr } = err as { code: number; stderr: string };
    const line = stderr.split('\n').find((l) => l.includes('"level":"ERROR"')) ?? '';
    return { code, error: line ? (JSON.parse(line) as { error: string }).error : '' };
  }
}

const cases: Array<[type: string, config: Record<string, unknown>, field: string]> = [
  ['amqp', { url: 'http://127.0.0.1:5672' }, 'url'],
  ['elasticsearch', { url: 'http://127.0.0.1:9200', index: 'BucketEvents' }, 'index'],
  ['redis', { address: '127.0.0.1:6379', key: 'k', format: 'columns' }, 'format'],
  ['nats', { address: '127.0.0.1:4222', subject: '' }, 'subject'],
  ['postgresql', { connectionString: 'postgres://u:p@127.0.0.1/db', table: 'bad-name' }, 'table'],
  ['mysql', { dsnString: 'nonsense', table: 't' }, 'dsn_string'],
  ['kafka', { brokers: '', topic: 't' }, 'brokers'],
  ['webhook', { endpoint: 'not a url' }, 'endpoint'],
  ['mqtt', { broker: 'tcp://127.0.0.1:1883', topic: 't', qos: 3 }, 'qos'],
];

for (const [type, config, field] of cases) {
  test(`${type}: a bad ${field} stops the worker at start, naming the ARN and the field`, async () => {
    const { code, error } = await startWorker({ [type]: { '1': { enable: true, ...config } } });
    assert.equal(code, 2);
    assert.match(error, new RegExp(`^arn:minio:sqs:[^:]*:1:${type}: .*\\b${field}\\b`));
  });
}
