// MySQL/MariaDB target with MinIO's schemas. namespace: `key_name` + `key_hash` (generated SHA2 of the
// key) + `value` JSON, guarded by a helper table of each key's newest applied sequencer; access:
// `event_time` + `event_data` rows, one per event id. A batch (or a single event) is one transaction of
// multi-row statements keeping both guards.
import { createHash } from 'node:crypto';
import { createPool, type PoolConnection, type PoolOptions } from 'mysql2/promise';
import { parseGoDsn } from '../config/connection-strings';
import { withArn } from '../config/params';
import type { MysqlConfig } from '../config/targets';
import { isRemoval, orderingKey, storedValue } from '../events/record';
import { bulkTarget, DELIVERED, newestPerObject } from './send';
import { onceSucceeded, probeHealth } from './shared-connection';
import { deliveryError, type Delivery, type Target } from './target';

// Access denied, unknown database, no such table or column, bad JSON: a retry cannot help.
const PERMANENT_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_BAD_FIELD_ERROR',
]);

/** Go's DSN (`user:pass@tcp(host:port)/db`, MinIO's dsn_string) or the guide's host/port fields. */
export function poolOptionsFrom(arn: string, config: MysqlConfig): PoolOptions {
  const connectionLimit = Math.max(1, config.max_open_connections);
  const dsn = config.dsn_string.trim();
  if (!dsn) {
    return {
      host: config.host,
      port: config.port || 3306,
      user: config.user,
      password: config.password,
      database: config.database,
      connectionLimit,
    };
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
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${helper} (key_hash CHAR(64) PRIMARY KEY, sequencer VARCHAR(32) NOT NULL)`,
      );
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

  // Only each object's newest event of the batch can change the table; the sequencer guard keeps it from
  // overwriting (or resurrecting) a newer state. Helper rows are locked in key_hash order, so concurrent
  // batches take their locks in the same order.
  const applyNewest = async (connection: PoolConnection, deliveries: Delivery[]) => {
    const newest = [...newestPerObject(deliveries)]
      .map(([key, delivery]) => ({ key, hash: keyHash(key), delivery }))
      .sort((a, b) => (a.hash < b.hash ? -1 : 1));
    const hashes = newest.map(({ hash }) => hash);
    await connection.query(`INSERT IGNORE INTO ${helper} (key_hash, sequencer) VALUES ?`, [
      hashes.map((hash) => [hash, '']),
    ]);
    const [rows] = await connection.query(
      `SELECT key_hash, sequencer FROM ${helper} WHERE key_hash IN (?) FOR UPDATE`,
      [hashes],
    );
    const applied = new Map(
      (rows as Array<{ key_hash: string; sequencer: string }>).map((row) => [
        row.key_hash.toLowerCase(),
        row.sequencer,
      ]),
    );
    const newer = newest.filter(({ hash, delivery }) => (applied.get(hash) ?? '') < orderingKey(delivery.record));
    if (!newer.length) return;
    await connection.query(
      `INSERT INTO ${helper} (key_hash, sequencer) VALUES ? ON DUPLICATE KEY UPDATE sequencer = VALUES(sequencer)`,
      [newer.map(({ hash, delivery }) => [hash, orderingKey(delivery.record)])],
    );
    const removed = newer.filter(({ delivery }) => isRemoval(delivery.record.eventName));
    const written = newer.filter(({ delivery }) => !isRemoval(delivery.record.eventName));
    if (removed.length)
      await connection.query(`DELETE FROM ${table} WHERE key_hash IN (?)`, [removed.map(({ hash }) => hash)]);
    if (written.length) {
      await connection.query(
        `INSERT INTO ${table} (key_name, value) VALUES ? ON DUPLICATE KEY UPDATE value = VALUES(value)`,
        [written.map(({ key, delivery }) => [key, storedValue(delivery.record)])],
      );
    }
  };

  // Ids already recorded were delivered; the rest are recorded now. A concurrent delivery of one of the
  // same events can slip in between the read and the insert: then nothing is written and the batch is retried.
  const appendOnce = async (connection: PoolConnection, deliveries: Delivery[]) => {
    const [rows] = await connection.query(`SELECT event_id FROM ${helper} WHERE event_id IN (?)`, [
      deliveries.map((d) => d.eventId),
    ]);
    const known = new Set((rows as Array<{ event_id: string }>).map((row) => row.event_id.toLowerCase()));
    const fresh = deliveries.filter((d) => !known.has(d.eventId.toLowerCase()));
    if (!fresh.length) return;
    const [result] = await connection.query(`INSERT IGNORE INTO ${helper} (event_id) VALUES ?`, [
      fresh.map((d) => [d.eventId]).sort(),
    ]);
    if ((result as { affectedRows: number }).affectedRows !== fresh.length) {
      throw new Error(
        `another delivery recorded some of these ${fresh.length} events meanwhile; nothing written, retry`,
      );
    }
    await connection.query(`INSERT INTO ${table} (event_time, event_data) VALUES ?`, [
      fresh.map(({ record }) => [
        record.eventTime.replace('T', ' ').replace(/Z$|[+-]\d{2}:\d{2}$/, ''),
        storedValue(record),
      ]),
    ]);
  };

  return bulkTarget({
    arn,
    keyedWrites: true, // access: rows behind a table of event ids; namespace: rows per object key
    // One transaction of multi-row statements per batch: it commits whole or not at all.
    async sendOrdered(ordered) {
      try {
        await createTables();
        await inTransaction((connection) =>
          config.format === 'namespace' ? applyNewest(connection, ordered) : appendOnce(connection, ordered),
        );
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        throw deliveryError(`${arn}: mysql`, err, PERMANENT_CODES.has(code));
      }
      return ordered.map(() => DELIVERED);
    },
    health: () => probeHealth(() => pool.query('SELECT 1')),
    close: () => pool.end(),
  });
}

/** The helper table's key_hash: what MySQL's SHA2(key, 256) gives for the key in utf8mb4 (lowercase hex). */
function keyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
