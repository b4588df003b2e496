// Operator state of targets, kept beside the bucket rules so every worker sees it: paused targets, and
// each worker's circuit breakers (published for `bucketflow targets health`).

export interface CircuitRecord {
  state: 'open' | 'closed';
  /** ISO time of the last transition. */
  since: string;
  /** Consecutive failed sends that opened it. */
  failures: number;
  lastError?: string;
}

export interface TargetStateRecord {
  paused?: { since: string };
  /** By worker identity (host:pid). */
  circuits?: Record<string, CircuitRecord>;
}

export interface TargetStateStore {
  targetStates(): Promise<Record<string, TargetStateRecord>>;
  /** Pauses or resumes a target; false when it already was in that state. */
  setPaused(arn: string, paused: boolean): Promise<boolean>;
  /** Records (or, with undefined, forgets) one worker's circuit for a target. */
  setCircuit(arn: string, worker: string, circuit: CircuitRecord | undefined): Promise<void>;
}

/** The in-file form (one JSON object by ARN), shared by the file store's read-modify-write. */
export function withPaused(
  states: Record<string, TargetStateRecord>,
  arn: string,
  paused: boolean,
  now = new Date(),
): Record<string, TargetStateRecord> {
  const current = stateOf(states, arn);
  const next = { ...current };
  if (paused) next.paused = current.paused ?? { since: now.toISOString() };
  else delete next.paused;
  return { ...states, [arn]: next };
}

export function withCircuit(
  states: Record<string, TargetStateRecord>,
  arn: string,
  worker: string,
  circuit: CircuitRecord | undefined,
): Record<string, TargetStateRecord> {
  const current = stateOf(states, arn);
  const circuits: Record<string, CircuitRecord> = Object.assign(Object.create(null), current.circuits);
  if (circuit) circuits[worker] = circuit;
  else delete circuits[worker];
  return { ...states, [arn]: { ...current, circuits } };
}

/** A target's state, read as an own key only (ARNs and worker names are data, never Object.prototype's names). */
export function stateOf(states: Record<string, TargetStateRecord>, arn: string): TargetStateRecord {
  return Object.hasOwn(states, arn) ? states[arn] : {};
}
