// Where bucket rules live. The embedded default is one JSON file under the data dir, written atomically
// and re-read when it changes, so every worker on the machine sees a change without a restart. Bucket names are
// user data: any valid name (`constructor`, `__proto__`, `hasOwnProperty`) is only ever an own key of a
// prototype-less object, never a property inherited from Object.prototype.
import path from 'node:path';
import { errorMessage } from '../errors';
import { JsonFile, keyedByData } from './json-file';
import type { NotificationRule } from '../rules/rules';
import { FileScanStore } from './scan-files';
import type { ScanStore } from './scans';
import { FileSentLog, type SentLog } from './sent-log';
import {
  stateOf,
  withCircuit,
  withPaused,
  type CircuitRecord,
  type TargetStateRecord,
  type TargetStateStore,
} from './target-state';

/** Bucket rules, the operator state of targets (pause, circuits) and the sends, all shared by every worker. */
export interface StateStore extends TargetStateStore {
  /** The log of every worker's sends (src/state/sent-log.ts), in the same home as the rules. */
  sentLog(): SentLog;
  /** The scan sources: their definitions, listings and the delivered states reconciliation reads (src/state/scans.ts).
   * */
  scans(): ScanStore;
  get(bucket: string): Promise<NotificationRule[]>;
  put(bucket: string, rules: NotificationRule[]): Promise<void>;
  remove(bucket: string): Promise<void>;
  buckets(): Promise<string[]>;
  close(): Promise<void>;
}

type RulesByBucket = Record<string, NotificationRule[]>;

export class FileStateStore implements StateStore {
  readonly file: string;
  private readonly rules: JsonFile<RulesByBucket>;
  /** Target state in a file of its own beside rules.json (same atomic writes, re-read when it changes). */
  private readonly states: JsonFile<Record<string, TargetStateRecord>>;
  private readonly scanStore: FileScanStore;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'rules.json');
    this.scanStore = new FileScanStore(dataDir);
    this.rules = new JsonFile(this.file, {}, parseRulesFile);
    this.states = new JsonFile(path.join(dataDir, 'target-state.json'), {}, (text) =>
      keyedByData<TargetStateRecord>(JSON.parse(text)),
    );
  }

  async get(bucket: string): Promise<NotificationRule[]> {
    const all = await this.rules.read();
    return Object.hasOwn(all, bucket) ? all[bucket] : [];
  }

  async put(bucket: string, rules: NotificationRule[]): Promise<void> {
    const all: RulesByBucket = Object.assign(Object.create(null), await this.rules.read());
    if (rules.length === 0) delete all[bucket];
    else all[bucket] = rules;
    await this.rules.write(all);
  }

  async remove(bucket: string): Promise<void> {
    await this.put(bucket, []);
  }

  async buckets(): Promise<string[]> {
    return Object.keys(await this.rules.read()).sort();
  }

  targetStates(): Promise<Record<string, TargetStateRecord>> {
    return this.states.read();
  }

  async setPaused(arn: string, paused: boolean): Promise<boolean> {
    const states = await this.states.read();
    if (Boolean(stateOf(states, arn).paused) === paused) return false;
    await this.states.write(withPaused(states, arn, paused));
    return true;
  }

  async setCircuit(arn: string, worker: string, circuit: CircuitRecord | undefined): Promise<void> {
    await this.states.write(withCircuit(await this.states.read(), arn, worker, circuit));
  }

  sentLog(): SentLog {
    return new FileSentLog(path.dirname(this.file));
  }

  scans(): ScanStore {
    return this.scanStore;
  }

  async close(): Promise<void> {
    await this.scanStore.close();
  }
}

function parseRulesFile(text: string, file: string): RulesByBucket {
  let rules: unknown;
  try {
    rules = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${errorMessage(err)})`);
  }
  const valid =
    typeof rules === 'object' && rules !== null && !Array.isArray(rules) && Object.values(rules).every(Array.isArray);
  if (!valid) throw new Error(`${file}: expected {"<bucket>": [rules...]}`);
  return keyedByData(rules as RulesByBucket);
}
