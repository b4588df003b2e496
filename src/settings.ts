// Process-wide settings read from the environment, with local defaults; one place so every entry point agrees.
import path from 'node:path';
import { parseBool } from './config/params';
import { loadTemporalConnection, type TemporalConnectionSettings } from './temporal-connection';

/** The Temporal connection (address, namespace, TLS, API key) comes from src/temporal-connection.ts. */
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
}

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
  };
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
