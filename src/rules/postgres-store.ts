// Bucket rules in PostgreSQL, for several workers on several machines: every read goes to the table, so
// a change is seen by every worker at once.
import { Pool } from 'pg';
import type { NotificationRule } from './rules';
import type { RulesStore } from './store';

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

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async tableExists(): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT to_regclass($1) IS NOT NULL AS found', [this.table]);
    return rows[0].found === true;
  }

  private init(): Promise<unknown> {
    this.ready ??= this.pool
      .query(`CREATE TABLE IF NOT EXISTS ${this.table} (bucket TEXT PRIMARY KEY, rules JSONB NOT NULL)`)
      .catch(async (err: unknown) => {
        // Workers creating the table at once: the losers see a duplicate table/type/object error.
        if (await this.tableExists().catch(() => false)) return;
        this.ready = undefined;
        throw err;
      });
    return this.ready;
  }
}
