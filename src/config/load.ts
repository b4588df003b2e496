// Loads the targets from MinIO's config.json (whole, its `notify` section, or the guide's blocks pasted
// as written) and MINIO_NOTIFY_<TYPE>_<PARAM>[_<ID>] env vars, which override the file.
import { readFileSync } from 'node:fs';
import { errorMessage } from '../errors';
import { TARGET_TYPES, UNSUPPORTED_MINIO_TYPES, formatArn, isTargetType, type TargetType } from './arn';
import { checkDeadLetters } from './dead-letters';
import { envSettings } from './env';
import { flattenLegacy } from './legacy';
import { ConfigError, checkRequired, inputNames, isEnabledValue, normalize, withArn, type ParamSpec } from './params';
import { TARGET_PARAMS, TARGET_RULES, type TargetEntry } from './targets';

/** The region of the guide's ARNs (arn:minio:sqs:us-east-1:1:amqp). */
export const DEFAULT_REGION = 'us-east-1';

export interface LoadOptions {
  file?: string;
  text?: string;
  env?: NodeJS.ProcessEnv;
  region?: string;
}

export interface LoadedTargets {
  region: string;
  targets: TargetEntry[];
}

type RawTargets = Map<TargetType, Map<string, Record<string, unknown>>>;

export function loadTargetsConfig(options: LoadOptions = {}): LoadedTargets {
  const env = options.env ?? process.env;
  const text = options.text ?? (options.file ? readConfigFile(options.file) : '');
  const parsed = text.trim() ? parseLenientJson(text) : {};
  const region = options.region ?? (env.MINIO_SITE_REGION || env.MINIO_REGION || regionOf(parsed) || DEFAULT_REGION);

  const raw = rawTargetsFrom(notifySection(parsed), region);
  applyEnv(raw, env);
  const targets: TargetEntry[] = [];
  for (const type of TARGET_TYPES) {
    for (const [id, params] of raw.get(type) ?? []) targets.push(entryFor(type, id, params, region));
  }
  checkDeadLetters(targets);
  return { region, targets };
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read config file (${errorMessage(err)})`);
  }
}

/**
 * JSON as people paste it from the guide: a bare `"amqp": {...}` fragment, trailing commas, and braces
 * left unclosed at the end (the guide's webhook block) are accepted. Text inside strings is never changed.
 */
export function parseLenientJson(text: string): Record<string, unknown> {
  let body = text.trim();
  if (body.startsWith('"')) body = `{${body}}`;
  try {
    const value = JSON.parse(repairJson(body));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected an object');
    return value;
  } catch (err) {
    throw new ConfigError('config', `not valid JSON (${errorMessage(err)})`);
  }
}

/** Drops commas before `}`/`]` or at the end, and closes what is still open at the end. */
function repairJson(body: string): string {
  const closers: string[] = [];
  let out = '';
  let pendingComma = ''; // a comma (and the blanks after it) kept until we know what follows
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (pendingComma && /\s/.test(c)) {
      pendingComma += c;
      continue;
    }
    if (pendingComma) {
      out += c === '}' || c === ']' ? pendingComma.slice(1) : pendingComma;
      pendingComma = '';
    }
    if (c === '"') {
      const end = stringEnd(body, i);
      out += body.slice(i, end);
      i = end - 1;
    } else if (c === ',') pendingComma = c;
    else {
      if (c === '{' || c === '[') closers.push(c === '{' ? '}' : ']');
      else if (c === '}' || c === ']') closers.pop();
      out += c;
    }
  }
  return out + closers.reverse().join('');
}

/** The index just past the string literal starting at `start` (or the end of an unterminated one). */
function stringEnd(body: string, start: number): number {
  for (let i = start + 1; i < body.length; i++) {
    if (body[i] === '\\') i++;
    else if (body[i] === '"') return i + 1;
  }
  return body.length;
}

function regionOf(parsed: Record<string, unknown>): string | undefined {
  const region = parsed.region;
  if (typeof region === 'string') return region;
  if (region && typeof region === 'object' && typeof (region as { name?: unknown }).name === 'string') {
    return (region as { name: string }).name;
  }
  return undefined;
}

function notifySection(parsed: Record<string, unknown>): Record<string, unknown> {
  if (parsed.notify === undefined) {
    const { region: _region, version: _version, ...rest } = parsed;
    return rest;
  }
  if (typeof parsed.notify !== 'object' || parsed.notify === null)
    throw new ConfigError('notify', 'expected an object');
  return parsed.notify as Record<string, unknown>;
}

function rawTargetsFrom(notify: Record<string, unknown>, region: string): RawTargets {
  const raw: RawTargets = new Map();
  for (const [type, byId] of Object.entries(notify)) {
    if (typeof byId !== 'object' || byId === null || Array.isArray(byId)) {
      throw new ConfigError(`notify.${type}`, 'expected an object of targets by id');
    }
    if (!isTargetType(type)) {
      // A whole MinIO config.json lists every type MinIO knows (nsq, ...), disabled: that is harmless.
      const enabled = Object.values(byId).some((params) =>
        isEnabledValue((params as { enable?: unknown } | null)?.enable),
      );
      if (enabled || !UNSUPPORTED_MINIO_TYPES.includes(type))
        throw new ConfigError(`notify.${type}`, 'target type not supported');
      continue;
    }
    const targets = new Map<string, Record<string, unknown>>();
    for (const [id, params] of Object.entries(byId)) {
      if (typeof params !== 'object' || params === null || Array.isArray(params)) {
        throw new ConfigError(`notify.${type}.${id}`, 'expected an object of parameters');
      }
      const at = `notify.${type}.${id}`;
      targets.set(
        id,
        withArn(formatArn({ region, id, type }), () => flattenLegacy(type, params as Record<string, unknown>, at)),
      );
    }
    raw.set(type, targets);
  }
  return raw;
}

/** Env settings replace the file's value of the same parameter, whichever spelling the file used. */
function applyEnv(raw: RawTargets, env: NodeJS.ProcessEnv): void {
  for (const { type, id, param, value } of envSettings(env)) {
    const fieldOf = inputNames(TARGET_PARAMS[type] as Record<string, ParamSpec>);
    const targets = raw.get(type) ?? new Map<string, Record<string, unknown>>();
    raw.set(type, targets);
    const params = targets.get(id) ?? {};
    targets.set(id, params);
    for (const key of Object.keys(params))
      if (fieldOf.get(key.toLowerCase()) === fieldOf.get(param)) delete params[key];
    params[param] = value;
  }
}

function entryFor(type: TargetType, id: string, params: Record<string, unknown>, region: string): TargetEntry {
  const at = `notify.${type}.${id}`;
  const arn = formatArn({ region, id, type });
  const specs = TARGET_PARAMS[type] as Record<string, ParamSpec>;
  return withArn(arn, () => {
    const config = normalize(specs, params, at) as Record<string, unknown>;
    const enabled = config.enable === true;
    if (enabled) {
      checkRequired(specs, config, at);
      checkRules(type, specs, config, at);
    }
    return { arn, type, id, enabled, config } as unknown as TargetEntry;
  });
}

/** The type's rules; a parameter they name is reported with its config path (`notify.<type>.<id>.<param>`). */
function checkRules(
  type: TargetType,
  specs: Record<string, ParamSpec>,
  config: Record<string, unknown>,
  at: string,
): void {
  try {
    (TARGET_RULES[type] as (config: unknown) => void)(config);
  } catch (err) {
    if (err instanceof ConfigError && !err.arn)
      throw new ConfigError(`${at}.${specs[err.field]?.input ?? err.field}`, err.problem);
    throw err;
  }
}
