// What the activities are built over (dependency injection, as in Temporal's samples): the worker's long-lived
// state store, one shared connection per target, the gate asked before every send, and the per-event continuation.
import type { StateStore } from '../src/state';
import type { TargetGate } from '../src/targets/gate';
import type { RecentSends } from '../src/telemetry/recent-sends';
import type { TargetPool } from '../src/targets/pool';
import type { DeliverInput } from '../src/delivery/types';

export interface ActivityDeps {
  state: StateStore;
  targets: TargetPool;
  /** Pause, circuit breaker and rate limit, asked before every send. */
  gate: TargetGate;
  /**
   * Starts an event's own per-event delivery (deliverEventV3) when a batch could not deliver it to every
   * target; resolves with its workflow id (also when it was already started). Absent: batches cannot run here.
   */
  continueDelivery?: (input: DeliverInput) => Promise<string>;
  /** This worker's last hour of sends, for the status page (unset: not recorded). */
  sends?: RecentSends;
}
