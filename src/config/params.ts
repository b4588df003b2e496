// A tiny declarative schema: each target type declares its parameters once (kind, default, required,
// secret, accepted spellings) and one function validates and normalizes any input against it. The process
// settings (src/settings/index.ts, src/settings/temporal.ts) parse every environment variable through the
// same specs (envSetting), so a bad value is always one ConfigError line naming the variable.
export type ParamKind = 'string' | 'bool' | 'int' | 'number' | 'duration' | 'list' | 'port';

export interface ParamSpec {
  kind: ParamKind;
  default?: string | boolean | number | string[];
  required?: boolean;
  secret?: boolean;
  /** Other accepted input names: the guide's camelCase, MinIO's older names. */
  aliases?: string[];
  /** The input name when it differs from the field (`timeout` -> `timeout_ms`). */
  input?: string;
  oneOf?: ReadonlyArray<string | number>;
  /** Smallest accepted number. */
  min?: number;
  /** Largest accepted number. */
  max?: number;
  /** A format rule of the parameter's own; returns the problem, or undefined when the value is fine. */
  check?: (value: never) => string | undefined;
}

export type ParamSpecs<T> = { [K in keyof T]-?: ParamSpec };

export class ConfigError extends Error {
  /** `arn`, when known, names the target the field belongs to. */
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly arn?: string,
  ) {
    super(`${arn ? `${arn}: ` : ''}${field}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Runs `check`; a ConfigError it throws is rethrown naming the target's ARN too. */
export function withArn<T>(arn: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ConfigError && !err.arn) throw new ConfigError(err.field, err.problem, arn);
    throw err;
  }
}

const DEFAULTS: Record<ParamKind, string | boolean | number | string[]> = {
  string: '',
  bool: false,
  int: 0,
  number: 0,
  duration: 0,
  list: [],
  port: 0,
};

/** The JS value a kind of parameter parses to. */
export type ParamValue<K extends ParamKind> = K extends 'bool'
  ? boolean
  : K extends 'list'
    ? string[]
    : K extends 'string'
      ? string
      : number;

/**
 * One environment variable, parsed against its spec: unset or empty (after trimming) takes the spec's
 * default; a bad value is a ConfigError naming the variable and quoting the value (unless it is secret).
 */
export function envSetting<K extends ParamKind>(
  env: NodeJS.ProcessEnv,
  name: string,
  spec: ParamSpec & { kind: K; default: ParamValue<K> },
): ParamValue<K>;
export function envSetting<K extends ParamKind>(
  env: NodeJS.ProcessEnv,
  name: string,
  spec: ParamSpec & { kind: K },
): ParamValue<K> | undefined;
export function envSetting(env: NodeJS.ProcessEnv, name: string, spec: ParamSpec): unknown {
  const text = env[name]?.trim();
  if (!text) return spec.default;
  try {
    return coerce(spec, text, name);
  } catch (err) {
    if (err instanceof ConfigError && !spec.secret) throw new ConfigError(name, `${err.problem}, got "${text}"`);
    throw err;
  }
}

/** Every input spelling -> the field it sets. */
export function inputNames(specs: Record<string, ParamSpec>): Map<string, string> {
  const names = new Map<string, string>();
  for (const [field, spec] of Object.entries(specs)) {
    for (const name of [spec.input ?? field, ...(spec.aliases ?? [])]) names.set(name.toLowerCase(), field);
  }
  return names;
}

/** Validates raw key/values (file or env) against the specs; errors name `<at>.<input key>`. */
export function normalize<T>(specs: ParamSpecs<T>, raw: Record<string, unknown>, at: string): T {
  const byInput = inputNames(specs as Record<string, ParamSpec>);
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const field = byInput.get(key.toLowerCase());
    if (!field) throw new ConfigError(`${at}.${key}`, 'unknown parameter');
    values[field] = coerce((specs as Record<string, ParamSpec>)[field], value, `${at}.${key}`);
  }
  for (const [field, spec] of Object.entries(specs as Record<string, ParamSpec>)) {
    if (values[field] === undefined) values[field] = spec.default ?? DEFAULTS[spec.kind];
  }
  return values as T;
}

/** Required parameters are checked only for enabled targets, as MinIO does. */
export function checkRequired(specs: Record<string, ParamSpec>, values: Record<string, unknown>, at: string): void {
  for (const [field, spec] of Object.entries(specs)) {
    const value = values[field];
    const empty = value === '' || value === undefined || (Array.isArray(value) && value.length === 0);
    if (spec.required && empty) throw new ConfigError(`${at}.${spec.input ?? field}`, 'required');
  }
}

// MinIO's spellings of booleans (env vars and `mc admin config` write on/off).
const TRUE = /^(on|true|yes|1)$/i;
const FALSE = /^(off|false|no|0|)$/i;

/** A boolean as MinIO writes one (true/false, on/off, yes/no, 1/0); `at` names the field in the error. */
export function parseBool(value: unknown, at: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && TRUE.test(value)) return true;
  if (typeof value === 'string' && FALSE.test(value)) return false;
  throw new ConfigError(at, 'expected a boolean (true/false/on/off)');
}

/** Whether an `enable` value turns a target on (true, "on", "true", ...). */
export function isEnabledValue(value: unknown): boolean {
  return value === true || (typeof value === 'string' && TRUE.test(value.trim()));
}

function coerce(spec: ParamSpec, value: unknown, at: string): unknown {
  const result = coerceKind(spec.kind, value, at);
  if (spec.oneOf && result !== '' && !spec.oneOf.includes(result as string | number)) {
    throw new ConfigError(at, `expected one of ${spec.oneOf.join(', ')}`);
  }
  if (spec.min !== undefined && (result as number) < spec.min)
    throw new ConfigError(at, `expected at least ${spec.min}`);
  if (spec.max !== undefined && (result as number) > spec.max)
    throw new ConfigError(at, `expected at most ${spec.max}`);
  const problem = result === '' ? undefined : spec.check?.(result as never);
  if (problem) throw new ConfigError(at, problem);
  return result;
}

function coerceKind(kind: ParamKind, value: unknown, at: string): unknown {
  switch (kind) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      throw new ConfigError(at, 'expected a string');
    case 'bool':
      return parseBool(value, at);
    case 'int':
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n === 'number' && (kind === 'number' ? Number.isFinite(n) : Number.isInteger(n))) return n;
      throw new ConfigError(at, kind === 'int' ? 'expected an integer' : 'expected a number');
    }
    case 'duration':
      return parseDuration(value, at);
    case 'port': {
      const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65_535) return n;
      throw new ConfigError(at, 'expected a port number');
    }
    case 'list':
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      if (typeof value === 'string')
        return value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean);
      throw new ConfigError(at, 'expected a list of strings');
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Go-style durations ("500ms", "1m30s", "24h") or a number of milliseconds. */
export function parseDuration(value: unknown, at: string): number {
  if (typeof value === 'number' && value >= 0) return value;
  if (typeof value === 'string' && /^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value.trim())) {
    let total = 0;
    for (const [, amount, , unit] of value.trim().matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g))
      total += Number(amount) * UNIT_MS[unit];
    return total;
  }
  throw new ConfigError(at, 'expected a duration such as "500ms", "10s", "5m" or "24h"');
}
