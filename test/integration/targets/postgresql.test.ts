// The PostgreSQL target against the stack's real server: MinIO's tables, and the final state after
// shuffled, duplicated replays.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { endpoints } from '../../../scripts/stack/endpoints';
import { create, poolConfigFrom } from '../../../src/targets/postgresql';
import { putAndDelete } from '../../helpers/records';
import { objectHistory, shuffled } from '../../helpers/replay';
import { assertConfigErrors, freePort, targetConfig } from '../../helpers/target-config';
import { sqlBatchTests } from '../../helpers/sql-batch';
import { needs } from '../../helpers/needs';

const { after, test } = needs('postgres');

const arn = 'arn:minio:sqs:us-east-1:1:postgresql';
const reader = new Pool({ connectionString: endpoints.postgres, max: 1 });
const targets: Array<ReturnType<typeof create>> = [];
after(async () => {
  await Promise.all(targets.map((t) => t.close()));
  await reader.end();
});

const rowsOf = async (sql: string) => (await reader.query(sql)).rows as Array<Record<string, unknown>>;

function target(format: 'access' | 'namespace') {
  const table = `bucketevents_${randomUUID().slice(0, 8)}`;
  const t = create(arn, targetConfig('postgresql', { connection_string: endpoints.postgres, table, format }));
  targets.push(t);
  return { table, t };
}

test("namespace: the guide's key/value table, upserted on put and deleted on remove", async () => {
  const { table, t } = target('namespace');
  const [put, del] = putAndDelete('images', 'myphoto.jpg');
  await t.send(put);
  const { rows } = await reader.query(`SELECT key, value FROM ${table}`);
  assert.deepEqual(rows, [{ key: 'images/myphoto.jpg', value: { Records: [put.record] } }]);
  await t.send(del);
  assert.equal((await reader.query(`SELECT * FROM ${table}`)).rowCount, 0);
});

test('namespace: shuffled, duplicated replays end in the newest state per object', async () => {
  const {
    events,
    survivors: [a, c],
  } = objectHistory();
  const expected = [
    { key: 'images/a.jpg', value: { Records: [a.record] } },
    { key: 'images/c.jpg', value: { Records: [c.record] } },
  ];
  for (const seed of [1, 2, 3]) {
    const { table, t } = target('namespace');
    for (const d of shuffled([...events, ...events], seed)) await t.send(d);
    assert.deepEqual(
      (await reader.query(`SELECT key, value FROM ${table} ORDER BY key`)).rows,
      expected,
      `seed ${seed}`,
    );
  }
});

test('access: event_time + event_data rows, one per event id even when retried', async () => {
  const { table, t } = target('access');
  const [put, del] = putAndDelete();
  for (const d of [put, put, del, put]) await t.send(d);
  const { rows } = await reader.query(`SELECT event_time, event_data FROM ${table} ORDER BY event_time`);
  assert.deepEqual(
    rows.map((r) => r.event_data),
    [{ Records: [put.record] }, { Records: [del.record] }],
  );
  assert.equal(rows[0].event_time.toISOString(), put.record.eventTime);
});

test("MinIO's key=value connection_string and the guide's host/port fields", () => {
  const config = targetConfig('postgresql', {
    connection_string: 'sslmode=disable user=postgres password=p host=db dbname=minio_events port=5433',
    table: 't',
  });
  assert.deepEqual(poolConfigFrom(arn, config), {
    host: 'db',
    port: 5433,
    user: 'postgres',
    password: 'p',
    database: 'minio_events',
    max: 2,
  });
  const guide = targetConfig('postgresql', {
    connectionString: '',
    table: 't',
    host: '127.0.0.1',
    port: '5432',
    user: 'postgres',
    password: 'x',
    database: 'bucketevents_db',
  });
  assert.deepEqual(poolConfigFrom(arn, guide), {
    host: '127.0.0.1',
    port: 5432,
    user: 'postgres',
    password: 'x',
    database: 'bucketevents_db',
    max: 2,
  });
});

sqlBatchTests({ arn, target, rowsOf, keyColumn: 'key', test });

test('bad config names the ARN and field', () => {
  const valid = { connection_string: endpoints.postgres, table: 't' };
  assertConfigErrors(arn, create, valid, [
    [{ table: 'events; DROP TABLE x' }, /table: not a plain SQL identifier/],
    [{ connection_string: 'host=db nonsense' }, /connection_string: expected key=value pairs/],
  ]);
});

test('health: online against the real server, offline where nothing listens; a send there is retryable', async () => {
  assert.deepEqual(await target('namespace').t.health(), { online: true });
  const down = create(
    arn,
    targetConfig('postgresql', { connection_string: `postgres://u:p@127.0.0.1:${await freePort()}/db`, table: 't' }),
  );
  targets.push(down);
  assert.equal((await down.health()).online, false);
  await assert.rejects(
    down.send(putAndDelete()[0]),
    (err: Error) => err.name === 'Error' && /postgresql/.test(err.message),
  );
});
