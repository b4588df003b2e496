// Where the state every worker shares lives: the bucket rules, each target's pause and circuit, the workers' sent
// log, the scan sources' definitions, listings and delivered states; in files under the data dir (one machine) or
// in PostgreSQL (several machines).
import type { Settings } from '../settings';
import { PostgresStateStore } from './postgres-store';
import { FileStateStore, type StateStore } from './store';

export * from './scans';
export * from './delivered-recorder';
export * from './scan-files';
export * from './scan-postgres';
export * from './sent-log';
export * from './postgres-store';
export * from './store';
export * from './target-state';

/** PostgreSQL when BUCKETFLOW_RULES_POSTGRES_URL is set (several machines), else the embedded file store. */
export function openStateStore(settings: Pick<Settings, 'dataDir' | 'rulesPostgresUrl'>): StateStore {
  return settings.rulesPostgresUrl
    ? new PostgresStateStore(settings.rulesPostgresUrl)
    : new FileStateStore(settings.dataDir);
}
