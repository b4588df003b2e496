// Bucket rules in PostgreSQL, for several workers on several machines: every read goes to the table, so
// a change is seen by every worker at once.
import { Pool } from 'pg';
import type { NotificationRule } from './rules';
import type { RulesStore } from './store';
import type { CircuitRecord, TargetStateRecord } from './target-state';

const DEFAULT_TABLE = 'bucketflow_rules';

export class PostgresRulesStore implements RulesStore {
  private readonly pool: Pool;
  private ready: Promise<unknown> | undefined;

  constructor(connectionString: string, readonly table = DEFAULT_TABLE) {
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

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async tableExists(): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT to_regclass($1) IS NOT NULL AS found', [this.table]);
    return rows[0].found === true;
  }

  private init(): Promise<unknown> {
    this.ready ??= this.pool
      .query(`CREATE TABLE IF NOT EXISTS ${this.table} (bucket TEXT PRIMARY KEY, rules JSONB NOT NULL);
        CREATE TABLE IF NOT EXISTS ${this.table}_target_state (arn TEXT NOT NULL, worker TEXT NOT NULL, state JSONB NOT NULL, PRIMARY KEY (arn, worker))`)
      .catch(async (err: unknown) => {
        // Workers creating the table at once: the losers see a duplicate table/type/object error.
        if (await this.tableExists().catch(() => false)) return;
        this.ready = undefined;
        throw err;
      });
    return this.ready;
  }
}
