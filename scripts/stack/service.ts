// What each service of the stack provides to the runner (`up`, `down`, `status`).
import type { LaunchSpec } from './processes';
import type { RunAs } from './user';

export interface Service {
  name: string;
  /** Where clients connect, as shown in the status table. */
  endpoint: string;
  /** How long a fresh start may take before `up` gives up on it. */
  startTimeoutMs: number;
  /** Started only when named (`up temporal-cluster`), never by a bare `up` (so neither by `npm test` nor CI). */
  optIn?: boolean;
  /** Services this one needs answering before it installs and starts; `up` brings them up alongside it. */
  requires?: Service[];
  /** Signal for a clean shutdown (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** Installs the server if missing (idempotent; resumes an interrupted install). */
  install(): Promise<void>;
  /** Writes config and initialises data once, and says how to run the server in the foreground. */
  prepare(runAs: RunAs | undefined): Promise<Omit<LaunchSpec, 'runAs'>>;
  /** A real protocol round trip with the project's endpoint and credentials; resolves to the version. */
  probe(): Promise<string>;
  /** Setup on an instance the stack just started, before `probe` can pass (e.g. create the login). */
  bootstrap?(): Promise<void>;
  /** Idempotent setup on any answering instance, the stack's own or one it reuses. */
  provision?(): Promise<void>;
}
