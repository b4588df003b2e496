import assert from 'node:assert/strict';
import { Client } from 'pg';
import { endpoints } from '../../scripts/stack/endpoints';
import { buildEvent } from '../../src/events';
import { matchingArns, validateRules, type NotificationRule } from '../../src/rules';
import { PostgresStateStore, SENT_LOG_HORIZON_MS } from '../../src/state';
import { SendDedupe } from '../../src/targets/send-dedupe';
import { needs } from '../helpers/needs';

const { test } = needs('postgres');

const a = 'arn:minio:sqs:us-east-1:1:amqp';
const rule = (prefix: string): NotificationRule => ({
  id: '1',
  arn: a,
  events: ['s3:ObjectCreated:*'],
  prefix,
  suffix: '',
});

test('the PostgreSQL store shares rules between stores (workers) at once', async () => {
  const one = new PostgresStateStore(endpoints.postgres);
  const two = new PostgresStateStore(endpoints.postgres);
  const bucket = `pg-${Date.now()}`;
  try {
    await one.put(bucket, [rule('x/')]);
    assert.deepEqual(await two.get(bucket), [rule('x/')]);
    assert.ok((await two.buckets()).includes(bucket));
    await two.put(bucket, [rule('y/'), rule('z/')]);
    assert.deepEqual(await one.get(bucket), [rule('y/'), rule('z/')]);
    await two.remove(bucket);
    assert.deepEqual(await one.get(bucket), []);
    assert.ok(!(await one.buckets()).includes(bucket));
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
});

test('a rule with an event pattern is stored in PostgreSQL and matched as it was written', async () => {
  const store = new PostgresStateStore(endpoints.postgres);
  const bucket = `pg-pattern-${Date.now()}`;
  // Written longer key first: JSONB keeps shorter keys first.
  const pattern = { s3: { object: { contentType: [{ prefix: 'image/' }], size: [{ numeric: ['>', 1024] }] } } };
  try {
    await store.put(bucket, [{ ...rule(''), pattern }]);
    const [stored] = await store.get(bucket);
    assert.deepEqual(stored.pattern, pattern); // JSONB may order the keys its own way: the same pattern
    const put = (size: number) =>
      buildEvent({ eventName: 's3:ObjectCreated:Put', bucket, key: 'a.png', size, contentType: 'image/png' });
    assert.deepEqual(matchingArns([stored], 's3:ObjectCreated:Put', 'a.png', put(4096)), [a]);
    assert.deepEqual(matchingArns([stored], 's3:ObjectCreated:Put', 'a.png', put(10)), []);
    // Adding the same pattern again, keys in the order written, is an overlap however JSONB ordered them.
    assert.throws(() => validateRules([stored, { ...rule(''), id: '2', pattern }], new Set([a])), /overlap/);
  } finally {
    await store.remove(bucket);
    await store.close();
  }
});

test('several workers starting at once all create-or-find the table', async () => {
  const table = `bucketflow_rules_test_${process.pid}_${Date.now()}`;
  const stores = Array.from({ length: 6 }, () => new PostgresStateStore(endpoints.postgres, table));
  const admin = new Client({ connectionString: endpoints.postgres });
  await admin.connect();
  try {
    assert.deepEqual(
      await Promise.all(stores.map((store) => store.buckets())),
      stores.map(() => []),
    );
    await stores[0].put('b', [rule('p/')]);
    assert.deepEqual(await stores[5].get('b'), [rule('p/')]);
  } finally {
    await Promise.all(stores.map((store) => store.close()));
    await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_target_state, ${table}_sent`);
    await admin.end();
  }
});

test('pause and circuit state are shared between stores (workers) through PostgreSQL', async () => {
  const table = `bucketflow_rules_state_${process.pid}_${Date.now()}`;
  const [one, two] = [
    new PostgresStateStore(endpoints.postgres, table),
    new PostgresStateStore(endpoints.postgres, table),
  ];
  const admin = new Client({ connectionString: endpoints.postgres });
  await admin.connect();
  try {
    assert.equal(await one.setPaused(a, true), true);
    assert.equal(await two.setPaused(a, true), false, 'already paused');
    assert.ok((await two.targetStates())[a].paused?.since);
    const circuit = { state: 'open' as const, since: new Date().toISOString(), failures: 5, lastError: 'refused' };
    await two.setCircuit(a, 'host:1', circuit);
    // The stores key target state by own property only (prototype-less maps): compare their entries.
    assert.deepEqual({ ...(await one.targetStates())[a].circuits }, { 'host:1': circuit });
    assert.equal(await two.setPaused(a, false), true);
    await one.setCircuit(a, 'host:1', undefined);
    assert.deepEqual({ ...(await two.targetStates()) }, {});
  } finally {
    await Promise.all([one.close(), two.close()]);
    await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_target_state, ${table}_sent`);
    await admin.end();
  }
});

test("one worker's sends are known to the others through PostgreSQL; sends older than the horizon are deleted", async () => {
  const table = `bucketflow_rules_sent_${process.pid}_${Date.now()}`;
  const [one, two] = [
    new PostgresStateStore(endpoints.postgres, table),
    new PostgresStateStore(endpoints.postgres, table),
  ];
  const [first, second] = [new SendDedupe(), new SendDedupe()];
  const admin = new Client({ connectionString: endpoints.postgres });
  await admin.connect();
  try {
    await one.buckets(); // creates the tables
    await admin.query(
      `INSERT INTO ${table}_sent (worker, key, at) VALUES ('gone', 'old-run arn', now() - make_interval(secs => $1))`,
      [SENT_LOG_HORIZON_MS / 1000 + 60],
    );
    first.share(one.sentLog());
    second.share(two.sentLog());
    first.addAll([
      ['run-1', a],
      ['run-2', a],
    ]);
    await first.close(); // its inserts are done
    await second.learn();
    assert.deepEqual([second.has('run-1', a), second.has('run-2', a), second.has('run-3', a)], [true, true, false]);
    const { rows } = await admin.query(`SELECT key FROM ${table}_sent ORDER BY id`);
    assert.deepEqual(
      rows.map((row) => row.key),
      [`run-1 ${a}`, `run-2 ${a}`],
      'the stale send was deleted',
    );
  } finally {
    await second.close();
    await Promise.all([one.close(), two.close()]);
    await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_target_state, ${table}_sent`);
    await admin.end();
  }
});
