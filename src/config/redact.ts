// Config as it may be printed or logged: secret parameters become REDACTED, and so does the password
// part of any URL, libpq `key=value` string or Go DSN found in the other parameters.
import type { ParamSpec } from './params';
import { TARGET_PARAMS, type TargetEntry, type TargetType } from './targets';

export const REDACTED = 'REDACTED';

export interface DescribedTarget {
  arn: string;
  type: TargetType;
  id: string;
  enabled: boolean;
  config: Record<string, unknown>;
}

export function describeTargets(targets: TargetEntry[]): DescribedTarget[] {
  return targets.map(({ arn, type, id, enabled, config }) => ({ arn, type, id, enabled, config: redactConfig(type, config) }));
}

export function redactConfig(type: TargetType, config: object): Record<string, unknown> {
  const specs = TARGET_PARAMS[type] as Record<string, ParamSpec>;
  return Object.fromEntries(
    Object.entries(config).map(([field, value]) => [field, redactValue(value, specs[field]?.secret === true)]),
  );
}

function redactValue(value: unknown, secret: boolean): unknown {
  if (typeof value === 'string' && value !== '') return secret && !hasEmbeddedPassword(value) ? REDACTED : redactCredentials(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secret));
  return value;
}

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^/?#\s]*)(@)/gi; // scheme://user:PASSWORD@host
const KV_PASSWORD = /(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)/gi; // libpq key=value and ?password= queries
const GO_DSN_PASSWORD = /^([^:@/\s]*:)(.+)(@[a-z]*\()/i; // user:PASSWORD@tcp(host:port)/db

function hasEmbeddedPassword(value: string): boolean {
  return [URL_PASSWORD, KV_PASSWORD, GO_DSN_PASSWORD].some((pattern) => new RegExp(pattern.source, 'i').test(value));
}

/** Keeps a connection string readable (host, user, database) while hiding its password. */
export function redactCredentials(value: string): string {
  return value
    .replace(GO_DSN_PASSWORD, `$1${REDACTED}$3`)
    .replace(URL_PASSWORD, `$1${REDACTED}$3`)
    .replace(KV_PASSWORD, `$1${REDACTED}`);
}
