// The scan state of the embedded store, in files under the data dir beside rules.json (src/state/scans.ts says
// what is kept). Layout:
//   scans.json                                  every scan's definition (atomic writes, as rules.json)
//   scans/<scan id>/listing.jsonl               the previous complete listing, one [key, etag, size, lastModified] a
// line, in key order
//   scans/<scan id>/next.jsonl                  the listing being read (swapped in by a rename when the run completes)
//   scans/<scan id>/last-run.json               what the last run came to
//   delivered/<bucket>/logs/<writer>.<n>.log    delivered states as the delivery path appends them (a file per worker
// process)
//   delivered/<bucket>/states.<n>.jsonl         a bucket's delivered states in key order, one line per object (the
// newest)
//   delivered/<bucket>/offsets.json             the current states file and how far each log is folded into it
// A reconciliation folds the bucket's logs into a new states file first (an external sort: runs in memory, then a
// merge), under a lock directory, then reads it in key order. Folded logs are deleted once their writer has moved on.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../errors';
import {
  StalePositionError,
  type DeliveredState,
  type KeyOrderedReader,
  type ListedState,
  type ListingSession,
  type ScanDefinition,
  type ScanRunSummary,
  type ScanStore,
} from './scans';
import { LineReader, LineWriter, mergeIntoSortedFile, SortedFileReader, type LineCodec } from './sorted-lines';
import { JsonFile, keyedByData } from './json-file';

const LISTING_CODEC: LineCodec<ListedState> = {
  encode: (e) => JSON.stringify([e.key, e.etag, e.size, e.lastModified]),
  decode: (text) => {
    const [key, etag, size, lastModified] = JSON.parse(text) as [string, string, number, string];
    return { key, etag, size, lastModified };
  },
  keyOf: (e) => e.key,
};

/** The bucket is the directory's: each line is [key, etag, size, versionId, sequencer, removed, at]. */
function deliveredCodec(bucket: string): LineCodec<DeliveredState> {
  return {
    encode: (e) => JSON.stringify([e.key, e.etag, e.size, e.versionId ?? null, e.sequencer, e.removed ? 1 : 0, e.at]),
    decode: (text) => {
      const [key, etag, size, versionId, sequencer, removed, at] = JSON.parse(text) as [
        string,
        string,
        number,
        string | null,
        string,
        number,
        number,
      ];
      return {
        bucket,
        key,
        etag,
        size,
        ...(versionId !== null ? { versionId } : {}),
        sequencer,
        removed: removed === 1,
        at,
      };
    },
    keyOf: (e) => e.key,
  };
}

/** The newer of two states of one object: the higher sequencer; on a tie the later recorded. */
export function newerDelivered(older: DeliveredState, newer: DeliveredState): DeliveredState {
  return newer.sequencer >= older.sequencer ? newer : older;
}

/** Lines per log file before its writer starts the next. */
const LOG_ROTATE_LINES = 50_000;
/** A log idle this long is not written again (its writer starts a new one): once folded, it can go. */
const LOG_IDLE_MS = 5 * 60_000;
/** A superseded states file is kept this long for a reconciliation still reading it (resuming after a SIGKILL). */
const RETIRED_STATES_KEEP_MS = 60 * 60_000;
/** A compaction lock older than this was left by a process that died holding it. */
const LOCK_STALE_MS = 10 * 60_000;

interface Offsets {
  /** The states file in use (a name in the bucket's directory). */
  current?: string;
  /** How far each log is folded (bytes, at a line's end). */
  logs: Record<string, number>;
  /** Superseded states files and when they were. */
  retired: Record<string, number>;
}

export class FileScanStore implements ScanStore {
  private readonly definitions: JsonFile<Record<string, ScanDefinition>>;
  private readonly scansDir: string;
  private readonly deliveredDir: string;
  private readonly writer = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly logs = new Map<
    string,
    { handle: FileHandle; generation: number; lines: number; lastWriteAt: number }
  >();
  private generation = 0;

  constructor(dataDir: string) {
    this.definitions = new JsonFile(path.join(dataDir, 'scans.json'), {}, (text, file) => parseScansFile(text, file));
    this.scansDir = path.join(dataDir, 'scans');
    this.deliveredDir = path.join(dataDir, 'delivered');
  }

  async list(): Promise<ScanDefinition[]> {
    return Object.values(await this.definitions.read()).sort((a, b) => a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<ScanDefinition | undefined> {
    const all = await this.definitions.read();
    return Object.hasOwn(all, id) ? all[id] : undefined;
  }

  async put(definition: ScanDefinition): Promise<void> {
    const all = keyedByData({ ...(await this.definitions.read()) });
    all[definition.id] = definition;
    await this.definitions.write(all);
  }

  async remove(id: string): Promise<boolean> {
    const all = keyedByData({ ...(await this.definitions.read()) });
    const removed = Object.hasOwn(all, id) ? all[id] : undefined;
    if (!removed) return false;
    delete all[id];
    await this.definitions.write(all);
    await rm(this.scanDir(id), { recursive: true, force: true });
    // The bucket's delivered states are kept only while a reconciliation of it needs them.
    if (removed.reconcile && !Object.values(all).some((scan) => scan.reconcile && scan.bucket === removed.bucket)) {
      await this.closeLog(removed.bucket);
      await rm(this.bucketDir(removed.bucket), { recursive: true, force: true });
    }
    return true;
  }

  async lastRuns(): Promise<Record<string, ScanRunSummary>> {
    const runs: Record<string, ScanRunSummary> = Object.create(null);
    for (const scan of await this.list()) {
      const text = await readFile(path.join(this.scanDir(scan.id), 'last-run.json'), 'utf8').catch(() => undefined);
      if (text) runs[scan.id] = JSON.parse(text) as ScanRunSummary;
    }
    return runs;
  }

  async setLastRun(id: string, summary: ScanRunSummary): Promise<void> {
    const dir = this.scanDir(id);
    await mkdir(dir, { recursive: true });
    const temp = path.join(dir, `last-run.json.${this.writer}.tmp`);
    await writeFile(temp, JSON.stringify(summary, null, 2));
    await rename(temp, path.join(dir, 'last-run.json'));
  }

  async openListing(id: string, resume?: unknown): Promise<ListingSession> {
    const dir = this.scanDir(id);
    await mkdir(dir, { recursive: true });
    const previousFile = path.join(dir, 'listing.jsonl');
    const nextFile = path.join(dir, 'next.jsonl');
    const at = resume as { previous: number; next: number } | undefined;
    if (at) {
      const sizes = await Promise.all(
        [previousFile, nextFile].map((file) =>
          stat(file).then(
            (s) => s.size,
            () => -1,
          ),
        ),
      );
      if ((at.previous > 0 && sizes[0] < at.previous) || sizes[1] < at.next) throw new StalePositionError(`scan ${id}`);
    }
    const hasPrevious = await stat(previousFile).then(
      () => true,
      () => false,
    );
    const reader = new SortedFileReader(previousFile, LISTING_CODEC, at?.previous ?? 0);
    const writer = await LineWriter.open(nextFile, at?.next ?? 0);
    return {
      hasPrevious,
      readUpTo: (upTo, limit) => reader.readUpTo(upTo, limit),
      position: () => ({ previous: reader.position(), next: writer.bytes }),
      append: (entries) => writer.write(entries.map(LISTING_CODEC.encode)), // the whole page: the file is the next listing
      async commit() {
        await writer.sync();
        await rename(nextFile, previousFile).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err; // the scan was removed meanwhile
        });
      },
      async close() {
        await Promise.allSettled([reader.close(), writer.close()]);
      },
    };
  }

  async recordDelivered(states: DeliveredState[]): Promise<void> {
    const byBucket = new Map<string, DeliveredState[]>();
    for (const state of states) {
      const list = byBucket.get(state.bucket) ?? [];
      list.push(state);
      byBucket.set(state.bucket, list);
    }
    for (const [bucket, list] of byBucket) await this.appendLog(bucket, list.map(deliveredCodec(bucket).encode));
  }

  async openDelivered(
    bucket: string,
    prefix: string,
    resume?: unknown,
  ): Promise<KeyOrderedReader<DeliveredState> & { close(): Promise<void> }> {
    const dir = this.bucketDir(bucket);
    const at = resume as { file: string; offset: number } | undefined;
    let file: string | undefined;
    if (at) {
      file = at.file;
      if (
        file &&
        !(await stat(path.join(dir, file)).then(
          () => true,
          () => false,
        ))
      )
        throw new StalePositionError(`delivered states of ${bucket}`);
    } else {
      file = await this.fold(bucket);
    }
    const reader = new SortedFileReader(
      file ? path.join(dir, file) : path.join(dir, 'none'),
      deliveredCodec(bucket),
      at?.offset ?? 0,
      prefix,
    );
    return {
      readUpTo: (upTo, limit) => reader.readUpTo(upTo, limit),
      position: () => ({ file, offset: reader.position() }),
      close: () => reader.close(),
    };
  }

  /** Closes the logs this process writes. */
  async close(): Promise<void> {
    for (const bucket of [...this.logs.keys()]) await this.closeLog(bucket);
  }

  private scanDir(id: string): string {
    return path.join(this.scansDir, encodeURIComponent(id));
  }

  private bucketDir(bucket: string): string {
    return path.join(this.deliveredDir, encodeURIComponent(bucket));
  }

  private async appendLog(bucket: string, lines: string[]): Promise<void> {
    let log = this.logs.get(bucket);
    // A log idle for a while may be folded and deleted: the next write goes to a new one.
    if (log && (log.lines >= LOG_ROTATE_LINES || Date.now() - log.lastWriteAt > LOG_IDLE_MS)) {
      await this.closeLog(bucket);
      log = undefined;
    }
    if (!log) {
      const logsDir = path.join(this.bucketDir(bucket), 'logs');
      await mkdir(logsDir, { recursive: true });
      const generation = this.generation++;
      log = {
        handle: await open(path.join(logsDir, `${this.writer}.${generation}.log`), 'a'),
        generation,
        lines: 0,
        lastWriteAt: Date.now(),
      };
      this.logs.set(bucket, log);
    }
    const data = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    let written = 0;
    while (written < data.length) written += (await log.handle.write(data, written)).bytesWritten;
    log.lines += lines.length;
    log.lastWriteAt = Date.now();
  }

  private async closeLog(bucket: string): Promise<void> {
    const log = this.logs.get(bucket);
    this.logs.delete(bucket);
    await log?.handle.close().catch(() => {});
  }

  /**
   * Folds the bucket's logs into a new states file (newest state per object), under the bucket's lock; returns the
   * states file to read (undefined: nothing was ever delivered).
   */
  private async fold(bucket: string): Promise<string | undefined> {
    const dir = this.bucketDir(bucket);
    await mkdir(path.join(dir, 'logs'), { recursive: true });
    const unlock = await lock(path.join(dir, 'compact.lock'));
    try {
      const offsetsFile = path.join(dir, 'offsets.json');
      const offsets: Offsets = await readFile(offsetsFile, 'utf8').then(
        (text) => JSON.parse(text) as Offsets,
        () => ({ logs: {}, retired: {} }),
      );
      const logNames = (await readdir(path.join(dir, 'logs'))).filter((name) => name.endsWith('.log')).sort();
      const folded: Record<string, number> = {};
      const codec = deliveredCodec(bucket);
      async function* newEntries(): AsyncGenerator<DeliveredState> {
        for (const name of logNames) {
          const lines = new LineReader(path.join(dir, 'logs', name), offsets.logs[name] ?? 0);
          folded[name] = offsets.logs[name] ?? 0;
          try {
            for (let line = await lines.next(); line; line = await lines.next()) {
              folded[name] = line.end;
              yield codec.decode(line.text);
            }
          } finally {
            await lines.close();
          }
        }
      }
      let current = offsets.current;
      const retired = { ...offsets.retired };
      const next = `states.${Date.now()}-${randomUUID().slice(0, 8)}.jsonl`;
      // The logs are read once: when nothing is new, the states file stays as it is.
      const iterator = newEntries();
      const first = await iterator.next();
      if (!first.done) {
        const rest = (async function* () {
          yield first.value;
          yield* iterator;
        })();
        await mergeIntoSortedFile({
          sorted: current ? path.join(dir, current) : undefined,
          unsorted: rest,
          out: path.join(dir, next),
          codec,
          pick: newerDelivered,
        });
        if (current) retired[current] = Date.now();
        current = next;
      }
      const now = Date.now();
      for (const [name, since] of Object.entries(retired)) {
        if (now - since > RETIRED_STATES_KEEP_MS) {
          await rm(path.join(dir, name), { force: true });
          delete retired[name];
        }
      }
      const logs: Record<string, number> = { ...offsets.logs, ...folded };
      // A log folded to its end whose writer moved on (rotated, or idle past LOG_IDLE_MS) is not written again.
      for (const name of logNames) {
        const info = await stat(path.join(dir, 'logs', name)).catch(() => undefined);
        if (!info) delete logs[name];
        else if (logs[name] === info.size && now - info.mtimeMs > LOG_IDLE_MS * 2) {
          await rm(path.join(dir, 'logs', name), { force: true });
          delete logs[name];
        }
      }
      for (const name of Object.keys(logs)) if (!logNames.includes(name)) delete logs[name];
      const temp = `${offsetsFile}.${this.writer}.tmp`;
      await writeFile(temp, JSON.stringify({ current, logs, retired } satisfies Offsets));
      await rename(temp, offsetsFile);
      return current;
    } finally {
      await unlock();
    }
  }
}

/** Takes a lock directory (mkdir is atomic), waiting for another holder; one older than LOCK_STALE_MS is taken over. */
async function lock(dir: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      await mkdir(dir);
      return () => rm(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const since = await stat(dir).then(
        (s) => s.mtimeMs,
        () => Date.now(),
      );
      if (Date.now() - since > LOCK_STALE_MS || Date.now() > deadline) await rm(dir, { recursive: true, force: true });
      else await new Promise((wake) => setTimeout(wake, 200));
    }
  }
}

function parseScansFile(text: string, file: string): Record<string, ScanDefinition> {
  let scans: unknown;
  try {
    scans = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${errorMessage(err)})`);
  }
  if (typeof scans !== 'object' || scans === null || Array.isArray(scans))
    throw new Error(`${file}: expected {"<scan id>": {definition}}`);
  return keyedByData(scans as Record<string, ScanDefinition>);
}
