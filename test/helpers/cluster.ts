// The stack's self-hosted Temporal cluster for `npm run test:cluster` (scripts/stack/services/temporal-cluster.ts):
// checks the tests run against it, and takes its service processes down and back the way an outage does
// (deploy/temporal-cluster/run-services.sh restarts an exited service unless a <service>.hold file exists).
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { endpoints } from '../../scripts/stack/endpoints';
import {
  clusterRolePid,
  clusterRunDir,
  runningClusterVisibility,
  temporalCluster,
  type ClusterRole,
  type ClusterVisibility,
} from '../../scripts/stack/services/temporal-cluster';

/** Fails at once, saying how to run them, unless the tests talk to the stack's running cluster. */
export async function requireCluster(visibility: ClusterVisibility): Promise<void> {
  assert.equal(
    endpoints.temporal,
    endpoints.temporalCluster,
    "cluster tests run against the stack's cluster: npm run test:cluster (TEMPORAL_ADDRESS=" +
      endpoints.temporalCluster +
      ')',
  );
  await waitForCluster(30_000); // a service may be restarting after an earlier fault
  assert.equal(
    runningClusterVisibility(),
    visibility,
    `these tests need the cluster with ${visibility} visibility (BUCKETFLOW_TEMPORAL_CLUSTER_VISIBILITY; npm run test:cluster switches it)`,
  );
}

/** The service process's pid; throws if it is not running. */
export function rolePid(role: ClusterRole): number {
  const pid = clusterRolePid(role);
  if (pid === undefined) throw new Error(`temporal-cluster: ${role} is not running`);
  return pid;
}

/** Kills the service with `signal`; with `hold`, it stays down until `release(role)`. Resolves once it is gone. */
export async function killRole(role: ClusterRole, signal: NodeJS.Signals, { hold = false } = {}): Promise<void> {
  if (hold) writeFileSync(path.join(clusterRunDir, `${role}.hold`), '');
  const pid = rolePid(role);
  process.kill(pid, signal);
  for (let i = 0; i < 300 && clusterRolePid(role) === pid; i++) await sleep(100);
  assert.notEqual(clusterRolePid(role), pid, `${role} (pid ${pid}) did not exit on ${signal}`);
}

/** Lets run-services.sh restart a held service. */
export function release(role: ClusterRole): void {
  rmSync(path.join(clusterRunDir, `${role}.hold`), { force: true });
}

/** Waits until the service runs again and the cluster answers a round trip through every service. */
export async function waitForCluster(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await temporalCluster.probe();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}
