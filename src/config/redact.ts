// Config as it may be printed or logged: secret parameters become REDACTED, and so does the password
// part of any URL, libpq `key=value` string or Go DSN found in the other parameters. Text a target's
// driver writes (its errors, its health detail) goes through redactorFor, which also hides that target's
// secret values wherever they appear.
import { embeddedSecrets, hasEmbeddedPassword, REDACTED, redactCredentials, redactSecrets } from './connection-strings';
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
  return targets.map(({ arn, type, id, enabled, config }) => ({
    arn,
    type,
    id,
    enabled,
    config: redactConfig(type, config),
  }));
}

export function redactConfig(type: TargetType, config: object): Record<string, unknown> {
  const specs = TARGET_PARAMS[type] as Record<string, ParamSpec>;
  return Object.fromEntries(
    Object.entries(config).map(([field, value]) => [field, redactValue(value, specs[field]?.secret === true)]),
  );
}

function redactValue(value: unknown, secret: boolean): unknown {
  if (typeof value === 'string' && value !== '')
    return secret && !hasEmbeddedPassword(value) ? REDACTED : redactCredentials(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secret));
  return value;
}

/** Every secret value a target's config holds: secret parameters whole, and credentials written inside the others. */
export function secretsOf(type: TargetType, config: object): string[] {
  const specs = TARGET_PARAMS[type] as Record<string, ParamSpec>;
  return Object.entries(config).flatMap(([field, value]) =>
    (Array.isArray(value) ? value : [value])
      .filter((item): item is string => typeof item === 'string' && item !== '')
      .flatMap((item) => {
        const embedded = embeddedSecrets(item);
        // A secret parameter is hidden whole unless it is a connection string, whose credentials are hidden instead.
        return specs[field]?.secret === true && embedded.length === 0 ? [item] : embedded;
      }),
  );
}

/** The redaction of any text about this target: its own secrets wherever they appear, and every credential pattern. */
export function redactorFor({ type, config }: Pick<TargetEntry, 'type' | 'config'>): (text: string) => string {
  return redactSecrets(secretsOf(type, config));
}
