// The scan state of the PostgreSQL store (src/state/scans.ts says what is kept), for workers on several machines:
//   <table>_scans         id -> definition, whether its listing is complete (a first run done), its last run
//   <table>_scan_listing  (scan, key) -> etag, size, last_modified: the previous listing, updated in place as a run
//                         goes, a page after it was read (only what changed: an unchanged bucket writes nothing)
//   <table>_delivered     (bucket, key) -> the latest state delivered, upserted in bulk (the newest sequencer wins)
// Keys are `COLLATE "C"`: byte order, which for UTF-8 is S3's key order, so the primary keys serve every read in
// key order (`key > $last ORDER BY key LIMIT n`), a page per query, whatever the bucket's size.
import type { Pool } from 'pg';
import {
  type DeliveredState,
  type KeyOrderedReader,
  type ListedState,
  type ListingSession,
  type ScanDefinition,
  type ScanRunSummary,
  type ScanStore,
} from './scans';

export class PostgresScanStore implements ScanStore {
  private ready: Promise<unknown> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly table: string,
  ) {}

  async list(): Promise<ScanDefinition[]> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT definition FROM ${this.table}_scans ORDER BY id`);
    return rows.map((row) => row.definition as ScanDefinition);
  }

  async get(id: string): Promise<ScanDefinition | undefined> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT definition FROM ${this.table}_scans WHERE id = $1`, [id]);
    return rows[0]?.definition as ScanDefinition | undefined;
  }

  async put(definition: ScanDefinition): Promise<void> {
    await this.init();
    await this.pool.query(
      `INSERT INTO ${this.table}_scans (id, definition) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition`,
      [definition.id, JSON.stringify(definition)],
    );
  }

  async remove(id: string): Promise<boolean> {
    await this.init();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(`DELETE FROM ${this.table}_scans WHERE id = $1 RETURNING definition`, [id]);
      await client.query(`DELETE FROM ${this.table}_scan_listing WHERE scan = $1`, [id]);
      const removed = rows[0]?.definition as ScanDefinition | undefined;
      if (removed?.reconcile) {
        // The bucket's delivered states are kept only while a reconciliation of it needs them.
        await client.query(
          `DELETE FROM ${this.table}_delivered WHERE bucket = $1 AND NOT EXISTS
             (SELECT 1 FROM ${this.table}_scans WHERE definition->>'bucket' = $1 AND (definition->>'reconcile')::boolean)`,
          [removed.bucket],
        );
      }
      await client.query('COMMIT');
      return removed !== undefined;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async lastRuns(): Promise<Record<string, ScanRunSummary>> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT id, last_run FROM ${this.table}_scans WHERE last_run IS NOT NULL`);
    const runs: Record<string, ScanRunSummary> = Object.create(null);
    for (const row of rows as Array<{ id: string; last_run: ScanRunSummary }>) runs[row.id] = row.last_run;
    return runs;
  }

  async setLastRun(id: string, summary: ScanRunSummary): Promise<void> {
    await this.init();
    await this.pool.query(`UPDATE ${this.table}_scans SET last_run = $2 WHERE id = $1`, [id, JSON.stringify(summary)]);
  }

  async openListing(id: string, resume?: unknown): Promise<ListingSession> {
    await this.init();
    const { rows } = await this.pool.query(`SELECT listing_complete FROM ${this.table}_scans WHERE id = $1`, [id]);
    const hasPrevious = rows[0]?.listing_complete === true;
    // Read up to here; a page is written in place once read, so a run resumed from an earlier position reads what
    // it wrote as unchanged (its events were published before it was written), and reads the rest as it was.
    let last = (resume as { last: string | null } | undefined)?.last ?? null;
    const { pool, table } = this;
    // A first run starting afresh: rows an earlier first run left unfinished may name keys gone since.
    if (!hasPrevious && !resume) await pool.query(`DELETE FROM ${table}_scan_listing WHERE scan = $1`, [id]);
    return {
      hasPrevious,
      async readUpTo(upTo, limit) {
        if (!hasPrevious) return [];
        const { rows: entries } = await pool.query(
          `SELECT key, etag, size, last_modified FROM ${table}_scan_listing
            WHERE scan = $1 AND ($2::text IS NULL OR key > $2) AND ($3::text IS NULL OR key <= $3)
            ORDER BY key LIMIT $4`,
          [id, last, upTo ?? null, limit],
        );
        const states = entries.map((row): ListedState => ({
          key: row.key,
          etag: row.etag,
          size: Number(row.size),
          lastModified: row.last_modified,
        }));
        if (states.length > 0) last = states[states.length - 1].key;
        return states;
      },
      position: () => ({ last }),
      async append(entries, { upserted, removed }) {
        // A first run has nothing to compare with: its whole listing is written.
        const writes = hasPrevious ? upserted : entries;
        if (writes.length > 0) {
          await pool.query(
            `INSERT INTO ${table}_scan_listing (scan, key, etag, size, last_modified)
               SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[])
               ON CONFLICT (scan, key) DO UPDATE SET etag = EXCLUDED.etag, size = EXCLUDED.size, last_modified = EXCLUDED.last_modified`,
            [
              id,
              writes.map((e) => e.key),
              writes.map((e) => e.etag),
              writes.map((e) => e.size),
              writes.map((e) => e.lastModified),
            ],
          );
        }
        if (removed.length > 0)
          await pool.query(`DELETE FROM ${table}_scan_listing WHERE scan = $1 AND key = ANY($2::text[])`, [
            id,
            removed,
          ]);
      },
      async commit() {
        const { rowCount } = await pool.query(`UPDATE ${table}_scans SET listing_complete = true WHERE id = $1`, [id]);
        // Removed meanwhile: what this run wrote goes too.
        if (!rowCount) await pool.query(`DELETE FROM ${table}_scan_listing WHERE scan = $1`, [id]);
      },
      async close() {},
    };
  }

  async recordDelivered(states: DeliveredState[]): Promise<void> {
    if (states.length === 0) return;
    await this.init();
    // One row per object in a statement (ON CONFLICT cannot touch a row twice): the newest of each.
    const newest = new Map<string, DeliveredState>();
    for (const state of states) {
      const id = `${state.bucket}\0${state.key}`;
      const known = newest.get(id);
      if (!known || state.sequencer >= known.sequencer) newest.set(id, state);
    }
    const rows = [...newest.values()];
    await this.pool.query(
      `INSERT INTO ${this.table}_delivered AS d (bucket, key, etag, size, version_id, sequencer, removed, at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::boolean[], $8::bigint[])
         ON CONFLICT (bucket, key) DO UPDATE SET etag = EXCLUDED.etag, size = EXCLUDED.size, version_id = EXCLUDED.version_id,
           sequencer = EXCLUDED.sequencer, removed = EXCLUDED.removed, at = EXCLUDED.at
         WHERE d.sequencer <= EXCLUDED.sequencer`,
      [
        rows.map((r) => r.bucket),
        rows.map((r) => r.key),
        rows.map((r) => r.etag),
        rows.map((r) => r.size),
        rows.map((r) => r.versionId ?? null),
        rows.map((r) => r.sequencer),
        rows.map((r) => r.removed),
        rows.map((r) => r.at),
      ],
    );
  }

  async openDelivered(
    bucket: string,
    prefix: string,
    resume?: unknown,
  ): Promise<KeyOrderedReader<DeliveredState> & { close(): Promise<void> }> {
    await this.init();
    let last = (resume as { last: string | null } | undefined)?.last ?? null;
    const { pool, table } = this;
    return {
      async readUpTo(upTo, limit) {
        const { rows } = await pool.query(
          `SELECT key, etag, size, version_id, sequencer, removed, at FROM ${table}_delivered
            WHERE bucket = $1 AND key >= $2 AND starts_with(key, $2) AND ($3::text IS NULL OR key > $3) AND ($4::text IS NULL OR key <= $4)
            ORDER BY key LIMIT $5`,
          [bucket, prefix, last, upTo ?? null, limit],
        );
        const states = rows.map((row): DeliveredState => ({
          bucket,
          key: row.key,
          etag: row.etag,
          size: Number(row.size),
          ...(row.version_id !== null ? { versionId: row.version_id } : {}),
          sequencer: row.sequencer,
          removed: row.removed,
          at: Number(row.at),
        }));
        if (states.length > 0) last = states[states.length - 1].key;
        return states;
      },
      position: () => ({ last }),
      async close() {},
    };
  }

  private init(): Promise<unknown> {
    this.ready ??= this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${this.table}_scans (id TEXT PRIMARY KEY, definition JSONB NOT NULL, listing_complete BOOLEAN NOT NULL DEFAULT false, last_run JSONB);
        CREATE TABLE IF NOT EXISTS ${this.table}_scan_listing (scan TEXT NOT NULL, key TEXT COLLATE "C" NOT NULL,
          etag TEXT NOT NULL, size BIGINT NOT NULL, last_modified TEXT NOT NULL, PRIMARY KEY (scan, key));
        CREATE TABLE IF NOT EXISTS ${this.table}_delivered (bucket TEXT NOT NULL, key TEXT COLLATE "C" NOT NULL, etag TEXT NOT NULL,
          size BIGINT NOT NULL, version_id TEXT, sequencer TEXT NOT NULL, removed BOOLEAN NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (bucket, key))`,
      )
      .catch(async (err: unknown) => {
        // Workers creating the tables at once: the losers see a duplicate table/type error.
        const { rows } = await this.pool
          .query('SELECT to_regclass($1) IS NOT NULL AS found', [`${this.table}_delivered`])
          .catch(() => ({ rows: [{ found: false }] }));
        if (rows[0].found === true) return;
        this.ready = undefined;
        throw err;
      });
    return this.ready;
  }
}
