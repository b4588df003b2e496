// Whether a send to a target may go now, per worker: an operator's pause (shared through the rules store),
// the worker's circuit breaker (after N consecutive failures the target is probed with its health check
// instead of being sent every pending event), and the target's `max_rate` (events/s across the worker's
// activities). The deliver activity asks before every send; how this meets retries: docs/operations.md.
import { hostname } from 'node:os';
import type { TargetEntry } from '../config/targets';
import { TargetHeld, type HoldReason } from '../delivery/failure';
import { log } from '../telemetry/log';
import { metrics } from '../telemetry/metrics';
import type { CircuitRecord, TargetStateStore } from '../state/target-state';
import type { Health } from './target';

export interface AdmitOptions {
  /** How long to wait for a pause to be lifted or a circuit to close before throwing TargetHeld. */
  maxWaitMs: number;
  /** How long to wait for a rate-limit slot. */
  maxRateWaitMs: number;
  /** Sleeps, rejecting if the caller is cancelled (Context.sleep in a regular activity). */
  sleep?: (ms: number) => Promise<void>;
}

/** What the gate did, for metrics. */
export interface GateObserver {
  circuitChanged?(arn: string, state: CircuitRecord['state']): void;
  rateWaited?(arn: string, ms: number): void;
  held?(arn: string, reason: HoldReason): void;
}

interface Limits {
  maxRate: number;
  threshold: number;
  probeIntervalMs: number;
}

interface Circuit extends CircuitRecord {
  probe?: NodeJS.Timeout;
}

const PAUSE_CACHE_MS = 1_000;
const POLL_MS = 1_000;
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class TargetGate {
  readonly worker = `${hostname()}:${process.pid}`;
  /** How long the regular deliver activity waits for a held target per attempt (within its 2-minute timeout). */
  durableWaitMs = 90_000;
  private readonly limits = new Map<string, Limits>();
  private readonly circuits = new Map<string, Circuit>();
  /** The next free send slot per rate-limited ARN (a virtual schedule: each send reserves 1/max_rate s). */
  private readonly nextSlot = new Map<string, number>();
  private paused: { at: number; arns: Set<string> } | undefined;
  private loading: Promise<Set<string>> | undefined;

  constructor(
    private readonly store: TargetStateStore,
    entries: TargetEntry[],
    private readonly health: (arn: string) => Promise<Health>,
    private readonly observer: GateObserver = {},
  ) {
    for (const { arn, config } of entries) {
      this.limits.set(arn, {
        maxRate: config.max_rate,
        threshold: config.circuit_threshold,
        probeIntervalMs: config.circuit_probe_interval_ms,
      });
    }
  }

  /** Resolves when a send may go now; throws TargetHeld once the caller's wait budget is spent. */
  async admit(arn: string, options: AdmitOptions): Promise<void> {
    const sleep = options.sleep ?? delay;
    const deadline = Date.now() + options.maxWaitMs;
    for (;;) {
      const reason: HoldReason | undefined = (await this.pausedArns()).has(arn)
        ? 'paused'
        : this.circuits.get(arn)?.state === 'open'
          ? 'circuit open'
          : undefined;
      if (!reason) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.observer.held?.(arn, reason);
        throw new TargetHeld(arn, reason);
      }
      await sleep(Math.min(POLL_MS, left));
    }
    await this.rateSlot(arn, options.maxRateWaitMs, sleep);
  }

  /** Reserves the next send slot of a rate-limited target and waits for it, or throws if it is too far off. */
  private async rateSlot(arn: string, maxWaitMs: number, sleep: (ms: number) => Promise<void>): Promise<void> {
    const maxRate = this.limits.get(arn)?.maxRate ?? 0;
    if (maxRate <= 0) return;
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot.get(arn) ?? 0);
    const wait = slot - now;
    if (wait > maxWaitMs) {
      this.observer.held?.(arn, 'rate limited');
      throw new TargetHeld(arn, 'rate limited');
    }
    this.nextSlot.set(arn, slot + 1000 / maxRate);
    if (wait > 0) {
      this.observer.rateWaited?.(arn, wait);
      await sleep(wait);
    }
  }

  succeeded(arn: string): void {
    const circuit = this.circuits.get(arn);
    if (!circuit) return;
    circuit.failures = 0;
    if (circuit.state === 'open') this.closeCircuit(arn, circuit);
  }

  /** A send failed (not permanently): N in a row open the circuit. */
  failed(arn: string, error: string): void {
    const threshold = this.limits.get(arn)?.threshold ?? 0;
    if (threshold <= 0) return;
    let circuit = this.circuits.get(arn);
    if (!circuit) this.circuits.set(arn, (circuit = { state: 'closed', since: new Date().toISOString(), failures: 0 }));
    circuit.failures++;
    circuit.lastError = error;
    if (circuit.state === 'closed' && circuit.failures >= threshold) this.openCircuit(arn, circuit);
  }

  circuitOf(arn: string): CircuitRecord | undefined {
    const circuit = this.circuits.get(arn);
    return (
      circuit && {
        state: circuit.state,
        since: circuit.since,
        failures: circuit.failures,
        lastError: circuit.lastError,
      }
    );
  }

  /** Stops the probes and withdraws this worker's circuits from the store. */
  async close(): Promise<void> {
    for (const [arn, circuit] of this.circuits) {
      clearInterval(circuit.probe);
      await this.store.setCircuit(arn, this.worker, undefined).catch(() => {});
    }
    this.circuits.clear();
  }

  private openCircuit(arn: string, circuit: Circuit): void {
    circuit.state = 'open';
    circuit.since = new Date().toISOString();
    log('WARN', 'circuit opened: probing the target instead of sending', {
      arn,
      failures: circuit.failures,
      error: circuit.lastError,
    });
    this.publish(arn, circuit);
    let probing = false;
    circuit.probe = setInterval(() => {
      if (probing) return;
      probing = true;
      this.health(arn)
        .then((health) => {
          if (health.online && circuit.state === 'open') this.closeCircuit(arn, circuit);
        })
        .catch(() => {})
        .finally(() => (probing = false));
    }, this.limits.get(arn)!.probeIntervalMs);
    circuit.probe.unref();
  }

  private closeCircuit(arn: string, circuit: Circuit): void {
    clearInterval(circuit.probe);
    circuit.probe = undefined;
    circuit.state = 'closed';
    circuit.failures = 0;
    circuit.since = new Date().toISOString();
    log('INFO', 'circuit closed: the target answers again', { arn });
    this.publish(arn, circuit);
  }

  private publish(arn: string, circuit: Circuit): void {
    this.observer.circuitChanged?.(arn, circuit.state);
    const { probe: _probe, ...record } = circuit;
    this.store
      .setCircuit(arn, this.worker, record)
      .catch((err: Error) => log('WARN', 'could not record circuit state', { arn, error: err.message }));
  }

  /** Paused ARNs from the store, re-read at most once a second (every delivery asks). */
  private async pausedArns(): Promise<Set<string>> {
    if (this.paused && Date.now() - this.paused.at < PAUSE_CACHE_MS) return this.paused.arns;
    this.loading ??= this.store
      .targetStates()
      .then((states) => {
        const arns = new Set(
          Object.entries(states)
            .filter(([, s]) => s.paused)
            .map(([arn]) => arn),
        );
        this.paused = { at: Date.now(), arns };
        return arns;
      })
      .finally(() => (this.loading = undefined));
    return this.loading;
  }
}

/** The gate's decisions as metrics. */
export const gateMetrics: GateObserver = {
  circuitChanged: (arn, state) => metrics.circuitOpen.set({ target: arn }, state === 'open' ? 1 : 0),
  held: (arn, reason) => metrics.held.inc({ target: arn, reason }),
  rateWaited: (arn, ms) => {
    metrics.rateLimitWaits.inc({ target: arn });
    metrics.rateLimitWaitSeconds.inc({ target: arn }, ms / 1000);
  },
};
