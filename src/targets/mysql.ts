// MySQL/MariaDB target with MinIO's schemas. namespace: `key_name` + `key_hash` (generated SHA2 of the
// key) + `value` JSON, guarded by a helper table of each key's newest applied sequencer; access:
// `event_time` + `event_data` rows, one per event id.
import { createPool, type PoolConnection, type PoolOptions } from 'mysql2/promise';
import { parseGoDsn } from '../config/connection-strings';
import { withArn } from '../config/params';
import type { MysqlConfig } from '../config/targets';
import { isRemoval, objectPath, orderingKey, storedValue } from '../events/record';
import { onceSucceeded, probeHealth } from './shared-connection';
import { deliveryError, type Delivery, type Target } from './target';

// Access denied, unknown database, no such table or column, bad JSON: a retry cannot help.
const PERMANENT_CODES = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_TABLEACCESS_DENIED_ERROR', 'ER_BAD_FIELD_ERROR']);

/** Go's DSN (`user:pass@tcp(host:port)/db`, MinIO's dsn_string) or the guide's host/port fields. */
export function poolOptionsFrom(arn: string, config: MysqlConfig): PoolOptions {
  const connectionLimit = Math.max(1, config.max_open_connections);
  const dsn = config.dsn_string.trim();
  if (!dsn) {
    return { host: config.host, port: config.port || 3306, user: config.user, password: config.password, database: config.database, connectionLimit };
  }
  const { host, port, user, password, database } = withArn(arn, () => parseGoDsn(dsn, 'dsn_string'));
  return { host, port, user, password, database, connectionLimit };
}

export function create(arn: string, config: MysqlConfig): Target {
  const pool = createPool({ ...poolOptionsFrom(arn, config), connectTimeout: 5_000 });
  const table = config.table;
  const helper = config.format === 'namespace' ? `${table}_bucketflow_seq` : `${table}_bucketflow_ids`;

  // MariaDB refuses a primary key on a generated column, so key_hash is a unique key there.
  const createTables = onceSucceeded(async () => {
    if (config.format === 'namespace') {
      await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (key_name VARCHAR(3072) NOT NULL,
        key_hash CHAR(64) GENERATED ALWAYS AS (SHA2(key_name, 256)) STORED, value JSON, UNIQUE KEY (key_hash))`);
      await pool.query(`CREATE TABLE IF NOT EXISTS ${helper} (key_hash CHAR(64) PRIMARY KEY, sequencer VARCHAR(32) NOT NULL)`);
    } else {
      await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (event_time DATETIME(3) NOT NULL, event_data JSON)`);
      await pool.query(`CREATE TABLE IF NOT EXISTS ${helper} (event_id VARCHAR(64) PRIMARY KEY)`);
    }
  });

  const inTransaction = async (work: (connection: PoolConnection) => Promise<void>) => {
    const connection = await pool.getConnection();
    try {
      await connection.beginTransaction();
      await work(connection);
      await connection.commit();
    } catch (err) {
      await connection.rollback().catch(() => {});
      throw err;
    } finally {
      connection.release();
    }
  };

  const applyNewest = async (connection: PoolConnection, { record }: Delivery, value: string) => {
    const key = objectPath(record);
    const sequencer = orderingKey(record);
    await connection.query(`INSERT IGNORE INTO ${helper} (key_hash, sequencer) VALUES (SHA2(?, 256), '')`, [key]);
    const [rows] = await connection.query(`SELECT sequencer FROM ${helper} WHERE key_hash = SHA2(?, 256) FOR UPDATE`, [key]);
    if ((rows as Array<{ sequencer: string }>)[0].sequencer >= sequencer) return; // a newer state is already applied
    await connection.query(`UPDATE ${helper} SET sequencer = ? WHERE key_hash = SHA2(?, 256)`, [sequencer, key]);
    if (isRemoval(record.eventName)) {
      await connection.query(`DELETE FROM ${table} WHERE key_hash = SHA2(?, 256)`, [key]);
    } else {
      await connection.query(`INSERT INTO ${table} (key_name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`, [key, value]);
    }
  };

  const appendOnce = async (connection: PoolConnection, { record, eventId }: Delivery, value: string) => {
    const [result] = await connection.query(`INSERT IGNORE INTO ${helper} (event_id) VALUES (?)`, [eventId]);
    if ((result as { affectedRows: number }).affectedRows === 0) return;
    const eventTime = record.eventTime.replace('T', ' ').replace(/Z$|[+-]\d{2}:\d{2}$/, '');
    await connection.query(`INSERT INTO ${table} (event_time, event_data) VALUES (?, ?)`, [eventTime, value]);
  };

  return {
    arn,
    async send(delivery: Delivery) {
      const value = storedValue(delivery.record);
      try {
        await createTables();
        await inTransaction((connection) =>
          config.format === 'namespace' ? applyNewest(connection, delivery, value) : appendOnce(connection, delivery, value),
        );
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        throw deliveryError(`${arn}: mysql`, err, PERMANENT_CODES.has(code));
      }
    },
    health: () => probeHealth(() => pool.query('SELECT 1')),
    close: () => pool.end(),
  };
}
