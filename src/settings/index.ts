// Process-wide settings read from the environment, with local defaults: every BUCKETFLOW_* variable is read
// here (TEMPORAL_* in src/settings/temporal.ts; AWS_* and BUCKETFLOW_S3_* in src/settings/s3.ts, loaded by what
// lists buckets), once per entry point (loadSettings), and the parts are
// passed down to what uses them. Each variable is parsed by envSetting (src/config/params.ts) against its spec,
// so any bad value is one ConfigError line naming the variable; every entry point prints it and exits 2.
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';
import { isIP } from 'node:net';
import { tokenProblem } from '../config/auth-token';
import { ConfigError, envSetting } from '../config/params';
import { EVENT_SOURCES, type EventSource } from '../events/sources';
import type { LogLevel } from '../telemetry/log';
import { loadTemporalConnection, type TemporalConnectionSettings } from './temporal';
import type { MetricsSettings } from '../telemetry/metrics';

export type { MetricsSettings } from '../telemetry/metrics';

/** The Temporal connection (address, namespace, TLS, API key) comes from src/temporal/connection.ts. */
export interface Settings extends TemporalConnectionSettings {
  taskQueue: string;
  /** MinIO config.json (or its `notify` section); unset = targets from MINIO_NOTIFY_* env vars only. */
  configFile: string | undefined;
  /** Embedded rules store and other local state. */
  dataDir: string;
  /** When set, bucket rules live in PostgreSQL so several workers share them. */
  rulesPostgresUrl: string | undefined;
  /** Deliver through the fast path (deliverEventV3); `BUCKETFLOW_FAST_PATH=off` starts the first version instead. */
  fastPath: boolean;
  /** `npm run worker` also serves the HTTP ingest, starting deliveries eagerly on this worker. */
  ingestInWorker: boolean;
  /** The high-volume mode (group commit into batch workflows); maxEvents 1 = one workflow per event. */
  batch: BatchSettings;
  /** The Temporal Web UI, for links (`deliveries show`); default: the dev server's at the loaded address, gRPC port +
   * 1000. */
  temporalUiUrl: string;
  logLevel: LogLevel;
  tuning: WorkerTuning;
  /** Admission control: deliveries a worker holds before its ingest answers 503 (`BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES`,
   * 0 = no bound). */
  maxInFlightDeliveries: number;
  ingest: IngestSettings;
  metrics: MetricsSettings;
  health: HealthSettings;
  /** BUCKETFLOW_SOURCE_KAFKA_*: the worker consumes this topic (the volume path); unset = no Kafka source. */
  kafkaSource: KafkaSourceSettings | undefined;
  /** `BUCKETFLOW_SCAN_PAGE_SIZE`: objects per listing request of a scan source (S3's most and default: 1,000). */
  scanPageSize: number;
  /** `bucketflow backfill` as the worker runs it (src/engine/backfill.ts). */
  backfill: BackfillSettings;
}

export interface BackfillSettings {
  /**
   * `BUCKETFLOW_BACKFILL_BATCH_EVENTS`: listed objects per batch workflow (2-200, default 200); a backfill always
   * publishes in the high-volume mode, whatever BUCKETFLOW_BATCH_MAX_EVENTS says for the ingest.
   */
  batchEvents: number;
}

export interface KafkaSourceSettings {
  brokers: string[];
  topic: string;
  group: string;
}

export interface BatchSettings {
  /** `BUCKETFLOW_BATCH_MAX_EVENTS`: events per batch workflow; 1 (default) keeps one workflow per event. */
  maxEvents: number;
  /** `BUCKETFLOW_BATCH_MAX_WAIT`: how long a batch may wait to fill when no start is in flight (default 0: never). */
  maxWaitMs: number;
  /** `BUCKETFLOW_BATCH_DEDUPE_WINDOW`: an event id accepted this recently is not delivered again by this process. */
  dedupeWindowMs: number;
}

/**
 * The most events one batch may carry: its search attribute of event-id tokens must stay under Temporal's
 * 2 KB per value (src/delivery/batch-index.ts), so a larger setting is refused rather than silently cut.
 */
export const MAX_BATCH_EVENTS = 200;

export type WorkerTuning = Pick<
  WorkerOptions,
  | 'maxConcurrentActivityTaskExecutions'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'maxCachedWorkflows'
>;

export interface IngestSettings {
  host: string;
  port: number;
  authToken?: string;
  sourceTokens: Partial<Record<EventSource, string>>;
  /** Sources accepted without a token although tokens are set (`BUCKETFLOW_INGEST_OPEN_SOURCES`): auth fails closed
   * otherwise. */
  openSources: EventSource[];
  bodyLimitBytes: number;
  maxRecords: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  sns: { origins: string[]; topics: string[]; minSignatureVersion: 1 | 2 };
  /** Bucket patterns (`*` = any text) each source's events may name: its own list, else the global one; unset = every
   * bucket. */
  buckets: { global?: string[]; sources: Partial<Record<EventSource, string[]>> };
  /** Slow clients: how long the request line and headers, and the whole request (headers and body), may take to arrive.
   * */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Connections the ingest holds at once; more are closed as they arrive. */
  maxConnections: number;
  /** `BUCKETFLOW_INGEST_ALLOW_OPEN`: serve a non-loopback address with no token at all (refused at start otherwise). */
  allowOpen: boolean;
}

export interface HealthSettings {
  host: string;
  /** undefined = no health server; 0 = any free port. */
  port: number | undefined;
}

export const DEFAULT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_RECORDS = 1_000;
/** A sender's request line and headers arrive within this (MinIO's, Ceph's and SNS's arrive at once). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** A whole request, headers and body, arrives within this: a 10 MiB body at 1 MB/s fits; a stalled upload is closed. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Connections the ingest holds at once (a stalled upload holds at most its body, BUCKETFLOW_INGEST_MAX_BODY_BYTES). */
export const DEFAULT_MAX_CONNECTIONS = 128;
/** Deliveries a worker holds in its fast path at once (admission control; see bench/admission.ts). */
export const DEFAULT_MAX_IN_FLIGHT_DELIVERIES = 256;
const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
const isLogLevel = (text: string): text is LogLevel => LOG_LEVELS.some((level) => level === text);

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const connection = loadTemporalConnection(env);
  return {
    ...connection,
    taskQueue: envSetting(env, 'BUCKETFLOW_TASK_QUEUE', { kind: 'string', default: 'bucketflow' }),
    configFile: envSetting(env, 'BUCKETFLOW_CONFIG', { kind: 'string' }),
    dataDir: path.resolve(envSetting(env, 'BUCKETFLOW_DATA_DIR', { kind: 'string', default: '.data' })),
    rulesPostgresUrl: envSetting(env, 'BUCKETFLOW_RULES_POSTGRES_URL', {
      kind: 'string',
      secret: true,
      check: postgresUrlProblem,
    }),
    fastPath: envSetting(env, 'BUCKETFLOW_FAST_PATH', { kind: 'bool', default: true }),
    ingestInWorker: envSetting(env, 'BUCKETFLOW_INGEST', { kind: 'bool', default: false }),
    batch: batchSettings(env),
    temporalUiUrl: (
      envSetting(env, 'TEMPORAL_UI_URL', { kind: 'string', check: httpUrlProblem }) ??
      devServerUi(connection.temporalAddress)
    ).replace(/\/+$/, ''),
    logLevel: logLevel(env),
    tuning: workerTuning(env),
    maxInFlightDeliveries: maxInFlightDeliveries(env),
    ingest: ingestSettings(env),
    metrics: metricsSettings(env),
    kafkaSource: kafkaSourceSettings(env),
    health: healthSettings(env),
    scanPageSize: envSetting(env, 'BUCKETFLOW_SCAN_PAGE_SIZE', {
      kind: 'int',
      min: 1,
      default: 1_000,
      check: (n) => (n > 1_000 ? 'at most 1000 (S3 lists at most 1,000 keys a request)' : undefined),
    }),
    backfill: backfillSettings(env),
  };
}

export function backfillSettings(env: NodeJS.ProcessEnv): BackfillSettings {
  const tooMany = (n: number) =>
    n > MAX_BATCH_EVENTS
      ? `at most ${MAX_BATCH_EVENTS} (a batch's event index must fit one search attribute)`
      : undefined;
  return {
    batchEvents: envSetting(env, 'BUCKETFLOW_BACKFILL_BATCH_EVENTS', {
      kind: 'int',
      min: 2,
      default: MAX_BATCH_EVENTS,
      check: tooMany,
    }),
  };
}

function logLevel(env: NodeJS.ProcessEnv): LogLevel {
  const check = (text: string) =>
    isLogLevel(text.toUpperCase()) ? undefined : `expected one of ${LOG_LEVELS.join(', ')}`;
  const level = envSetting(env, 'BUCKETFLOW_LOG_LEVEL', { kind: 'string', default: 'INFO', check }).toUpperCase();
  return isLogLevel(level) ? level : 'INFO';
}

function maxInFlightDeliveries(env: NodeJS.ProcessEnv): number {
  return envSetting(env, 'BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES', {
    kind: 'int',
    min: 0,
    default: DEFAULT_MAX_IN_FLIGHT_DELIVERIES,
  });
}

/**
 * The worker's slots and its workflow cache. The cache defaults to the admission bound (at least the workflow
 * task slots, which the SDK requires): every delivery the worker holds stays cached through its fast path, and
 * the cache no longer follows the heap limit (the SDK's own default is ~600 workflows per GB of heap over 200 MB,
 * so 2,310 on a 4 GB heap, 196 under scripts/entry.sh's 512 MB, 10 under 192 MB). With no bound (0), the SDK's.
 */
export function workerTuning(env: NodeJS.ProcessEnv): WorkerTuning {
  const count = (name: string, fallback?: number) => envSetting(env, name, { kind: 'int', min: 1 }) ?? fallback;
  const maxConcurrentWorkflowTaskExecutions = count('BUCKETFLOW_MAX_CONCURRENT_WORKFLOW_TASKS', 100);
  const bound = maxInFlightDeliveries(env);
  return {
    maxConcurrentActivityTaskExecutions: count('BUCKETFLOW_MAX_CONCURRENT_ACTIVITIES', 200),
    maxConcurrentLocalActivityExecutions: count('BUCKETFLOW_MAX_CONCURRENT_LOCAL_ACTIVITIES', 200),
    maxConcurrentWorkflowTaskExecutions,
    maxCachedWorkflows: count(
      'BUCKETFLOW_MAX_CACHED_WORKFLOWS',
      bound > 0 ? Math.max(bound, maxConcurrentWorkflowTaskExecutions!) : undefined,
    ),
  };
}

export function batchSettings(env: NodeJS.ProcessEnv): BatchSettings {
  const tooMany = (n: number) =>
    n > MAX_BATCH_EVENTS
      ? `at most ${MAX_BATCH_EVENTS} (a batch's event index must fit one search attribute)`
      : undefined;
  // A duration with its unit (`5ms`, `10m`), or a bare number of milliseconds.
  const ms = (name: string, fallback: number) => {
    const text = env[name]?.trim() ?? '';
    return /^\d+$/.test(text) ? Number(text) : envSetting(env, name, { kind: 'duration', default: fallback });
  };
  return {
    maxEvents: envSetting(env, 'BUCKETFLOW_BATCH_MAX_EVENTS', { kind: 'int', min: 1, default: 1, check: tooMany }),
    maxWaitMs: ms('BUCKETFLOW_BATCH_MAX_WAIT', 0),
    dedupeWindowMs: ms('BUCKETFLOW_BATCH_DEDUPE_WINDOW', 10 * 60_000),
  };
}

/** `BUCKETFLOW_INGEST_AUTH_TOKEN_<SOURCE>`: MINIO, CEPH, AWS_S3, AWS_SNS, AWS_EVENTBRIDGE. */
export function sourceTokenVariable(source: EventSource): string {
  return `BUCKETFLOW_INGEST_AUTH_TOKEN_${sourceSuffix(source)}`;
}

/** `BUCKETFLOW_INGEST_BUCKETS_<SOURCE>`: the bucket patterns that source's events may name (else
 * BUCKETFLOW_INGEST_BUCKETS). */
export function sourceBucketsVariable(source: EventSource): string {
  return `BUCKETFLOW_INGEST_BUCKETS_${sourceSuffix(source)}`;
}

function sourceSuffix(source: EventSource): string {
  return source.toUpperCase().replace(/-/g, '_');
}

/**
 * An ingest token: set but empty or blank is refused (it used to count as unset: everything open), and so is
 * one MinIO could not send (more than two words: MinIO's `auth_token` is a token or "<scheme> <credentials>").
 */
function tokenSetting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (env[name] !== undefined && env[name]!.trim() === '')
    throw new ConfigError(name, 'set but empty: give it a token, or unset it for none');
  return envSetting(env, name, { kind: 'string', secret: true, check: tokenProblem });
}

/** Bucket patterns: names as S3 and MinIO allow them (letters, digits, `.`, `-`, `_`), `*` for any text. */
function bucketPatterns(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const shape = (patterns: string[]) => {
    const bad = patterns.find((pattern) => !/^[A-Za-z0-9._*-]+$/.test(pattern));
    return bad === undefined
      ? undefined
      : `"${bad}" is not a bucket name or pattern (letters, digits, ., -, _ and * for any text)`;
  };
  const patterns = envSetting(env, name, { kind: 'list', check: shape });
  return patterns?.length ? patterns : undefined;
}

/** Whether an address is reachable only from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export function ingestSettings(env: NodeJS.ProcessEnv): IngestSettings {
  const tlsCertFile = envSetting(env, 'BUCKETFLOW_INGEST_TLS_CERT', { kind: 'string' });
  const tlsKeyFile = envSetting(env, 'BUCKETFLOW_INGEST_TLS_KEY', { kind: 'string' });
  if (Boolean(tlsCertFile) !== Boolean(tlsKeyFile)) {
    throw tlsCertFile
      ? new ConfigError('BUCKETFLOW_INGEST_TLS_KEY', 'required with BUCKETFLOW_INGEST_TLS_CERT')
      : new ConfigError('BUCKETFLOW_INGEST_TLS_CERT', 'required with BUCKETFLOW_INGEST_TLS_KEY');
  }
  const authToken = tokenSetting(env, 'BUCKETFLOW_INGEST_AUTH_TOKEN');
  const sourceTokens: Partial<Record<EventSource, string>> = {};
  const sourceBuckets: Partial<Record<EventSource, string[]>> = {};
  for (const source of EVENT_SOURCES) {
    const token = tokenSetting(env, sourceTokenVariable(source));
    if (token) sourceTokens[source] = token;
    const buckets = bucketPatterns(env, sourceBucketsVariable(source));
    if (buckets) sourceBuckets[source] = buckets;
  }
  const openSources = envSetting(env, 'BUCKETFLOW_INGEST_OPEN_SOURCES', { kind: 'list', default: [] }).map((name) => {
    const source = EVENT_SOURCES.find((known) => known === name.toLowerCase());
    if (!source)
      throw new ConfigError(
        'BUCKETFLOW_INGEST_OPEN_SOURCES',
        `unknown source "${name}" (expected ${EVENT_SOURCES.join(', ')})`,
      );
    if (sourceTokens[source])
      throw new ConfigError(
        'BUCKETFLOW_INGEST_OPEN_SOURCES',
        `${source} has a token of its own (${sourceTokenVariable(source)}): open it or give it a token, not both`,
      );
    return source;
  });
  const host = envSetting(env, 'BUCKETFLOW_INGEST_HOST', { kind: 'string', default: '127.0.0.1' });
  const allowOpen = envSetting(env, 'BUCKETFLOW_INGEST_ALLOW_OPEN', { kind: 'bool', default: false });
  if (!authToken && Object.keys(sourceTokens).length === 0 && !isLoopbackHost(host) && !allowOpen) {
    throw new ConfigError(
      'BUCKETFLOW_INGEST_HOST',
      `${host} is reachable from other machines and no token is set: set BUCKETFLOW_INGEST_AUTH_TOKEN, or BUCKETFLOW_INGEST_ALLOW_OPEN=true to serve it open`,
    );
  }
  const headersTimeoutMs = envSetting(env, 'BUCKETFLOW_INGEST_HEADERS_TIMEOUT_MS', {
    kind: 'int',
    min: 1,
    default: DEFAULT_HEADERS_TIMEOUT_MS,
  });
  const requestTimeoutMs = envSetting(env, 'BUCKETFLOW_INGEST_REQUEST_TIMEOUT_MS', {
    kind: 'int',
    min: 1,
    default: DEFAULT_REQUEST_TIMEOUT_MS,
  });
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      'BUCKETFLOW_INGEST_HEADERS_TIMEOUT_MS',
      `${headersTimeoutMs} is longer than BUCKETFLOW_INGEST_REQUEST_TIMEOUT_MS (${requestTimeoutMs}), which includes the headers`,
    );
  }
  return {
    host,
    port: envSetting(env, 'BUCKETFLOW_INGEST_PORT', { kind: 'port', default: 9400 }),
    authToken,
    sourceTokens,
    openSources,
    bodyLimitBytes: envSetting(env, 'BUCKETFLOW_INGEST_MAX_BODY_BYTES', {
      kind: 'int',
      min: 1,
      default: DEFAULT_BODY_LIMIT_BYTES,
    }),
    maxRecords: envSetting(env, 'BUCKETFLOW_INGEST_MAX_RECORDS', { kind: 'int', min: 1, default: DEFAULT_MAX_RECORDS }),
    tlsCertFile,
    tlsKeyFile,
    sns: {
      origins: envSetting(env, 'BUCKETFLOW_INGEST_SNS_ORIGINS', { kind: 'list', default: [] }),
      topics: envSetting(env, 'BUCKETFLOW_INGEST_SNS_TOPICS', { kind: 'list', default: [] }),
      minSignatureVersion: envSetting(env, 'BUCKETFLOW_INGEST_SNS_MIN_SIGNATURE_VERSION', {
        kind: 'int',
        oneOf: [1, 2],
        default: 1,
      }) as 1 | 2,
    },
    buckets: { global: bucketPatterns(env, 'BUCKETFLOW_INGEST_BUCKETS'), sources: sourceBuckets },
    headersTimeoutMs,
    requestTimeoutMs,
    maxConnections: envSetting(env, 'BUCKETFLOW_INGEST_MAX_CONNECTIONS', {
      kind: 'int',
      min: 1,
      default: DEFAULT_MAX_CONNECTIONS,
    }),
    allowOpen,
  };
}

export function metricsSettings(env: NodeJS.ProcessEnv): MetricsSettings {
  const host = envSetting(env, 'BUCKETFLOW_METRICS_HOST', { kind: 'string', default: '127.0.0.1' });
  // A port switches its server on; unset or empty = off.
  const port = envSetting(env, 'BUCKETFLOW_METRICS_PORT', { kind: 'port' });
  const sdkPort = envSetting(env, 'BUCKETFLOW_SDK_METRICS_PORT', { kind: 'port' }) ?? (port && port + 1);
  return { host, port, sdkAddress: sdkPort ? `${host}:${sdkPort}` : undefined };
}

export function healthSettings(env: NodeJS.ProcessEnv): HealthSettings {
  return {
    host: envSetting(env, 'BUCKETFLOW_HEALTH_HOST', { kind: 'string', default: '127.0.0.1' }),
    port: envSetting(env, 'BUCKETFLOW_HEALTH_PORT', { kind: 'port' }),
  };
}

/** The dev server's UI beside its gRPC port (7233 -> 8233), at the address the connection settings loaded. */
function devServerUi(address: string): string {
  const { hostname, port } = new URL(`http://${address}`);
  return `http://${hostname}:${Number(port || 7233) + 1000}`;
}

function httpUrlProblem(text: string): string | undefined {
  return /^https?:\/\/[^/\s]+/.test(text) && URL.canParse(text) ? undefined : 'expected an http:// or https:// URL';
}

function postgresUrlProblem(text: string): string | undefined {
  return /^postgres(ql)?:\/\//.test(text) && URL.canParse(text)
    ? undefined
    : 'expected a postgres:// or postgresql:// URL';
}

function kafkaSourceSettings(env: NodeJS.ProcessEnv): KafkaSourceSettings | undefined {
  const hostPorts = (brokers: string[]) =>
    brokers.every((broker) => /^[^\s:/]+:\d{1,5}$/.test(broker)) ? undefined : 'expected host:port, comma-separated';
  const brokers = envSetting(env, 'BUCKETFLOW_SOURCE_KAFKA_BROKERS', { kind: 'list', default: [], check: hostPorts });
  const topic = envSetting(env, 'BUCKETFLOW_SOURCE_KAFKA_TOPIC', { kind: 'string' });
  if (brokers.length === 0 && !topic) return undefined;
  if (brokers.length === 0)
    throw new ConfigError(
      'BUCKETFLOW_SOURCE_KAFKA_BROKERS',
      'required with BUCKETFLOW_SOURCE_KAFKA_TOPIC (host:port, comma-separated)',
    );
  if (!topic) throw new ConfigError('BUCKETFLOW_SOURCE_KAFKA_TOPIC', 'required with BUCKETFLOW_SOURCE_KAFKA_BROKERS');
  return {
    brokers,
    topic,
    group: envSetting(env, 'BUCKETFLOW_SOURCE_KAFKA_GROUP', { kind: 'string', default: 'bucketflow' }),
  };
}
