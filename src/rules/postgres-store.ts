// Bucket rules in PostgreSQL, for several workers on several machines: every read goes to the table, so
// a change is seen by every worker at once.
import { Pool } from 'pg';
import type { NotificationRule } from './rules';
import type { RulesStore } from './store';

const TABLE = 'bucketflow_rules';

export class PostgresRulesStore implements RulesStore {
  private readonly pool: Pool;
  private ready: Promise<unknown> | undefined;

  constructor(connectionString: string) {
    this.pool = new Pool({ connectionString, max: 4 });
  }

  async get(bucket: string): Promise<NotificationRule[]> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT rules FROM ${TABLE} WHERE bucket = $1`, [bucket]);
    return rows[0]?.rules ?? [];
  }

  async put(bucket: string, rules: NotificationRule[]): Promise<void> {
    await this.init();
    if (rules.length === 0) {
      await this.pool.query(`DELETE FROM ${TABLE} WHERE bucket = $1`, [bucket]);
      return;
    }
    await this.pool.query(
      `INSERT INTO ${TABLE} (bucket, rules) VALUES ($1, $2) ON CONFLICT (bucket) DO UPDATE SET rules = EXCLUDED.rules`,
      [bucket, JSON.stringify(rules)],
    );
  }

  async remove(bucket: string): Promise<void> {
    await this.put(bucket, []);
  }

  async buckets(): Promise<string[]> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT bucket FROM ${TABLE} ORDER BY bucket`);
    return rows.map((row) => row.bucket as string);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private init(): Promise<unknown> {
    this.ready ??= this.pool.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (bucket TEXT PRIMARY KEY, rules JSONB NOT NULL)`).catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }
}
