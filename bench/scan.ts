// `npm run bench`'s scan group (BENCH_ONLY=scan; opt-in, it brings up the stack's MinIO): what a scan of an unchanged
// bucket costs. A bucket of BENCH_SCAN_OBJECTS objects (default 100,000) in the stack's MinIO, kept between runs
// (a marker object says it is complete; BENCH_SCAN_REMOVE=1 removes it after), scanned by one worker process
// (`npm run worker`) on a schedule added as `bucketflow scan add` adds it; each round triggers one run per mode:
//   file      - the embedded state store: the previous listing in a sorted file under the data dir;
//   postgres  - the PostgreSQL state store (BUCKETFLOW_RULES_POSTGRES_URL): the listing in a table;
//   reconcile - `--reconcile` on the file store, the delivered states of every object recorded beforehand (as the
//               delivery path records them), so the run compares the listing with a full delivered-state file.
// Per run: seconds and objects listed per second, what it found (nothing, in an unchanged bucket), billable actions
// per listed object (the run's history by bench/actions.ts, plus its schedule's trigger and the activity's
// heartbeats, estimated at one per 12 s as the SDK throttles them: neither is in a history), the worker's peak RSS
// and CPU, MinIO's CPU, and the bytes the store holds for the scan. BENCH_SCAN_MODES (default
// "file,postgres,reconcile"), BENCH_ROUNDS rounds: the ratios are of the same round.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { endpoints } from '../scripts/stack/endpoints';
import { s3Server, stackS3Client } from '../scripts/stack/s3';
import { loadS3Settings } from '../src/settings/s3';
import { openS3 } from '../src/s3/client';
import { openStateStore, scanIdFor, type DeliveredState, type ScanRunSummary, type StateStore } from '../src/state';
import { countActions } from './actions';
import { startEntry } from './processes';
import { cpuSecondsOf } from './stats';
import { awsEnvOf, removeBucket as removeStackBucket } from '../test/helpers/s3-buckets';

const root = path.resolve(__dirname, '..');
const server = s3Server(endpoints.minio);
/** The SDK sends a heartbeat at most every 80% of the scan activity's 15 s heartbeat timeout. */
const HEARTBEAT_EVERY_S = 12;
const RUN_TIMEOUT_MS = 30 * 60_000;

type ScanMode = 'file' | 'postgres' | 'reconcile';

export interface ScanBenchRun {
  mode: ScanMode;
  /** 0: the scan's first run (its baseline listing written); then the unchanged runs, round by round. */
  round: number;
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  found: number;
  published: number;
  actions: {
    history: number;
    schedule: number;
    heartbeats: number;
    total: number;
    perObject: number;
    byKind: Record<string, number>;
  };
  workerPeakRssMb: number;
  workerCpuSeconds: number;
  minioCpuSeconds: number;
  storeBytes: number;
}

export async function runScanGroup(dataDir: string, rounds: number): Promise<ScanBenchRun[]> {
  const objects = Number(process.env.BENCH_SCAN_OBJECTS ?? 100_000);
  const modes = (process.env.BENCH_SCAN_MODES ?? 'file,postgres,reconcile').split(',') as ScanMode[];
  const bucket = process.env.BENCH_SCAN_BUCKET ?? `bench-scan-${objects}`;
  const admin = stackS3Client(server);
  const connection = await Connection.connect({ address: endpoints.temporal });
  const temporal = new Client({ connection });
  const results: ScanBenchRun[] = [];
  const setups: Setup[] = [];
  try {
    await ensureBucket(admin, bucket, objects);
    for (const mode of modes) setups.push(await setUp(mode, dataDir, bucket, objects));
    for (const setup of setups)
      results.push(
        await measure(setup, temporal, 0, () =>
          setup.cli(
            'scan',
            'add',
            bucket,
            '--every',
            '24h',
            '--endpoint',
            server.endpoint,
            ...(setup.mode === 'reconcile' ? ['--reconcile'] : []),
          ),
        ),
      );
    for (let round = 1; round <= rounds; round++) {
      for (const setup of setups)
        results.push(await measure(setup, temporal, round, () => setup.cli('scan', 'run', bucket)));
    }
    if (process.env.BENCH_SCAN_REMOVE === '1') await removeBucket(bucket);
  } finally {
    for (const setup of setups)
      await setup
        .close()
        .catch((err: Error) => console.error(`bench: scan ${setup.mode}: cleaning up: ${err.message}`));
    admin.destroy();
    await connection.close();
  }
  printScan(results);
  return results;
}

/**
 * The bucket with exactly `objects` objects (reused when its marker says so). Filled through MinIO's snowball
 * upload (a tar of many small objects, extracted by the server: `X-Amz-Meta-Snowball-Auto-Extract`), 10,000 a
 * request: one PUT per object would take the client far longer than the scans measured here.
 */
async function ensureBucket(admin: S3Client, bucket: string, objects: number): Promise<void> {
  const marker = '~bench-complete';
  const done = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: marker })).then(
    (r) => r.Body!.transformToString(),
    () => undefined,
  );
  if (done === String(objects)) return console.log(`bench: scan: reusing ${bucket} (${objects} objects)`);
  await admin
    .send(new HeadBucketCommand({ Bucket: bucket }))
    .catch(() => admin.send(new CreateBucketCommand({ Bucket: bucket })));
  const started = Date.now();
  for (let from = 0; from < objects; from += 10_000) {
    const keys = Array.from(
      { length: Math.min(10_000, objects - from) },
      (_, i) => `photos/${String(from + i).padStart(7, '0')}.jpg`,
    );
    await admin.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `snowball-${from}.tar`,
        Body: tarOf(keys.map((key) => ({ name: key, data: Buffer.from(key) }))),
        Metadata: { 'snowball-auto-extract': 'true' },
      }),
    );
    console.log(`bench: scan: filling ${bucket}: ${from + keys.length}/${objects}`);
  }
  await admin.send(new PutObjectCommand({ Bucket: bucket, Key: marker, Body: String(objects) }));
  console.log(
    `bench: scan: ${bucket} filled with ${objects} objects in ${Math.round((Date.now() - started) / 1000)} s`,
  );
}

/** A ustar archive of small files (names under 100 bytes). */
function tarOf(files: Array<{ name: string; data: Buffer }>): Buffer {
  const blocks: Buffer[] = [];
  for (const { name, data } of files) {
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

interface Setup {
  mode: ScanMode;
  bucket: string;
  objects: number;
  settings: { dataDir: string; taskQueue: string; postgres?: string };
  store: StateStore;
  workerPid: number;
  cli(...args: string[]): string;
  close(): Promise<void>;
}

async function setUp(mode: ScanMode, dataDir: string, bucket: string, objects: number): Promise<Setup> {
  const dir = path.join(dataDir, `scan-${mode}`);
  await mkdir(dir, { recursive: true });
  const taskQueue = `bench-scan-${mode}-${randomUUID().slice(0, 8)}`;
  const postgres = mode === 'postgres' ? endpoints.postgres : undefined;
  // One webhook target nothing should reach (the bucket does not change), to a port nothing listens on.
  const configFile = path.join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      region: 'us-east-1',
      notify: { webhook: { '1': { enable: true, endpoint: 'http://127.0.0.1:9/' } } },
    }),
  );
  const env = {
    BUCKETFLOW_DATA_DIR: dir,
    BUCKETFLOW_CONFIG: configFile,
    BUCKETFLOW_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: endpoints.temporal,
    ...(postgres ? { BUCKETFLOW_RULES_POSTGRES_URL: postgres } : {}),
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
  const store = openStateStore({ dataDir: dir, rulesPostgresUrl: postgres });
  await store.put(bucket, [
    {
      id: '1',
      arn: 'arn:minio:sqs:us-east-1:1:webhook',
      events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
      prefix: '',
      suffix: '',
    },
  ]);
  if (mode === 'reconcile') await recordEveryObject(store, bucket);
  const worker = startEntry('worker', env);
  await worker.waitFor('worker started');
  const cli = (...args: string[]) =>
    execFileSync(path.join(root, 'bin', 'bucketflow'), args, {
      cwd: root,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
  return {
    mode,
    bucket,
    objects,
    settings: { dataDir: dir, taskQueue, postgres },
    store,
    workerPid: worker.pid,
    cli,
    async close() {
      cli('scan', 'remove', bucket);
      await store.remove(bucket);
      await worker.stop();
      await store.close();
    },
  };
}

/** Every object's state as the delivery path records it once a target received it (a bucket fully notified). */
async function recordEveryObject(store: StateStore, bucket: string): Promise<void> {
  const s3 = openS3(loadS3Settings(awsEnvOf(server)));
  let continuation;
  do {
    const page = await s3.listPage(bucket, { continuation });
    const states = page.objects.map((o): DeliveredState => ({
      bucket,
      key: o.key,
      etag: o.etag,
      size: o.size,
      sequencer: (BigInt(Date.parse(o.lastModified)) * 1_000_000n).toString(16).toUpperCase().padStart(32, '0'),
      removed: false,
      at: Date.now(),
    }));
    await store.scans().recordDelivered(states);
    continuation = page.next;
  } while (continuation);
  s3.close();
}

async function measure(setup: Setup, temporal: Client, round: number, start: () => string): Promise<ScanBenchRun> {
  const scanId = scanIdFor(setup.bucket, '');
  const before = (await setup.store.scans().lastRuns())[scanId];
  try {
    writeFileSync(`/proc/${setup.workerPid}/clear_refs`, '5'); // the peak RSS from here on
  } catch {
    // not Linux, or not allowed: the peak since the worker started
  }
  const cpuBefore = cpuSecondsOf(setup.workerPid);
  const minioPid = minioProcess();
  const minioBefore = minioPid ? cpuSecondsOf(minioPid) : 0;
  start();
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  let run: ScanRunSummary | undefined;
  while (!run) {
    if (Date.now() > deadline)
      throw new Error(`bench: scan ${setup.mode}: no run completed within ${RUN_TIMEOUT_MS / 60_000} min`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const last = (await setup.store.scans().lastRuns())[scanId];
    if (last && last.finishedAt !== before?.finishedAt) run = last;
  }
  const seconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
  const history = await countActions(temporal, [run.workflowId]);
  const activities = history.byKind['activity attempt'] ?? 1;
  const heartbeats = activities + Math.floor(seconds / HEARTBEAT_EVERY_S);
  const total = history.total + 1 + heartbeats;
  const result: ScanBenchRun = {
    mode: setup.mode,
    round,
    objects: run.listed,
    seconds,
    objectsPerSecond: Math.round(run.listed / seconds),
    found: run.created + run.changed + run.removed,
    published: run.published,
    actions: {
      history: history.total,
      schedule: 1,
      heartbeats,
      total,
      perObject: Number((total / Math.max(1, run.listed)).toPrecision(2)),
      byKind: history.byKind,
    },
    workerPeakRssMb: Math.round(peakRss(setup.workerPid)),
    workerCpuSeconds: Number((cpuSecondsOf(setup.workerPid) - cpuBefore).toFixed(1)),
    minioCpuSeconds: minioPid ? Number((cpuSecondsOf(minioPid) - minioBefore).toFixed(1)) : 0,
    storeBytes: await storeBytes(setup, scanId),
  };
  console.log(
    `bench: scan ${setup.mode} round ${round}: ${result.objects} objects in ${seconds} s (${result.objectsPerSecond}/s), found ${result.found}, ${result.actions.perObject} actions/object, peak RSS ${result.workerPeakRssMb} MB`,
  );
  return result;
}

function peakRss(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function minioProcess(): number | undefined {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('minio\0server') && cmdline.includes(`${server.host}:${server.port}`)) return Number(pid);
    } catch {
      // gone
    }
  }
  return undefined;
}

/** What the store holds for the scan: its listing file (or the bucket's delivered states), or its PostgreSQL rows. */
async function storeBytes(setup: Setup, scanId: string): Promise<number> {
  if (setup.settings.postgres) {
    const pool = new Pool({ connectionString: setup.settings.postgres, max: 1 });
    try {
      const { rows } = await pool.query("SELECT pg_total_relation_size('bucketflow_rules_scan_listing') AS bytes");
      return Number(rows[0].bytes);
    } finally {
      await pool.end();
    }
  }
  if (setup.mode === 'reconcile') {
    const dir = path.join(setup.settings.dataDir, 'delivered', encodeURIComponent(setup.bucket));
    return readdirSync(dir)
      .filter((name) => name.startsWith('states.'))
      .map((name) => statSync(path.join(dir, name)).size)
      .reduce((a, b) => Math.max(a, b), 0);
  }
  return statSync(path.join(setup.settings.dataDir, 'scans', encodeURIComponent(scanId), 'listing.jsonl')).size;
}

async function removeBucket(bucket: string): Promise<void> {
  const admin = stackS3Client(server);
  await removeStackBucket(admin, bucket);
  admin.destroy();
}

function printScan(results: ScanBenchRun[]): void {
  if (results.length === 0) return;
  const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1);
  console.log('\nscan of an unchanged bucket (round 0: the first run, writing its baseline):');
  const header = [
    'mode',
    'round',
    'objects',
    's',
    'objects/s',
    'found',
    'actions/object',
    'actions (history+schedule+heartbeats)',
    'worker peak RSS MB',
    'worker CPU s',
    'MinIO CPU s',
    'store MB',
  ];
  const rows = results.map((r) => [
    r.mode,
    String(r.round),
    String(r.objects),
    String(r.seconds),
    String(r.objectsPerSecond),
    String(r.found),
    String(r.actions.perObject),
    `${r.actions.history}+${r.actions.schedule}+${r.actions.heartbeats}`,
    String(r.workerPeakRssMb),
    String(r.workerCpuSeconds),
    String(r.minioCpuSeconds),
    mb(r.storeBytes),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  for (const row of [header, ...rows]) console.log(`  ${row.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`);
  const rounds = [...new Set(results.filter((r) => r.round > 0).map((r) => r.round))];
  for (const mode of ['postgres', 'reconcile'] as const) {
    const ratios = rounds.flatMap((round) => {
      const file = results.find((r) => r.mode === 'file' && r.round === round);
      const other = results.find((r) => r.mode === mode && r.round === round);
      return file && other ? [other.seconds / file.seconds] : [];
    });
    if (ratios.length)
      console.log(`  ${mode} / file, seconds of the same round: ${ratios.map((x) => x.toFixed(2)).join(', ')}`);
  }
}
