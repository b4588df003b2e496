// Config as it may be printed or logged: secret parameters become REDACTED, and so does the password
// part of any URL, libpq `key=value` string or Go DSN found in the other parameters.
import { hasEmbeddedPassword, REDACTED, redactCredentials } from './connection-strings';
import type { ParamSpec } from './params';
import { TARGET_PARAMS, type TargetEntry, type TargetType } from './targets';

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
