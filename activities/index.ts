// Activities are built around the worker's long-lived dependencies (dependency injection, as in
// Temporal's samples): the rules store and one shared connection per target.
import type { RulesStore } from '../src/rules';
import type { TargetGate } from '../src/targets/gate';
import type { RecentSends } from '../src/telemetry/recent-sends';
import type { TargetPool } from '../src/targets/pool';
import { deliverToTarget, deliverToTargets } from './deliver';
import { resolveTargets } from './resolve';

export { resolveTargets } from './resolve';

export interface ActivityDeps {
  rules: RulesStore;
  targets: TargetPool;
  /** Pause, circuit breaker and rate limit, asked before every send. */
  gate: TargetGate;
  /** This worker's last hour of sends, for the status page (unset: not recorded). */
  sends?: RecentSends;
}

export function createActivities(deps: ActivityDeps) {
  return {
    resolveTargets: resolveTargets.bind(null, deps),
    deliverToTargets: deliverToTargets.bind(null, deps),
    deliverToTarget: deliverToTarget.bind(null, deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
