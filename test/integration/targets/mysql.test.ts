// The MySQL target against the stack's MariaDB: MinIO's tables (the guide's `select` output), and the
// final state after shuffled, duplicated replays.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createPool } from 'mysql2/promise';
import { endpoints, mysqlDsn } from '../../../scripts/stack/endpoints';
import { create, poolOptionsFrom } from '../../../src/targets/mysql';
import { putAndDelete } from '../../helpers/records';
import { objectHistory, shuffled } from '../../helpers/replay';
import { assertConfigErrors, freePort, targetConfig } from '../../helpers/target-config';
import { sqlBatchTests } from '../../helpers/sql-batch';
import { needs } from '../../helpers/needs';

const { after, test } = needs('mariadb');

const arn = 'arn:minio:sqs:us-east-1:1:mysql';
const dsn = mysqlDsn();
const reader = createPool({ uri: endpoints.mysql, connectionLimit: 1 });
const targets: Array<ReturnType<typeof create>> = [];
after(async () => {
  await Promise.all(targets.map((t) => t.close()));
  await reader.end();
});

function target(format: 'access' | 'namespace') {
  const table = `minio_images_${randomUUID().slice(0, 8)}`;
  const t = create(arn, targetConfig('mysql', { dsnString: dsn, table, format }));
  targets.push(t);
  return { table, t };
}

const rowsOf = async (sql: string) => (await reader.query(sql))[0] as Array<Record<string, unknown>>;

test("namespace: the guide's key_name/value rows, upserted on put and deleted on remove", async () => {
  const { table, t } = target('namespace');
  const [put, del] = putAndDelete('images', 'myphoto.jpg');
  await t.send(put);
  assert.deepEqual(await rowsOf(`SELECT key_name, value FROM ${table}`), [
    { key_name: 'images/myphoto.jpg', value: { Records: [put.record] } },
  ]);
  await t.send(del);
  assert.deepEqual(await rowsOf(`SELECT key_name FROM ${table}`), []);
});

test('namespace: shuffled, duplicated replays end in the newest state per object', async () => {
  const {
    events,
    survivors: [a, c],
  } = objectHistory();
  for (const seed of [1, 2, 3]) {
    const { table, t } = target('namespace');
    for (const d of shuffled([...events, ...events], seed)) await t.send(d);
    assert.deepEqual(
      await rowsOf(`SELECT key_name, value FROM ${table} ORDER BY key_name`),
      [
        { key_name: 'images/a.jpg', value: { Records: [a.record] } },
        { key_name: 'images/c.jpg', value: { Records: [c.record] } },
      ],
      `seed ${seed}`,
    );
  }
});

test('access: event_time + event_data rows, one per event id even when retried', async () => {
  const { table, t } = target('access');
  const [put, del] = putAndDelete();
  for (const d of [put, put, del, put]) await t.send(d);
  const rows = await rowsOf(`SELECT event_data FROM ${table} ORDER BY event_time`);
  assert.deepEqual(
    rows.map((r) => r.event_data),
    [{ Records: [put.record] }, { Records: [del.record] }],
  );
});

test("Go DSN and the guide's host/port fields", () => {
  const fromDsn = targetConfig('mysql', { dsn_string: 'root:pw@tcp(db:3307)/miniodb?parseTime=true', table: 't' });
  assert.deepEqual(poolOptionsFrom(arn, fromDsn), {
    host: 'db',
    port: 3307,
    user: 'root',
    password: 'pw',
    database: 'miniodb',
    connectionLimit: 2,
  });
  const guide = targetConfig('mysql', {
    dsnString: '',
    table: 'minio_images',
    host: '172.17.0.1',
    port: '3306',
    user: 'root',
    password: 'password',
    database: 'miniodb',
  });
  assert.deepEqual(poolOptionsFrom(arn, guide), {
    host: '172.17.0.1',
    port: 3306,
    user: 'root',
    password: 'password',
    database: 'miniodb',
    connectionLimit: 2,
  });
});

sqlBatchTests({ arn, target, rowsOf, keyColumn: 'key_name', test });

test('bad config names the ARN and field', () => {
  const valid = { dsn_string: dsn, table: 't' };
  assertConfigErrors(arn, create, valid, [
    [{ table: 'a-b' }, /table: not a plain SQL identifier/],
    [{ dsn_string: 'nonsense' }, /dsn_string: expected user:password@tcp\(host:port\)\/database/],
  ]);
});

test('health: online against the real server, offline where nothing listens; a send there is retryable', async () => {
  assert.deepEqual(await target('namespace').t.health(), { online: true });
  const down = create(
    arn,
    targetConfig('mysql', { dsn_string: `u:p@tcp(127.0.0.1:${await freePort()})/db`, table: 't' }),
  );
  targets.push(down);
  assert.equal((await down.health()).online, false);
  await assert.rejects(down.send(putAndDelete()[0]), (err: Error) => err.name === 'Error' && /mysql/.test(err.message));
});
