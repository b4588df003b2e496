// PostgreSQL target with MinIO's schemas. namespace: `key` primary key + `value` JSONB, upserted on
// create, deleted on remove, guarded by a helper table of each key's newest applied sequencer so a late,
// older event never wins. access: `event_time` + `event_data` rows, one per event id.
import { Pool, type PoolClient, type PoolConfig } from 'pg';
import { parseLibpq } from '../config/connection-strings';
import { withArn } from '../config/params';
import type { PostgresqlConfig } from '../config/targets';
import { isRemoval, objectPath, orderingKey, storedValue } from '../events/record';
import { onceSucceeded, probeHealth } from './shared-connection';
import { deliveryError, type Delivery, type Target } from './target';

// Auth, missing database/privileges and malformed data: a retry cannot help.
const PERMANENT_CODES = new Set(['28P01', '28000', '3D000', '42501', '22P02', '42P01']);

/** libpq's `key=value ...` form (MinIO's connection_string) or a postgres:// URL. */
export function poolConfigFrom(arn: string, config: PostgresqlConfig): PoolConfig {
  const max = Math.max(1, config.max_open_connections);
  const text = config.connection_string.trim();
  if (!text) {
    return { host: config.host, port: config.port || 5432, user: config.user, password: config.password, database: config.database, max };
  }
  if (/^postgres(ql)?:\/\//.test(text)) return { connectionString: text, max };
  const pairs = withArn(arn, () => parseLibpq(text, 'connection_string'));
  return { host: pairs.host, port: pairs.port ? Number(pairs.port) : 5432, user: pairs.user, password: pairs.password, database: pairs.dbname, max };
}

export function create(arn: string, config: PostgresqlConfig): Target {
  const pool = new Pool({ ...poolConfigFrom(arn, config), connectionTimeoutMillis: 5_000 });
  pool.on('error', () => {}); // an idle connection dropping is retried on next use
  const table = config.table;
  const helper = config.format === 'namespace' ? `${table}_bucketflow_seq` : `${table}_bucketflow_ids`;
  const createTables = onceSucceeded(async () => {
    if (config.format === 'namespace') {
      await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (key VARCHAR PRIMARY KEY, value JSONB)`);
      await pool.query(`CREATE TABLE IF NOT EXISTS ${helper} (key VARCHAR PRIMARY KEY, sequencer VARCHAR(32) NOT NULL)`);
    } else {
      await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (event_time TIMESTAMPTZ NOT NULL, event_data JSONB)`);
      await pool.query(`CREATE TABLE IF NOT EXISTS ${helper} (event_id VARCHAR(64) PRIMARY KEY)`);
    }
  });

  const inTransaction = async (work: (client: PoolClient) => Promise<void>) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };

  return {
    arn,
    async send({ record, eventId }: Delivery) {
      const value = storedValue(record);
      try {
        await createTables();
        await inTransaction(async (client) => {
          if (config.format === 'access') {
            const fresh = await client.query(`INSERT INTO ${helper} (event_id) VALUES ($1) ON CONFLICT DO NOTHING`, [eventId]);
            if (fresh.rowCount) await client.query(`INSERT INTO ${table} (event_time, event_data) VALUES ($1, $2)`, [record.eventTime, value]);
            return;
          }
          const key = objectPath(record);
          const newer = await client.query(
            `INSERT INTO ${helper} (key, sequencer) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET sequencer = EXCLUDED.sequencer WHERE ${helper}.sequencer < EXCLUDED.sequencer`,
            [key, orderingKey(record)],
          );
          if (!newer.rowCount) return; // an older (or the same) event: the table already holds a newer state
          if (isRemoval(record.eventName)) {
            await client.query(`DELETE FROM ${table} WHERE key = $1`, [key]);
          } else {
            await client.query(
              `INSERT INTO ${table} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
              [key, value],
            );
          }
        });
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        throw deliveryError(`${arn}: postgresql`, err, PERMANENT_CODES.has(code));
      }
    },
    health: () => probeHealth(() => pool.query('SELECT 1')),
    close: () => pool.end(),
  };
}
