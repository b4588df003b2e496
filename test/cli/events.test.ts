// The real `bin/bucketflow` binary against a temp data dir and config.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const bin = path.resolve(__dirname, '../../bin/bucketflow');
const dir = mkdtempSync(path.join(tmpdir(), 'bucketflow-cli-'));
writeFileSync(
  path.join(dir, 'config.json'),
  '"amqp": {"1": {"enable": true, "url": "amqp://u:p@localhost:5672"}}, "webhook": {"1": {"enable": false, "endpoint": ""}}',
);

const envWith = (config: string) => ({
  ...process.env,
  BUCKETFLOW_CONFIG: path.join(dir, config),
  BUCKETFLOW_DATA_DIR: dir,
});

function runWith(config: string, ...args: string[]) {
  const result = spawnSync(bin, args, { encoding: 'utf8', env: envWith(config) });
  return { code: result.status, out: result.stdout.trim(), err: result.stderr.trim() };
}

const run = (...args: string[]) => runWith('config.json', ...args);

/** `run` without waiting for it: for commands that are independent of each other, side by side. */
function started(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: envWith('config.json') });
    let [out, err] = ['', ''];
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => resolve({ code, out: out.trim(), err: err.trim() }));
  });
}

const amqp = 'arn:minio:sqs:us-east-1:1:amqp';

test('--help, -h and help print the usage on stdout and exit 0; no arguments is a usage error', () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const { code, out } = run(...args);
    assert.equal(code, 0, args.join(' '));
    assert.match(out, /^usage:\n {2}bucketflow events add/);
  }
  const bare = run();
  assert.equal(bare.code, 2);
  assert.match(bare.err, /usage:/);
});

test('events add / list / remove as mc event does', () => {
  assert.equal(run('events', 'add', 'images', amqp, '--suffix', '.jpg', '--event', 'put,delete').code, 0);
  assert.equal(run('events', 'add', 'images', amqp, '--prefix', 'thumbs/', '--event', 'get').code, 0);
  assert.deepEqual(run('events', 'list', 'images').out.split('\n'), [
    `${amqp}   s3:ObjectCreated:*,s3:ObjectRemoved:*   Filter: suffix=".jpg"`,
    `${amqp}   s3:ObjectAccessed:*   Filter: prefix="thumbs/"`,
  ]);
  const stored = JSON.parse(readFileSync(path.join(dir, 'rules.json'), 'utf8'));
  assert.equal(stored.images.length, 2);

  const refused = run('events', 'remove', 'images');
  assert.equal(refused.code, 2);
  assert.match(refused.err, /needs --force/);
  assert.equal(run('events', 'remove', 'images', amqp).code, 0);
  assert.equal(run('events', 'list', 'images').out, '');
});

test('bad input is refused with a clear message and nothing stored', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['events', 'add', 'docs', 'arn:minio:sqs:us-east-1:1:webhook'], /not a configured, enabled target/],
    [['events', 'add', 'docs', 'arn:minio:sqs:us-east-1:1'], /ARN "arn:minio:sqs:us-east-1:1": expected/],
    [['events', 'add', 'docs', amqp, '--event', 'upload'], /unknown event name: upload/],
    [
      ['events', 'frobnicate', 'docs'],
      /^bucketflow: unknown command "events frobnicate" \(see bucketflow events --help\)$/,
    ],
    [
      ['events', 'add', 'docs', amqp, '--colour', 'red'],
      /^bucketflow: events add: unknown option --colour \(see bucketflow events add --help\)$/,
    ],
    [
      ['events', 'add', 'docs', amqp, '--prefix', 'a/../b'],
      /^bucketflow: rule 1: prefix: invalid filter value "a\/..\/b"$/,
    ],
    [['events', 'add', 'docs', 'arn:minio:sqs:eu-west-1:1:amqp'], /this server's region is "us-east-1"/],
    [
      ['events', 'remove', 'docs', 'arn:minio:sqs:us-east-1:1:webhook'],
      /no rule for arn:minio:sqs:us-east-1:1:webhook on bucket docs/,
    ],
    [['events', 'import', 'docs', path.join(dir, 'missing.xml')], /^bucketflow: cannot read .*missing.xml/],
    [['events', 'add'], /missing <bucket>/],
  ];
  const results = await Promise.all(cases.map(([args]) => started(...args))); // each refused: nothing to wait for
  for (const [n, [args, message]] of cases.entries()) {
    assert.equal(results[n].code, 2, args.join(' '));
    assert.match(results[n].err, message);
  }
  assert.equal(run('events', 'add', 'docs', amqp, '--suffix', '.pdf').code, 0);
  const overlap = run('events', 'add', 'docs', amqp, '--suffix', '.pdf');
  assert.match(overlap.err, /overlap/);
  assert.equal(run('events', 'list', 'docs').out.split('\n').length, 1);
});

test("an ARN without a region, as today's MinIO prints it, is stored as the configured ARN", () => {
  const added = run('events', 'add', 'noregion', 'arn:minio:sqs::1:amqp', '--event', 'put');
  assert.equal(added.out, `Successfully added ${amqp}`);
  assert.equal(run('events', 'list', 'noregion').out, `${amqp}   s3:ObjectCreated:*`);
});

test('a broken config file is a clear error naming the field', () => {
  writeFileSync(path.join(dir, 'broken.json'), '{"notify": {"webhook": {"1": {"enable": true}}}}');
  const result = runWith('broken.json', 'targets', 'list');
  assert.equal(result.code, 2);
  assert.equal(result.err, 'bucketflow: arn:minio:sqs:us-east-1:1:webhook: notify.webhook.1.endpoint: required');
});

test('targets list shows every ARN, enabled or not', () => {
  assert.deepEqual(run('targets', 'list').out.split('\n'), [
    `${amqp}   amqp   enabled`,
    'arn:minio:sqs:us-east-1:1:webhook   webhook   disabled',
  ]);
});

test('events export and import carry S3 NotificationConfiguration XML', () => {
  assert.equal(run('events', 'add', 'src', amqp, '--prefix', 'in/', '--event', 'put').code, 0);
  const xml = run('events', 'export', 'src').out;
  assert.match(xml, /<Queue>arn:minio:sqs:us-east-1:1:amqp<\/Queue>/);
  writeFileSync(path.join(dir, 'n.xml'), xml);
  assert.equal(run('events', 'import', 'dst', path.join(dir, 'n.xml')).code, 0);
  assert.equal(run('events', 'list', 'dst').out, `${amqp}   s3:ObjectCreated:*   Filter: prefix="in/"`);
  writeFileSync(path.join(dir, 'bad.xml'), xml.replace(amqp, 'arn:minio:sqs:us-east-1:7:amqp'));
  const refused = run('events', 'import', 'dst', path.join(dir, 'bad.xml'));
  assert.equal(refused.code, 2);
  assert.match(refused.err, /not a configured, enabled target/);
  assert.equal(run('events', 'list', 'dst').out, `${amqp}   s3:ObjectCreated:*   Filter: prefix="in/"`);
});

test('events add --pattern stores an event pattern, list shows it; a bad one is one line naming the JSON path', () => {
  const pattern = '{"s3":{"object":{"size":[{"numeric":[">",1048576]}],"contentType":[{"prefix":"video/"}]}}}';
  const added = run('events', 'add', 'videos', amqp, '--event', 'put', '--pattern', pattern);
  assert.equal(added.code, 0, added.err);
  assert.equal(run('events', 'list', 'videos').out, `${amqp}   s3:ObjectCreated:*   Pattern: ${pattern}`);
  const stored = JSON.parse(readFileSync(path.join(dir, 'rules.json'), 'utf8'));
  assert.deepEqual(stored.videos[0].pattern, JSON.parse(pattern));

  const refused: Array<[string, string]> = [
    [
      '{"s3":{"object":{"size":[{"numeric":["<",5,">",0]}]}}}',
      'bucketflow: --pattern $.s3.object.size[0].numeric: "<" takes one number: too many elements',
    ],
    [
      '{"eventName":[{"prefx":"s3:"}]}',
      'bucketflow: --pattern $.eventName[0]: unknown matcher "prefx" (known: prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists)',
    ],
    [
      '{"eventName":"s3:ObjectCreated:Put"}',
      'bucketflow: --pattern $.eventName: must be an object or an array of values to match, not string "s3:ObjectCreated:Put"',
    ],
    ['{"eventName":[]}', 'bucketflow: --pattern $.eventName: an empty array matches nothing: give at least one value'],
  ];
  for (const [bad, message] of refused) {
    const result = run('events', 'add', 'videos', amqp, '--event', 'delete', '--pattern', bad);
    assert.equal(result.code, 2, bad);
    assert.equal(result.err, message);
  }
  const notJson = run('events', 'add', 'videos', amqp, '--pattern', '{size: 1}');
  assert.equal(notJson.code, 2);
  assert.match(notJson.err, /^bucketflow: --pattern \$: not valid JSON \([^\n]*\)$/);
  assert.equal(run('events', 'list', 'videos').out.split('\n').length, 1);
});

test('events export refuses a rule with a pattern, naming it; --patterns writes an element import reads back', () => {
  const pattern = '{"s3":{"object":{"userMetadata":{"X-Amz-Meta-Stage":[{"anything-but":"draft"}]}}}}';
  assert.equal(
    run('events', 'add', 'staged', amqp, '--event', 'put', '--suffix', '.mp4', '--pattern', pattern).code,
    0,
  );
  const refused = run('events', 'export', 'staged');
  assert.equal(refused.code, 2);
  assert.equal(
    refused.err,
    `bucketflow: rule 1 (${amqp}) has an event pattern, which S3 NotificationConfiguration XML cannot carry ` +
      "(MinIO filters only by prefix and suffix): export with --patterns for bucketflow's own import",
  );
  const exported = run('events', 'export', 'staged', '--patterns');
  assert.equal(exported.code, 0, exported.err);
  assert.match(exported.out, /<bucketflow:EventPattern xmlns:bucketflow="urn:bucketflow:event-pattern">/);
  writeFileSync(path.join(dir, 'staged.xml'), exported.out);
  assert.equal(run('events', 'import', 'restaged', path.join(dir, 'staged.xml')).code, 0);
  assert.equal(
    run('events', 'list', 'restaged').out,
    `${amqp}   s3:ObjectCreated:*   Filter: suffix=".mp4"   Pattern: ${pattern}`,
  );
  writeFileSync(path.join(dir, 'bad-pattern.xml'), exported.out.replace('&quot;draft&quot;', '[&quot;draft&quot;,1]'));
  const bad = run('events', 'import', 'restaged', path.join(dir, 'bad-pattern.xml'));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^bucketflow: rule 1: pattern .*anything-but.*: a list must hold only strings or only numbers/);
});

test('targets health probes each enabled target for real', async () => {
  const { createServer } = await import('node:net');
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  writeFileSync(
    path.join(dir, 'health.json'),
    JSON.stringify({
      webhook: {
        up: { enable: true, endpoint: `http://127.0.0.1:${port}/` },
        down: { enable: true, endpoint: 'http://127.0.0.1:1/' },
      },
    }),
  );
  const result = await new Promise<string>((resolve) => {
    const child = spawn(bin, ['targets', 'health'], { env: envWith('health.json') });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('close', () => resolve(out));
  });
  server.close();
  const lines = result.trim().split('\n');
  assert.match(
    lines.find((l) => l.includes(':up:'))!,
    /online/,
  );
  assert.match(
    lines.find((l) => l.includes(':down:'))!,
    /offline/,
  );
});

test('targets health refuses a config the drivers cannot use: exit 2 and one line naming the ARN and field, no stack', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    // Found by the loader: kafkajs has no snappy codec.
    [
      { kafka: { '1': { enable: true, brokers: ['127.0.0.1:9092'], topic: 't', compression_codec: 'snappy' } } },
      'bucketflow: arn:minio:sqs:us-east-1:1:kafka: notify.kafka.1.compression_codec: "snappy" is not supported (use none or gzip)',
    ],
    // Found by the driver, which reads the PEM file when the target is created.
    [
      {
        kafka: {
          '1': {
            enable: true,
            brokers: ['127.0.0.1:9092'],
            topic: 't',
            tls: true,
            client_tls_cert: '/nonexistent/c.pem',
            client_tls_key: '/nonexistent/k.pem',
          },
        },
      },
      'bucketflow: arn:minio:sqs:us-east-1:1:kafka: client_tls_cert: cannot read /nonexistent/c.pem: ENOENT',
    ],
  ];
  for (const [config, message] of cases) {
    writeFileSync(path.join(dir, 'unusable.json'), JSON.stringify(config));
    const result = runWith('unusable.json', 'targets', 'health');
    assert.equal(result.code, 2, result.err);
    assert.ok(result.err.startsWith(message), result.err);
    assert.equal(result.err.split('\n').length, 1, result.err);
  }
});

test('events test checks its arguments before connecting: exit 2 and one line naming what is wrong', () => {
  const missing = run('events', 'test', 'photos');
  assert.equal(missing.code, 2);
  assert.equal(missing.err, 'bucketflow: events test: missing <key> (see bucketflow events test --help)');
  const wait = run('events', 'test', 'photos', 'cat.jpg', '--wait', '5s');
  assert.equal(wait.code, 2);
  assert.equal(wait.err, 'bucketflow: --wait: expected whole seconds, e.g. 30, got "5s"');
});
