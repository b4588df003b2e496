// Files of one JSON value a line, kept in key order, for the embedded scan state (src/state/scan-files.ts): a
// previous listing, a bucket's delivered states. They are read a page at a time from a byte offset (a position
// a scan heartbeats), written a page at a time, and built from unsorted input by an external sort (runs of
// RUN_ENTRIES sorted in memory, then merged), so no step holds more than a run, whatever the bucket's size.
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { compareObjectKeys } from '../events/record';
import type { KeyOrderedReader } from './scans';

const CHUNK_BYTES = 256 * 1024;
/** Entries sorted in memory at once by the external sort (some 15 MB of delivered states). */
export const RUN_ENTRIES = 50_000;

/** Lines of a file from a byte offset; each with the offsets of its start and of the next line. */
export class LineReader {
  private handle: FileHandle | undefined;
  private buffer = Buffer.alloc(0);
  /** File offset of buffer[0]. */
  private bufferStart: number;
  private eof = false;

  constructor(
    readonly file: string,
    offset = 0,
  ) {
    this.bufferStart = offset;
  }

  /** The next complete line, or undefined at the end (a last line without its newline is not complete). */
  async next(): Promise<{ text: string; start: number; end: number } | undefined> {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline >= 0) {
        const start = this.bufferStart;
        const text = this.buffer.toString('utf8', 0, newline);
        this.buffer = this.buffer.subarray(newline + 1);
        this.bufferStart += newline + 1;
        return { text, start, end: this.bufferStart };
      }
      if (this.eof) return undefined;
      await this.fill();
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  private async fill(): Promise<void> {
    if (!this.handle) {
      try {
        this.handle = await open(this.file, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.eof = true;
        return;
      }
    }
    const chunk = Buffer.alloc(CHUNK_BYTES);
    const { bytesRead } = await this.handle.read(chunk, 0, CHUNK_BYTES, this.bufferStart + this.buffer.length);
    if (bytesRead === 0) this.eof = true;
    else this.buffer = Buffer.concat([this.buffer, chunk.subarray(0, bytesRead)]);
  }
}

export interface LineCodec<T> {
  encode(entry: T): string;
  decode(text: string): T;
  keyOf(entry: T): string;
}

/**
 * A key-ordered file read a page at a time (KeyOrderedReader), limited to keys under `prefix`: earlier keys are
 * skipped, the first key past the prefix ends it. Its position is the byte offset of the next entry.
 */
export class SortedFileReader<T> implements KeyOrderedReader<T> {
  private readonly lines: LineReader;
  private pending: { entry: T; start: number; end: number } | undefined;
  /** Where the next entry starts (everything before it is read). */
  private offset: number;
  private ended = false;

  constructor(
    file: string,
    private readonly codec: LineCodec<T>,
    offset = 0,
    private readonly prefix = '',
  ) {
    this.lines = new LineReader(file, offset);
    this.offset = offset;
  }

  async readUpTo(upTo: string | undefined, limit: number): Promise<T[]> {
    const out: T[] = [];
    while (out.length < limit) {
      const next = this.pending ?? (await this.read());
      if (!next) break;
      if (upTo !== undefined && compareObjectKeys(this.codec.keyOf(next.entry), upTo) > 0) {
        this.pending = next;
        break;
      }
      this.pending = undefined;
      this.offset = next.end;
      out.push(next.entry);
    }
    return out;
  }

  position(): number {
    return this.pending ? this.pending.start : this.offset;
  }

  close(): Promise<void> {
    return this.lines.close();
  }

  /** The next entry under the prefix (skipping those before it; none once past it). */
  private async read(): Promise<{ entry: T; start: number; end: number } | undefined> {
    while (!this.ended) {
      const line = await this.lines.next();
      if (!line) break;
      const entry = this.codec.decode(line.text);
      const key = this.codec.keyOf(entry);
      if (!this.prefix || key.startsWith(this.prefix)) return { entry, start: line.start, end: line.end };
      if (compareObjectKeys(key, this.prefix) > 0) break;
      this.offset = line.end; // before the prefix: skipped
    }
    this.ended = true;
    return undefined;
  }
}

/** Appends lines to a file, a page per write; `bytes` is its length so far (a position to resume from). */
export class LineWriter {
  private constructor(
    private readonly handle: FileHandle,
    public bytes: number,
  ) {}

  /** Opens `file` to append after its first `keepBytes` bytes (the rest, written after the last position kept, is cut).
   * */
  static async open(file: string, keepBytes = 0): Promise<LineWriter> {
    const handle = await open(file, keepBytes > 0 ? 'r+' : 'w');
    await handle.truncate(keepBytes);
    return new LineWriter(handle, keepBytes);
  }

  async write(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    const data = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written, this.bytes + written);
      written += bytesWritten;
    }
    this.bytes += data.length;
  }

  /** Flushed to disk: a rename that publishes the file comes after its data. */
  async sync(): Promise<void> {
    await this.handle.sync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Something entries come from in key order, one at a time. */
interface EntrySource<T> {
  next(): Promise<T | undefined>;
  close(): Promise<void>;
}

function fileSource<T>(file: string, codec: LineCodec<T>): EntrySource<T> {
  const lines = new LineReader(file);
  return {
    next: async () => {
      const line = await lines.next();
      return line ? codec.decode(line.text) : undefined;
    },
    close: () => lines.close(),
  };
}

/**
 * Writes `sorted` (already in key order) merged with `unsorted` entries to `out`, in key order, one entry per key:
 * `pick` chooses between two entries of one key (the newer). `unsorted` is sorted in runs of `runEntries`, each
 * written to a temporary file beside `out`, then every run and `sorted` are merged at once. Returns the entries
 * written.
 */
export async function mergeIntoSortedFile<T>(options: {
  sorted: string | undefined;
  unsorted: AsyncIterable<T>;
  out: string;
  codec: LineCodec<T>;
  pick: (older: T, newer: T) => T;
  /** Entries not to write at all (e.g. removals that no longer need remembering). */
  keep?: (entry: T) => boolean;
  runEntries?: number;
}): Promise<number> {
  const { codec, pick, out } = options;
  const byKey = (a: T, b: T) => compareObjectKeys(codec.keyOf(a), codec.keyOf(b));
  const runs: string[] = [];
  const sources: EntrySource<T>[] = [];
  try {
    let run: T[] = [];
    const flushRun = async () => {
      if (run.length === 0) return;
      const file = `${out}.run${runs.length}`;
      runs.push(file);
      const writer = await LineWriter.open(file);
      run.sort(byKey); // stable: equal keys keep their arrival order, later = newer
      for (let i = 0; i < run.length; i += 10_000) await writer.write(run.slice(i, i + 10_000).map(codec.encode));
      await writer.close();
      run = [];
    };
    for await (const entry of options.unsorted) {
      run.push(entry);
      if (run.length >= (options.runEntries ?? RUN_ENTRIES)) await flushRun();
    }
    await flushRun();
    // Older first: the sorted file, then the runs in the order they were read (later runs are newer).
    if (options.sorted) sources.push(fileSource(options.sorted, codec));
    for (const file of runs) sources.push(fileSource(file, codec));
    const heads = await Promise.all(sources.map((source) => source.next()));
    const writer = await LineWriter.open(`${out}.tmp`);
    let batch: string[] = [];
    let written = 0;
    for (;;) {
      // The smallest key among the heads (few sources: a linear look is enough); equal keys from older to newer.
      let smallest: T | undefined;
      for (const head of heads)
        if (head !== undefined && (smallest === undefined || byKey(head, smallest) < 0)) smallest = head;
      if (smallest === undefined) break;
      const key = codec.keyOf(smallest);
      let chosen: T | undefined;
      for (let i = 0; i < sources.length; i++) {
        while (heads[i] !== undefined && codec.keyOf(heads[i]!) === key) {
          chosen = chosen === undefined ? heads[i] : pick(chosen, heads[i]!);
          heads[i] = await sources[i].next();
        }
      }
      if (chosen !== undefined && (options.keep?.(chosen) ?? true)) {
        batch.push(codec.encode(chosen));
        written++;
        if (batch.length >= 10_000) {
          await writer.write(batch);
          batch = [];
        }
      }
    }
    await writer.write(batch);
    await writer.sync();
    await writer.close();
    await rename(`${out}.tmp`, out);
    return written;
  } finally {
    await Promise.all(sources.map((source) => source.close()));
    await Promise.all(runs.map((file) => rm(file, { force: true })));
  }
}
