// PostgreSQL target with MinIO's schemas. namespace: `key` primary key + `value` JSONB, upserted on
// create, deleted on remove, guarded by a helper table of each key's newest applied sequencer so a late,
// older event never wins. access: `event_time` + `event_data` rows, one per event id. A batch (or a
// single event) is one multi-row statement keeping both guards.
import { Pool, type PoolConfig } from 'pg';
import { parseLibpq } from '../config/connection-strings';
import { withArn } from '../config/params';
import type { PostgresqlConfig } from '../config/targets';
import { isRemoval, orderingKey, storedValue } from '../events/record';
import { bulkTarget, DELIVERED, newestPerObject } from './send';
import { onceSucceeded, probeHealth } from './shared-connection';
import { deliveryError, type Delivery, type Target } from './target';

// Auth, missing database/privileges and malformed data: a retry cannot help.
const PERMANENT_CODES = new Set(['28P01', '28000', '3D000', '42501', '22P02', '42P01']);

/** libpq's `key=value ...` form (MinIO's connection_string) or a postgres:// URL. */
export function poolConfigFrom(arn: string, config: PostgresqlConfig): PoolConfig {
  const max = Math.max(1, config.max_open_connections);
  const text = config.connection_string.trim();
  if (!text) {
    return {
      host: config.host,
      port: config.port || 5432,
      user: config.user,
      password: config.password,
      database: config.database,
      max,
    };
  }
  if (/^postgres(ql)?:\/\//.test(text)) return { connectionString: text, max };
  const pairs = withArn(arn, () => parseLibpq(text, 'connection_string'));
  return {
    host: pairs.host,
    port: pairs.port ? Number(pairs.port) : 5432,
    user: pairs.user,
    password: pairs.password,
    database: pairs.dbname,
    max,
  };
}

export function create(arn: string, config: PostgresqlConfig): Target {
  const pool = new Pool({ ...poolConfigFrom(arn, config), connectionTimeoutMillis: 5_000 });
  pool.on('error', () => {}); // an idle connection dropping is retried on next use
  const table = config.table;
  const helper = config.format === 'namespace' ? `${table}_bucketflow_seq` : `${table}_bucketflow_ids`;
  const createTables = onceSucceeded(async () => {
    if (config.format === 'namespace') {
      await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (key VARCHAR PRIMARY KEY, value JSONB)`);
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${helper} (key VARCHAR PRIMARY KEY, sequencer VARCHAR(32) NOT NULL)`,
      );
    } else {
      await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (event_time TIMESTAMPTZ NOT NULL, event_data JSONB)`);
      await pool.query(`CREATE TABLE IF NOT EXISTS ${helper} (event_id VARCHAR(64) PRIMARY KEY)`);
    }
  });

  // Each batch is ONE statement (so one transaction): it commits whole or not at all. Helper rows are
  // written in key order, so concurrent batches lock them in the same order.
  const appendOnce = (deliveries: Delivery[]) =>
    pool.query(
      `WITH batch AS (
         SELECT * FROM unnest($1::varchar[], $2::timestamptz[], $3::jsonb[]) WITH ORDINALITY AS b(event_id, event_time, event_data, n)
       ), fresh AS (
         INSERT INTO ${helper} (event_id) SELECT event_id FROM batch ORDER BY event_id ON CONFLICT DO NOTHING RETURNING event_id
       )
       INSERT INTO ${table} (event_time, event_data) SELECT event_time, event_data FROM batch JOIN fresh USING (event_id) ORDER BY n`,
      [
        deliveries.map((d) => d.eventId),
        deliveries.map((d) => d.record.eventTime),
        deliveries.map((d) => storedValue(d.record)),
      ],
    );

  // Only each object's newest event of the batch can change the table; the sequencer guard keeps it
  // from overwriting (or resurrecting) a newer state already applied.
  const applyNewest = (deliveries: Delivery[]) => {
    const newest = [...newestPerObject(deliveries)].sort(([a], [b]) => (a < b ? -1 : 1));
    return pool.query(
      `WITH batch AS (
         SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::boolean[], $4::jsonb[]) AS b(key, sequencer, removal, value)
       ), newer AS (
         INSERT INTO ${helper} (key, sequencer) SELECT key, sequencer FROM batch ORDER BY key
         ON CONFLICT (key) DO UPDATE SET sequencer = EXCLUDED.sequencer WHERE ${helper}.sequencer < EXCLUDED.sequencer
         RETURNING key
       ), removed AS (
         DELETE FROM ${table} t USING batch b JOIN newer USING (key) WHERE b.removal AND t.key = b.key
       )
       INSERT INTO ${table} (key, value) SELECT key, value FROM batch JOIN newer USING (key) WHERE NOT removal
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [
        newest.map(([key]) => key),
        newest.map(([, d]) => orderingKey(d.record)),
        newest.map(([, d]) => isRemoval(d.record.eventName)),
        newest.map(([, d]) => storedValue(d.record)),
      ],
    );
  };

  return bulkTarget({
    arn,
    keyedWrites: true, // access: rows behind a table of event ids; namespace: rows per object key
    async sendOrdered(ordered) {
      try {
        await createTables();
        await (config.format === 'access' ? appendOnce(ordered) : applyNewest(ordered));
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        // One event's bad data (class 22) fails its whole batch; alone, the others may pass.
        throw deliveryError(
          `${arn}: postgresql`,
          err,
          PERMANENT_CODES.has(code) && (ordered.length === 1 || !code.startsWith('22')),
        );
      }
      return ordered.map(() => DELIVERED);
    },
    health: () => probeHealth(() => pool.query('SELECT 1')),
    close: () => pool.end(),
  });
}
