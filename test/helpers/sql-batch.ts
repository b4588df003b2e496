// The batch tests both SQL targets (PostgreSQL, MySQL/MariaDB) pass against their real servers: a batch is
// one transaction keeping the event-id and sequencer guards, and fails whole.
import assert from 'node:assert/strict';
import type { Target } from '../../src/targets/target';
import type { TestFunctions } from './needs';
import { assertAllDelivered, distinctPuts, oneObjectShuffled } from './batch';
import { objectHistory, shuffled } from './replay';

export interface SqlBatchSubject {
  arn: string;
  /** A fresh table of that format, and its target. */
  target(format: 'access' | 'namespace'): { table: string; t: Target };
  rowsOf(sql: string): Promise<Array<Record<string, unknown>>>;
  /** The namespace table's key column: `key` (PostgreSQL) or `key_name` (MySQL). */
  keyColumn: string;
  /** The file's `test` (from `needs`, so the tests skip with the file's when its server is down). */
  test: TestFunctions['test'];
}

export function sqlBatchTests({ arn, target, rowsOf, keyColumn, test }: SqlBatchSubject): void {
  const state = async (table: string) =>
    (await rowsOf(`SELECT ${keyColumn}, value FROM ${table} ORDER BY ${keyColumn}`)).map((row) => ({
      key: row[keyColumn],
      value: row.value,
    }));
  const stored = (key: string, record: unknown) => ({ key, value: { Records: [record] } });

  test('sendBatch, access: 200 events in one transaction, one row each; the batch resent adds none', async () => {
    const { table, t } = target('access');
    const batch = distinctPuts(200);
    assertAllDelivered(await t.sendBatch(batch), 200);
    assertAllDelivered(await t.sendBatch([...batch].reverse()), 200);
    const rows = await rowsOf(`SELECT event_data FROM ${table}`);
    const eventTime = (data: unknown) => (data as { Records: [{ eventTime: string }] }).Records[0].eventTime;
    assert.deepEqual(
      rows.map((r) => r.event_data).sort((a, b) => eventTime(a).localeCompare(eventTime(b))),
      batch.map((d) => ({ Records: [d.record] })),
    );
  });

  test("sendBatch, namespace: one object's history out of order in a batch leaves its newest state; an older batch changes nothing", async () => {
    const { table, t } = target('namespace');
    const { batch, inOrder, newest } = oneObjectShuffled();
    const neighbours = distinctPuts(50);
    assertAllDelivered(await t.sendBatch([...batch, ...neighbours]), batch.length + 50);
    const expected = [newest, ...neighbours]
      .map((d) => stored(d.envelope.Key, d.record))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    assert.deepEqual(await state(table), expected);
    assertAllDelivered(await t.sendBatch(inOrder.slice(0, 3)), 3); // late, older events: delivered, and superseded
    assert.deepEqual(await state(table), expected);
  });

  test('sendBatch, namespace: shuffled, duplicated histories as one batch end in the newest state per object', async () => {
    const {
      events,
      survivors: [a, c],
    } = objectHistory();
    for (const seed of [1, 2, 3]) {
      const { table, t } = target('namespace');
      assertAllDelivered(await t.sendBatch(shuffled([...events, ...events], seed)), events.length * 2);
      assert.deepEqual(
        await state(table),
        [stored('images/a.jpg', a.record), stored('images/c.jpg', c.record)],
        `seed ${seed}`,
      );
    }
  });

  test('sendBatch: one event the table cannot take fails the whole transaction, retryably; without it, the others pass', async () => {
    const { table, t } = target('access');
    const healthy = distinctPuts(10);
    const [poisoned] = distinctPuts(1, 'poison');
    poisoned.record = { ...poisoned.record, eventTime: 'not a time' }; // event_time cannot take it
    const results = await t.sendBatch([...healthy.slice(0, 4), poisoned, ...healthy.slice(4)]);
    assert.deepEqual(
      results.map((r) => r.ok || r.permanent),
      new Array(11).fill(false),
    );
    assert.match((results[0] as { error: Error }).error.message, new RegExp(`^${arn}: .*not a time`));
    assert.equal((await rowsOf(`SELECT event_data FROM ${table}`)).length, 0); // nothing half-written
    assertAllDelivered(await t.sendBatch(healthy), 10);
    assert.equal((await rowsOf(`SELECT event_data FROM ${table}`)).length, 10);
  });
}
