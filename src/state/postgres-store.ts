// Bucket rules in PostgreSQL, for several workers on several machines: every read goes to the table, so
// a change is seen by every worker at once.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Pool } from 'pg';
import { errorMessage } from '../errors';
import type { NotificationRule } from '../rules/rules';
import { SENT_LOG_HORIZON_MS, type SentLog } from './sent-log';
import { PostgresScanStore } from './scan-postgres';
import type { ScanStore } from './scans';
import type { StateStore } from './store';
import type { CircuitRecord, TargetStateRecord } from './target-state';

const DEFAULT_TABLE = 'bucketflow_rules';

export class PostgresStateStore implements StateStore {
  private readonly pool: Pool;
  private ready: Promise<unknown> | undefined;

  constructor(
    connectionString: string,
    readonly table = DEFAULT_TABLE,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`rules table name "${table}": letters, digits and _ only`);
    this.pool = new Pool({ connectionString, max: 4 });
  }

  async get(bucket: string): Promise<NotificationRule[]> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT rules FROM ${this.table} WHERE bucket = $1`, [bucket]);
    return rows[0]?.rules ?? [];
  }

  async put(bucket: string, rules: NotificationRule[]): Promise<void> {
    await this.init();
    if (rules.length === 0) {
      await this.pool.query(`DELETE FROM ${this.table} WHERE bucket = $1`, [bucket]);
      return;
    }
    await this.pool.query(
      `INSERT INTO ${this.table} (bucket, rules) VALUES ($1, $2) ON CONFLICT (bucket) DO UPDATE SET rules = EXCLUDED.rules`,
      [bucket, JSON.stringify(rules)],
    );
  }

  async remove(bucket: string): Promise<void> {
    await this.put(bucket, []);
  }

  async buckets(): Promise<string[]> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT bucket FROM ${this.table} ORDER BY bucket`);
    return rows.map((row) => row.bucket as string);
  }

  /** One row per (arn, worker): worker '' holds the pause, the others each worker's circuit. */
  async targetStates(): Promise<Record<string, TargetStateRecord>> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT arn, worker, state FROM ${this.table}_target_state`);
    // Keyed by data (ARNs, worker names): prototype-less, so no key is ever one of Object.prototype's.
    const states: Record<string, TargetStateRecord> = Object.create(null);
    for (const { arn, worker, state } of rows as Array<{ arn: string; worker: string; state: never }>) {
      const record = (states[arn] ??= {});
      if (worker === '') record.paused = state;
      else (record.circuits ??= Object.create(null) as Record<string, CircuitRecord>)[worker] = state;
    }
    return states;
  }

  async setPaused(arn: string, paused: boolean): Promise<boolean> {
    await this.init();
    const { rowCount } = paused
      ? await this.pool.query(
          `INSERT INTO ${this.table}_target_state (arn, worker, state) VALUES ($1, '', $2) ON CONFLICT (arn, worker) DO NOTHING`,
          [arn, JSON.stringify({ since: new Date().toISOString() })],
        )
      : await this.pool.query(`DELETE FROM ${this.table}_target_state WHERE arn = $1 AND worker = ''`, [arn]);
    return (rowCount ?? 0) > 0;
  }

  async setCircuit(arn: string, worker: string, circuit: CircuitRecord | undefined): Promise<void> {
    await this.init();
    if (!circuit) {
      await this.pool.query(`DELETE FROM ${this.table}_target_state WHERE arn = $1 AND worker = $2`, [arn, worker]);
      return;
    }
    await this.pool.query(
      `INSERT INTO ${this.table}_target_state (arn, worker, state) VALUES ($1, $2, $3) ON CONFLICT (arn, worker) DO UPDATE SET state = EXCLUDED.state`,
      [arn, worker, JSON.stringify(circuit)],
    );
  }

  /** Scans, their listings and the delivered states, in `<table>_scans`, `_listing`, `_delivered`
   * (src/state/scan-postgres.ts). */
  scans(): ScanStore {
    this.scanStore ??= new PostgresScanStore(this.pool, this.table);
    return this.scanStore;
  }

  private scanStore: PostgresScanStore | undefined;

  /** The sends of every worker, in the table `<table>_sent` (see src/state/sent-log.ts). */
  sentLog(): SentLog {
    return new PostgresSentLog(this.pool, `${this.table}_sent`, () => this.init());
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async tableExists(): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT to_regclass($1) IS NOT NULL AS found', [this.table]);
    return rows[0].found === true;
  }

  private init(): Promise<unknown> {
    this.ready ??= this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (bucket TEXT PRIMARY KEY, rules JSONB NOT NULL);
        CREATE TABLE IF NOT EXISTS ${this.table}_target_state (arn TEXT NOT NULL, worker TEXT NOT NULL, state JSONB NOT NULL, PRIMARY KEY (arn, worker));
        CREATE TABLE IF NOT EXISTS ${this.table}_sent (id BIGSERIAL PRIMARY KEY, worker TEXT NOT NULL, key TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE INDEX IF NOT EXISTS ${this.table}_sent_at ON ${this.table}_sent (at)`,
      )
      .catch(async (err: unknown) => {
        // Workers creating the table at once: the losers see a duplicate table/type/object error.
        if (await this.tableExists().catch(() => false)) return;
        this.ready = undefined;
        throw err;
      });
    return this.ready;
  }
}

/** Rows read per query; a worker catching up reads on until a query returns fewer. */
const SENT_READ_ROWS = 10_000;
/** Rows committed out of id order (concurrent inserts) are caught by re-reading the last few seconds' ids. */
const SENT_REREAD_MS = 5_000;
/** Rows older than the horizon are deleted at most this often, by whichever worker reads. */
const SENT_CLEANUP_EVERY_MS = 60_000;

/**
 * The shared sent log in PostgreSQL: appends are inserted in the background, coalesced while one insert is
 * in flight (a SIGKILL loses at most that insert's round trip of records); reads follow the id.
 */
class PostgresSentLog implements SentLog {
  private readonly worker = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private pending: string[] = [];
  private inserting: Promise<void> | undefined;
  private failure: unknown;
  /** Highest id read, and earlier highs with the time they were read: reads start from the one SENT_REREAD_MS old. */
  private readonly highs: Array<{ at: number; id: number }> = [{ at: 0, id: 0 }];
  private cleanedAt = 0;

  constructor(
    private readonly pool: Pool,
    private readonly table: string,
    private readonly ready: () => Promise<unknown>,
  ) {}

  append(keys: string[]): void {
    this.pending.push(...keys);
    this.inserting ??= this.insertPending().finally(() => {
      this.inserting = undefined;
    });
  }

  async readNew(): Promise<string[]> {
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
    await this.ready();
    const now = Date.now();
    if (now - this.cleanedAt > SENT_CLEANUP_EVERY_MS) {
      this.cleanedAt = now;
      await this.pool.query(`DELETE FROM ${this.table} WHERE at < now() - make_interval(secs => $1)`, [
        SENT_LOG_HORIZON_MS / 1000,
      ]);
    }
    while (this.highs.length > 1 && now - this.highs[1].at >= SENT_REREAD_MS) this.highs.shift();
    let from = this.highs[0].id;
    let high = this.highs[this.highs.length - 1].id;
    const keys: string[] = [];
    for (;;) {
      const { rows } = await this.pool.query(
        `SELECT id, key FROM ${this.table} WHERE id > $1 AND worker <> $2 ORDER BY id LIMIT ${SENT_READ_ROWS}`,
        [from, this.worker],
      );
      for (const row of rows as Array<{ id: string; key: string }>) keys.push(row.key);
      if (rows.length > 0) from = Number(rows[rows.length - 1].id);
      high = Math.max(high, from);
      if (rows.length < SENT_READ_ROWS) break;
    }
    this.highs.push({ at: now, id: high });
    return keys;
  }

  async close(): Promise<void> {
    await this.inserting;
  }

  private async insertPending(): Promise<void> {
    while (this.pending.length > 0) {
      const keys = this.pending;
      this.pending = [];
      try {
        await this.ready();
        await this.pool.query(`INSERT INTO ${this.table} (worker, key) SELECT $1, unnest($2::text[])`, [
          this.worker,
          keys,
        ]);
      } catch (err) {
        this.failure = new Error(`recording ${keys.length} sends failed: ${errorMessage(err)}`, { cause: err }); // thrown by the next read
      }
    }
  }
}
