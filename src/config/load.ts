// Loads the targets from MinIO's config.json (whole, its `notify` section, or the guide's blocks pasted
// as written) and MINIO_NOTIFY_<TYPE>_<PARAM>[_<ID>] env vars, which override the file.
import { readFileSync } from 'node:fs';
import { TARGET_TYPES, formatArn, isTargetType, type TargetType } from './arn';
import { ConfigError, checkRequired, inputNames, normalize, type ParamSpec } from './params';
import { TARGET_PARAMS, type TargetEntry } from './targets';

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
  const region = options.region ?? env.MINIO_SITE_REGION ?? env.MINIO_REGION ?? regionOf(parsed) ?? 'us-east-1';

  const raw = rawTargetsFrom(notifySection(parsed));
  applyEnv(raw, env);
  const targets: TargetEntry[] = [];
  for (const type of TARGET_TYPES) {
    for (const [id, params] of raw.get(type) ?? []) targets.push(entryFor(type, id, params, region));
  }
  return { region, targets };
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read config file (${(err as Error).message})`);
  }
}

/**
 * JSON as people paste it from the guide: a bare `"amqp": {...}` fragment, trailing commas, and braces
 * left unclosed at the end (the guide's webhook block) are accepted.
 */
export function parseLenientJson(text: string): Record<string, unknown> {
  let body = text.trim().replace(/,\s*$/, '');
  if (body.startsWith('"')) body = `{${body}}`;
  body = closeBraces(body.replace(/,(\s*[}\]])/g, '$1'));
  try {
    const value = JSON.parse(body);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected an object');
    return value;
  } catch (err) {
    throw new ConfigError('config', `not valid JSON (${(err as Error).message})`);
  }
}

function closeBraces(body: string): string {
  const open: string[] = [];
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') open.push(c === '{' ? '}' : ']');
    else if (c === '}' || c === ']') open.pop();
  }
  return body + open.reverse().join('');
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
  if (typeof parsed.notify !== 'object' || parsed.notify === null) throw new ConfigError('notify', 'expected an object');
  return parsed.notify as Record<string, unknown>;
}

function rawTargetsFrom(notify: Record<string, unknown>): RawTargets {
  const raw: RawTargets = new Map();
  for (const [type, byId] of Object.entries(notify)) {
    if (!isTargetType(type)) throw new ConfigError(`notify.${type}`, 'target type not supported');
    if (typeof byId !== 'object' || byId === null || Array.isArray(byId)) {
      throw new ConfigError(`notify.${type}`, 'expected an object of targets by id');
    }
    const targets = new Map<string, Record<string, unknown>>();
    for (const [id, params] of Object.entries(byId)) {
      if (typeof params !== 'object' || params === null || Array.isArray(params)) {
        throw new ConfigError(`notify.${type}.${id}`, 'expected an object of parameters');
      }
      targets.set(id, { ...(params as Record<string, unknown>) });
    }
    raw.set(type, targets);
  }
  return raw;
}

/** MINIO_NOTIFY_WEBHOOK_ENDPOINT_1=... sets notify.webhook.1.endpoint; without an id suffix, target `_`. */
function applyEnv(raw: RawTargets, env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('MINIO_NOTIFY_') || value === undefined) continue;
    const rest = name.slice('MINIO_NOTIFY_'.length);
    const type = TARGET_TYPES.find((t) => rest.startsWith(`${t.toUpperCase()}_`));
    if (!type) throw new ConfigError(name, 'unknown target type in environment variable');
    const paramPart = rest.slice(type.length + 1);
    const param = [...inputNames(TARGET_PARAMS[type] as Record<string, ParamSpec>).keys()]
      .map((input) => input.toUpperCase())
      .filter((input) => paramPart === input || paramPart.startsWith(`${input}_`))
      .sort((a, b) => b.length - a.length)[0];
    if (!param) throw new ConfigError(name, `unknown parameter for ${type}`);
    const id = paramPart.length > param.length ? paramPart.slice(param.length + 1) : '_';
    const targets = raw.get(type) ?? new Map<string, Record<string, unknown>>();
    raw.set(type, targets);
    const params = targets.get(id) ?? {};
    targets.set(id, params);
    for (const key of Object.keys(params)) if (key.toUpperCase() === param) delete params[key];
    params[param.toLowerCase()] = value;
  }
}

function entryFor(type: TargetType, id: string, params: Record<string, unknown>, region: string): TargetEntry {
  const at = `notify.${type}.${id}`;
  const specs = TARGET_PARAMS[type] as Record<string, ParamSpec>;
  const config = normalize(specs, params, at) as Record<string, unknown>;
  const enabled = config.enable === true;
  if (enabled) {
    checkRequired(specs, config, at);
    checkType(type, config, at);
  }
  return { arn: formatArn({ region, id, type }), type, id, enabled, config } as unknown as TargetEntry;
}

/** Rules that span parameters or need a format check. */
function checkType(type: TargetType, config: Record<string, unknown>, at: string): void {
  if (type === 'webhook') checkUrl(config.endpoint as string, `${at}.endpoint`, ['http:', 'https:']);
  if (type === 'elasticsearch') checkUrl(config.url as string, `${at}.url`, ['http:', 'https:']);
  if (type === 'amqp') checkUrl(config.url as string, `${at}.url`, ['amqp:', 'amqps:']);
  if (type === 'mqtt') checkUrl(config.broker as string, `${at}.broker`, ['tcp:', 'ssl:', 'tls:', 'ws:', 'wss:', 'mqtt:', 'mqtts:']);
  if (type === 'postgresql' && !config.connection_string && !(config.host && config.database)) {
    throw new ConfigError(`${at}.connection_string`, 'required unless host and database are given');
  }
  if (type === 'mysql' && !config.dsn_string && !(config.host && config.database)) {
    throw new ConfigError(`${at}.dsn_string`, 'required unless host and database are given');
  }
}

function checkUrl(value: string, at: string, protocols: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(at, `not a URL: "${value}"`);
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(at, `unsupported scheme "${url.protocol}" (expected ${protocols.join(' ')})`);
}

/** Config as it may be printed or logged: secrets replaced by REDACTED. */
export function describeTargets(targets: TargetEntry[]): Array<{ arn: string; enabled: boolean; config: Record<string, unknown> }> {
  return targets.map(({ arn, type, enabled, config }) => ({ arn, enabled, config: redactConfig(type, config) }));
}

export function redactConfig(type: TargetType, config: object): Record<string, unknown> {
  const specs = TARGET_PARAMS[type] as Record<string, ParamSpec>;
  return Object.fromEntries(
    Object.entries(config).map(([field, value]) => [field, specs[field]?.secret && value ? 'REDACTED' : value]),
  );
}
