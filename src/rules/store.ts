// Where bucket rules live. The embedded default is one JSON file under the data dir, written atomically
// and re-read when it changes, so every worker on the machine sees a change without a restart.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../errors';
import type { NotificationRule } from './rules';

export interface RulesStore {
  get(bucket: string): Promise<NotificationRule[]>;
  put(bucket: string, rules: NotificationRule[]): Promise<void>;
  remove(bucket: string): Promise<void>;
  buckets(): Promise<string[]>;
  close(): Promise<void>;
}

type RulesByBucket = Record<string, NotificationRule[]>;

export class FileRulesStore implements RulesStore {
  readonly file: string;
  private cache: { version: string; rules: RulesByBucket } | undefined;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'rules.json');
  }

  async get(bucket: string): Promise<NotificationRule[]> {
    return (await this.read())[bucket] ?? [];
  }

  async put(bucket: string, rules: NotificationRule[]): Promise<void> {
    const all = { ...(await this.read()) };
    if (rules.length === 0) delete all[bucket];
    else all[bucket] = rules;
    await this.write(all);
  }

  async remove(bucket: string): Promise<void> {
    await this.put(bucket, []);
  }

  async buckets(): Promise<string[]> {
    return Object.keys(await this.read()).sort();
  }

  async close(): Promise<void> {}

  private async read(): Promise<RulesByBucket> {
    let version: string;
    try {
      // Every write renames a new file into place, so the inode changes even within one mtime tick.
      const { ino, mtimeMs, size } = await stat(this.file);
      version = `${ino}:${mtimeMs}:${size}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    if (this.cache?.version !== version) this.cache = { version, rules: parseRulesFile(await readFile(this.file, 'utf8'), this.file) };
    return this.cache.rules;
  }

  private async write(rules: RulesByBucket): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, JSON.stringify(rules, null, 2));
    await rename(temp, this.file);
    this.cache = undefined;
  }
}

function parseRulesFile(text: string, file: string): RulesByBucket {
  let rules: unknown;
  try {
    rules = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${errorMessage(err)})`);
  }
  const valid = typeof rules === 'object' && rules !== null && !Array.isArray(rules) && Object.values(rules).every(Array.isArray);
  if (!valid) throw new Error(`${file}: expected {"<bucket>": [rules...]}`);
  return rules as RulesByBucket;
}
