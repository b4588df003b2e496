// The embedded store's building blocks: a JSON file under the data dir written atomically and re-read only when it
// changed on disk (the rules, the targets' state, the scan sources' definitions), and the prototype-less copies its
// maps are held in, so a user's name (a bucket, an ARN) is only ever an own key.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A JSON file written atomically (a new file renamed into place) and re-read only when it changed on disk. */
export class JsonFile<T> {
  private cache: { version: string; value: T } | undefined;

  constructor(
    readonly file: string,
    private readonly empty: T,
    private readonly parse: (text: string, file: string) => T,
  ) {}

  async read(): Promise<T> {
    let version: string;
    try {
      // Every write renames a new file into place, so the inode changes even within one mtime tick.
      const { ino, mtimeMs, size } = await stat(this.file);
      version = `${ino}:${mtimeMs}:${size}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.empty;
      throw err;
    }
    if (this.cache?.version !== version)
      this.cache = { version, value: this.parse(await readFile(this.file, 'utf8'), this.file) };
    return this.cache.value;
  }

  async write(value: T): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, JSON.stringify(value, null, 2));
    await rename(temp, this.file);
    this.cache = undefined;
  }
}

/** A copy without a prototype: its keys (bucket names, ARNs) are looked up as own keys only. */
export function keyedByData<T>(record: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null), record);
}
