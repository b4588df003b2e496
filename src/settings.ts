// Process-wide settings read from the environment, with local defaults: every BUCKETFLOW_* variable is read
// here, once per entry point (loadSettings), and the parts are passed down to what uses them.
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';
import { ConfigError, parseBool } from './config/params';
import { EVENT_SOURCES, type EventSource } from './events/sources';
import type { LogLevel } from './telemetry/log';
import { loadTemporalConnection, type TemporalConnectionSettings } from './config/temporal-settings';

/** The Temporal connection (address, namespace, TLS, API key) comes from src/temporal/connection.ts. */
export interface Settings extends TemporalConnectionSettings {
  taskQueue: string;
  /** MinIO config.json (or its `notify` section); unset = targets from MINIO_NOTIFY_* env vars only. */
  configFile: string | undefined;
  /** Embedded rules store and other local state. */
  dataDir: string;
  /** When set, bucket rules live in PostgreSQL so several workers share them. */
  rulesPostgresUrl: string | undefined;
  /** Deliver through the fast path (deliverEventV2); `BUCKETFLOW_FAST_PATH=off` starts the first version instead. */
  fastPath: boolean;
  /** `npm run worker` also serves the HTTP ingest, starting deliveries eagerly on this worker. */
  ingestInWorker: boolean;
  /** The Temporal Web UI, for links (`deliveries show`); default: the dev server's, gRPC port + 1000. */
  temporalUiUrl: string;
  logLevel: LogLevel;
  tuning: WorkerTuning;
  /** Admission control: deliveries a worker holds before its ingest answers 503 (`BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES`, 0 = no bound). */
  maxInFlightDeliveries: number;
  ingest: IngestSettings;
  metrics: MetricsSettings;
  health: HealthSettings;
  /** BUCKETFLOW_SOURCE_KAFKA_*: the worker consumes this topic (the volume path); unset = no Kafka source. */
  kafkaSource: KafkaSourceSettings | undefined;
}

export interface KafkaSourceSettings {
  brokers: string[];
  topic: string;
  group: string;
}

export type WorkerTuning = Pick<
  WorkerOptions,
  'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentLocalActivityExecutions' | 'maxCachedWorkflows'
>;

export interface IngestSettings {
  host: string;
  port: number;
  authToken?: string;
  sourceTokens: Partial<Record<EventSource, string>>;
  /** Sources accepted without a token although tokens are set (`BUCKETFLOW_INGEST_OPEN_SOURCES`): auth fails closed otherwise. */
  openSources: EventSource[];
  bodyLimitBytes: number;
  maxRecords: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  sns: { origins: string[]; topics: string[] };
}

export interface MetricsSettings {
  host: string;
  /** Unset: no metrics endpoint. */
  port: number | undefined;
  /** Where the Temporal SDK's exporter listens (default: port + 1), appended to /metrics. */
  sdkAddress: string | undefined;
}

export interface HealthSettings {
  host: string;
  /** undefined = no health server; 0 = any free port. */
  port: number | undefined;
}

export const DEFAULT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_RECORDS = 1_000;
/** Deliveries a worker holds in its fast path at once: ~1 MB each at most, so a burst stays well inside 300 MB. */
export const DEFAULT_MAX_IN_FLIGHT_DELIVERIES = 256;
const LOG_LEVELS: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    ...loadTemporalConnection(env),
    taskQueue: env.BUCKETFLOW_TASK_QUEUE || 'bucketflow',
    configFile: env.BUCKETFLOW_CONFIG || undefined,
    dataDir: path.resolve(env.BUCKETFLOW_DATA_DIR || '.data'),
    rulesPostgresUrl: env.BUCKETFLOW_RULES_POSTGRES_URL || undefined,
    fastPath: flag(env, 'BUCKETFLOW_FAST_PATH', true),
    ingestInWorker: flag(env, 'BUCKETFLOW_INGEST', false),
    temporalUiUrl: (env.TEMPORAL_UI_URL || devServerUi(env.TEMPORAL_ADDRESS || '127.0.0.1:7233')).replace(/\/+$/, ''),
    logLevel: logLevel(env),
    tuning: workerTuning(env),
    maxInFlightDeliveries: positiveInt(env, 'BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES', DEFAULT_MAX_IN_FLIGHT_DELIVERIES, 0),
    ingest: ingestSettings(env),
    metrics: metricsSettings(env),
    kafkaSource: kafkaSourceSettings(env),
    health: healthSettings(env),
  };
}

function logLevel(env: NodeJS.ProcessEnv): LogLevel {
  const level = (env.BUCKETFLOW_LOG_LEVEL?.trim() || 'INFO').toUpperCase() as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new ConfigError('BUCKETFLOW_LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

export function workerTuning(env: NodeJS.ProcessEnv): WorkerTuning {
  const int = (name: string) => (env[name] ? positiveInt(env, name, 0) : undefined);
  return {
    maxConcurrentActivityTaskExecutions: int('BUCKETFLOW_MAX_CONCURRENT_ACTIVITIES') ?? 200,
    maxConcurrentLocalActivityExecutions: int('BUCKETFLOW_MAX_CONCURRENT_LOCAL_ACTIVITIES') ?? 200,
    maxConcurrentWorkflowTaskExecutions: int('BUCKETFLOW_MAX_CONCURRENT_WORKFLOW_TASKS') ?? 100,
    maxCachedWorkflows: int('BUCKETFLOW_MAX_CACHED_WORKFLOWS'),
  };
}

/** `BUCKETFLOW_INGEST_AUTH_TOKEN_<SOURCE>`: MINIO, CEPH, AWS_S3, AWS_SNS, AWS_EVENTBRIDGE. */
export function sourceTokenVariable(source: EventSource): string {
  return `BUCKETFLOW_INGEST_AUTH_TOKEN_${source.toUpperCase().replace(/-/g, '_')}`;
}

export function ingestSettings(env: NodeJS.ProcessEnv): IngestSettings {
  const tlsCertFile = env.BUCKETFLOW_INGEST_TLS_CERT || undefined;
  const tlsKeyFile = env.BUCKETFLOW_INGEST_TLS_KEY || undefined;
  if (Boolean(tlsCertFile) !== Boolean(tlsKeyFile)) {
    throw new Error(tlsCertFile ? 'BUCKETFLOW_INGEST_TLS_KEY: required with BUCKETFLOW_INGEST_TLS_CERT' : 'BUCKETFLOW_INGEST_TLS_CERT: required with BUCKETFLOW_INGEST_TLS_KEY');
  }
  const sourceTokens: Partial<Record<EventSource, string>> = {};
  for (const source of EVENT_SOURCES) {
    const token = env[sourceTokenVariable(source)];
    if (token) sourceTokens[source] = token;
  }
  const openSources = list(env.BUCKETFLOW_INGEST_OPEN_SOURCES).map((name) => {
    const source = EVENT_SOURCES.find((known) => known === name.toLowerCase());
    if (!source) throw new ConfigError('BUCKETFLOW_INGEST_OPEN_SOURCES', `unknown source "${name}" (expected ${EVENT_SOURCES.join(', ')})`);
    if (sourceTokens[source]) throw new ConfigError('BUCKETFLOW_INGEST_OPEN_SOURCES', `${source} has a token of its own (${sourceTokenVariable(source)}): open it or give it a token, not both`);
    return source;
  });
  return {
    host: env.BUCKETFLOW_INGEST_HOST || '127.0.0.1',
    port: positiveInt(env, 'BUCKETFLOW_INGEST_PORT', 9400, 0),
    authToken: env.BUCKETFLOW_INGEST_AUTH_TOKEN || undefined,
    sourceTokens,
    openSources,
    bodyLimitBytes: positiveInt(env, 'BUCKETFLOW_INGEST_MAX_BODY_BYTES', DEFAULT_BODY_LIMIT_BYTES),
    maxRecords: positiveInt(env, 'BUCKETFLOW_INGEST_MAX_RECORDS', DEFAULT_MAX_RECORDS),
    tlsCertFile,
    tlsKeyFile,
    sns: { origins: list(env.BUCKETFLOW_INGEST_SNS_ORIGINS), topics: list(env.BUCKETFLOW_INGEST_SNS_TOPICS) },
  };
}

export function metricsSettings(env: NodeJS.ProcessEnv): MetricsSettings {
  const host = env.BUCKETFLOW_METRICS_HOST || '127.0.0.1';
  const port = optionalPort(env, 'BUCKETFLOW_METRICS_PORT');
  const sdkPort = optionalPort(env, 'BUCKETFLOW_SDK_METRICS_PORT') ?? (port && port + 1);
  return { host, port, sdkAddress: sdkPort ? `${host}:${sdkPort}` : undefined };
}

export function healthSettings(env: NodeJS.ProcessEnv): HealthSettings {
  return { host: env.BUCKETFLOW_HEALTH_HOST || '127.0.0.1', port: optionalPort(env, 'BUCKETFLOW_HEALTH_PORT') };
}

/** A port that switches a server on; unset or empty = off. */
function optionalPort(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  if (text && !/^\d+$/.test(text)) throw new ConfigError(name, `expected a port number, got "${text}"`);
  return text ? Number(text) : undefined;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new Error(`${name}: expected an integer of at least ${min}, got "${text}"`);
  return Number(text);
}

function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((item) => item.trim()).filter(Boolean);
}

function devServerUi(address: string): string {
  const at = address.lastIndexOf(':');
  return `http://${address.slice(0, at)}:${Number(address.slice(at + 1)) + 1000}`;
}

/** An on/off switch; unset or empty keeps the default. */
function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = env[name]?.trim();
  return value ? parseBool(value, name) : fallback;
}

function kafkaSourceSettings(env: NodeJS.ProcessEnv): KafkaSourceSettings | undefined {
  const brokers = (env.BUCKETFLOW_SOURCE_KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  const topic = env.BUCKETFLOW_SOURCE_KAFKA_TOPIC?.trim();
  if (brokers.length === 0 && !topic) return undefined;
  if (brokers.length === 0) throw new ConfigError('BUCKETFLOW_SOURCE_KAFKA_BROKERS', 'required with BUCKETFLOW_SOURCE_KAFKA_TOPIC (host:port, comma-separated)');
  if (!topic) throw new ConfigError('BUCKETFLOW_SOURCE_KAFKA_TOPIC', 'required with BUCKETFLOW_SOURCE_KAFKA_BROKERS');
  for (const broker of brokers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(broker)) throw new ConfigError('BUCKETFLOW_SOURCE_KAFKA_BROKERS', `"${broker}" is not host:port`);
  }
  return { brokers, topic, group: env.BUCKETFLOW_SOURCE_KAFKA_GROUP?.trim() || 'bucketflow' };
}
