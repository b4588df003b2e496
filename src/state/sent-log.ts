// The sends every worker made, shared between workers through the rules store's home (the data dir's
// files on one machine, PostgreSQL across machines). A workflow task whose completion never reached
// Temporal (its worker was SIGKILLed, or Temporal was unreachable) runs again, often on another worker;
// that worker learns here what the first one already sent, so it does not send it again
// (src/targets/send-dedupe.ts keeps what it learned in memory and asks only its memory before a send).
// Embedded: one append-only file per worker process under <data dir>/sent/, written with one write(2) per
// send before the send counts as done (a SIGKILL after it loses nothing), read by the others as it grows.
// Each file is rotated after ROTATE_LINES lines (the two newest kept) or half a horizon idle; a file nobody
// wrote to within the horizon (a worker that is gone) is deleted by whichever worker sees it next.
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/** How long a send is remembered between workers: far longer than any task re-run after an outage. */
export const SENT_LOG_HORIZON_MS = 60 * 60_000;

export interface SentLog {
  /** Records sends this worker made (opaque keys without newlines). */
  append(keys: string[]): void;
  /** The keys the other workers appended since the last call (each at least once). */
  readNew(): Promise<string[]>;
  close(): Promise<void>;
}

/** Lines per file before a worker starts its next one: some 5 MB at ~100 bytes a send. */
const ROTATE_LINES = 50_000;

export class FileSentLog implements SentLog {
  readonly dir: string;
  private readonly name = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private generation = 0;
  private lines = 0;
  private lastWriteAt = 0;
  private fd: number | undefined;
  /** How far each other worker's file has been read (bytes, always at a line's end). */
  private readonly offsets = new Map<string, number>();

  constructor(
    dataDir: string,
    private readonly rotateLines = ROTATE_LINES,
  ) {
    this.dir = path.join(dataDir, 'sent');
  }

  append(keys: string[]): void {
    if (keys.length === 0) return;
    // A file idle for half the horizon may soon be deleted as a gone worker's: the next write starts a new one.
    if (this.fd !== undefined && Date.now() - this.lastWriteAt > SENT_LOG_HORIZON_MS / 2) this.rotate();
    if (this.fd === undefined) {
      mkdirSync(this.dir, { recursive: true });
      this.fd = openSync(this.fileOf(this.generation), 'a');
    }
    writeSync(this.fd, `${keys.join('\n')}\n`);
    this.lastWriteAt = Date.now();
    this.lines += keys.length;
    if (this.lines >= this.rotateLines) this.rotate();
  }

  async readNew(): Promise<string[]> {
    let files: string[];
    try {
      files = (await readdir(this.dir)).filter((file) => file.endsWith('.log') && !file.startsWith(`${this.name}.`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    for (const known of this.offsets.keys()) if (!files.includes(known)) this.offsets.delete(known);
    const keys: string[] = [];
    for (const file of files) keys.push(...(await this.readFrom(file)));
    return keys;
  }

  async close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private fileOf(generation: number): string {
    return path.join(this.dir, `${this.name}.${generation}.log`);
  }

  private rotate(): void {
    closeSync(this.fd!);
    this.generation += 1;
    this.lines = 0;
    this.fd = openSync(this.fileOf(this.generation), 'a');
    if (this.generation >= 2) unlink(this.fileOf(this.generation - 2)).catch(() => {});
  }

  /** The complete lines added to another worker's file since it was last read; a stale file is deleted. */
  private async readFrom(file: string): Promise<string[]> {
    const full = path.join(this.dir, file);
    const from = this.offsets.get(file) ?? 0;
    let handle;
    try {
      const { size, mtimeMs } = await stat(full);
      if (Date.now() - mtimeMs > SENT_LOG_HORIZON_MS) {
        await unlink(full);
        this.offsets.delete(file);
        return [];
      }
      if (size <= from) return [];
      handle = await open(full, 'r');
      const buffer = Buffer.alloc(size - from);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
      // A line still being written is read once it is complete.
      const end = buffer.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
      this.offsets.set(file, from + end);
      return end === 0 ? [] : buffer.toString('utf8', 0, end - 1).split('\n');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // rotated away or deleted meanwhile
      throw err;
    } finally {
      await handle?.close();
    }
  }
}
