import type { Settings } from '../settings';
import { PostgresRulesStore } from './postgres-store';
import { FileRulesStore, type RulesStore } from './store';

export * from './rules';
export * from './sent-log';
export * from './postgres-store';
export * from './store';
export * from './target-state';
export * from './xml';

/** PostgreSQL when BUCKETFLOW_RULES_POSTGRES_URL is set (several machines), else the embedded file store. */
export function openRulesStore(settings: Pick<Settings, 'dataDir' | 'rulesPostgresUrl'>): RulesStore {
  return settings.rulesPostgresUrl ? new PostgresRulesStore(settings.rulesPostgresUrl) : new FileRulesStore(settings.dataDir);
}
