import type { Settings } from '../settings';
import { FileRulesStore, type RulesStore } from './store';

export * from './rules';
export * from './store';
export * from './xml';

/** The embedded file store; a PostgreSQL store for several machines is not built yet (issue 3). */
export function openRulesStore(settings: Pick<Settings, 'dataDir' | 'rulesPostgresUrl'>): RulesStore {
  if (settings.rulesPostgresUrl) throw new Error('BUCKETFLOW_RULES_POSTGRES_URL: the PostgreSQL rules store is not available yet');
  return new FileRulesStore(settings.dataDir);
}
