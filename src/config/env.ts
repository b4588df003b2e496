// MinIO-style environment variables: MINIO_NOTIFY_<TYPE>_<PARAM>[_<ID>]=value sets notify.<type>.<id>.<param>
// (no id suffix = the default target `_`). They override the file and can define a target alone.
import { TARGET_TYPES, UNSUPPORTED_MINIO_TYPES, type TargetType } from './arn';
import { ConfigError, inputNames, isEnabledValue, type ParamSpec } from './params';
import { TARGET_PARAMS } from './targets';

const PREFIX = 'MINIO_NOTIFY_';

/** The type names MinIO uses in env vars (PostgreSQL is MINIO_NOTIFY_POSTGRES_*); longest first. */
const ENV_TYPE_NAMES: Array<[string, TargetType]> = [
  ...TARGET_TYPES.map((type): [string, TargetType] => [type.toUpperCase(), type]),
  ['POSTGRES', 'postgresql'] as [string, TargetType],
].sort(([a], [b]) => b.length - a.length);

export interface EnvSetting {
  variable: string;
  type: TargetType;
  id: string;
  /** The parameter's input name as declared (lowercase), e.g. `auth_token`. */
  param: string;
  value: string;
}

export function envSettings(env: NodeJS.ProcessEnv): EnvSetting[] {
  const settings: EnvSetting[] = [];
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(PREFIX) || value === undefined) continue;
    const rest = variable.slice(PREFIX.length);
    const match = ENV_TYPE_NAMES.find(([name]) => rest.startsWith(`${name}_`));
    if (!match) {
      checkUnsupported(variable, rest, value);
      continue;
    }
    const [name, type] = match;
    settings.push({ variable, type, value, ...paramAndId(variable, type, rest.slice(name.length + 1)) });
  }
  return settings;
}

function checkUnsupported(variable: string, rest: string, value: string): void {
  // Variables of a type MinIO has but we do not deliver to are ignored unless they enable a target.
  const type = UNSUPPORTED_MINIO_TYPES.find((name) => rest.startsWith(`${name.toUpperCase()}_`));
  if (!type) throw new ConfigError(variable, 'unknown target type in environment variable');
  if (/^ENABLE(_|$)/.test(rest.slice(type.length + 1)) && isEnabledValue(value)) {
    throw new ConfigError(variable, `target type ${type} not supported`);
  }
}

/** `AUTH_TOKEN_1` -> auth_token, id 1: the longest declared parameter name that fits wins. */
function paramAndId(variable: string, type: TargetType, paramPart: string): { param: string; id: string } {
  const param = [...inputNames(TARGET_PARAMS[type] as Record<string, ParamSpec>).keys()]
    .map((input) => input.toUpperCase())
    .filter((input) => paramPart === input || paramPart.startsWith(`${input}_`))
    .sort((a, b) => b.length - a.length)[0];
  if (!param) throw new ConfigError(variable, `unknown parameter for ${type}`);
  const id = paramPart.length > param.length ? paramPart.slice(param.length + 1) : '_';
  return { param: param.toLowerCase(), id };
}
