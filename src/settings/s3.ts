// The S3 connection bucketflow lists buckets through (src/s3/; backfill, scan sources), read as the AWS
// SDKs read it: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (unset: AWS itself), AWS_REGION (else
// AWS_DEFAULT_REGION, else us-east-1), AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN),
// or, when both are unset, the SDK's default chain (AWS_PROFILE, ~/.aws, SSO, web identity, instance roles).
// Addressing is path-style (http://host/bucket/key) for an endpoint on an IP address or localhost, where a
// bucket cannot be a host name, or everywhere with BUCKETFLOW_S3_FORCE_PATH_STYLE=true; virtual-hosted otherwise.
// A command that names one bucket may pass its own endpoint (`--endpoint`), checked the same way. Every variable
// goes through envSetting, so a bad value is one ConfigError line naming it; no credential is ever quoted.
import { isIP } from 'node:net';
import { ConfigError, envSetting } from '../config/params';

export const DEFAULT_S3_REGION = 'us-east-1';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3Settings {
  /** The S3 API's URL without credentials; undefined = AWS's own endpoint for the region. */
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** From AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; undefined = the SDK's default chain (profile, SSO, roles). */
  credentials: S3Credentials | undefined;
}

export interface S3SettingsOverrides {
  /** An endpoint given on the command line; wins over the variables. */
  endpoint?: string;
  /** How the command line names it in errors (default `--endpoint`). */
  endpointField?: string;
}

/** The S3 connection from the environment (and a command's own endpoint); a bad value throws a ConfigError naming it.
 * */
export function loadS3Settings(env: NodeJS.ProcessEnv = process.env, overrides: S3SettingsOverrides = {}): S3Settings {
  const endpoint =
    overrides.endpoint !== undefined
      ? checkedEndpoint(overrides.endpointField ?? '--endpoint', overrides.endpoint)
      : (endpointFromEnv(env, 'AWS_ENDPOINT_URL_S3') ?? endpointFromEnv(env, 'AWS_ENDPOINT_URL'));
  const region =
    envSetting(env, 'AWS_REGION', { kind: 'string', check: regionProblem }) ??
    envSetting(env, 'AWS_DEFAULT_REGION', { kind: 'string', default: DEFAULT_S3_REGION, check: regionProblem });
  const forced = envSetting(env, 'BUCKETFLOW_S3_FORCE_PATH_STYLE', { kind: 'bool', default: false });
  return {
    endpoint,
    region,
    forcePathStyle: forced || (endpoint !== undefined && needsPathStyle(endpoint)),
    credentials: credentials(env),
  };
}

/** An endpoint whose host is an IP address or localhost: no bucket can be a host name under it. */
export function needsPathStyle(endpoint: string): boolean {
  const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
}

/** The settings as a log or a page may show them: where, how, and where the credentials come from (never their values).
 * */
export function describeS3Settings(settings: S3Settings): Record<string, string> {
  return {
    endpoint: s3EndpointName(settings),
    region: settings.region,
    addressing: settings.forcePathStyle ? 'path-style' : 'virtual-hosted',
    credentials: settings.credentials ? 'AWS_ACCESS_KEY_ID' : 'default chain (profile, SSO, roles)',
  };
}

/** The endpoint as messages name it: its URL, or AWS's regional endpoint. */
export function s3EndpointName(settings: Pick<S3Settings, 'endpoint' | 'region'>): string {
  return settings.endpoint ?? `https://s3.${settings.region}.amazonaws.com`;
}

function endpointFromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const text = env[name]?.trim();
  return text ? checkedEndpoint(name, text) : undefined;
}

/** An http(s) URL without credentials or a query; the value is quoted in the error only when it holds neither. */
function checkedEndpoint(field: string, text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url && (url.username || url.password)) {
    throw new ConfigError(
      field,
      'credentials go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not in the endpoint URL',
    );
  }
  if (url && (url.search || url.hash))
    throw new ConfigError(field, 'expected an endpoint URL without a query or fragment');
  if (!url || !/^https?:$/.test(url.protocol) || !url.hostname) {
    throw new ConfigError(field, `expected an http:// or https:// URL such as http://127.0.0.1:9000, got "${text}"`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function regionProblem(text: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(text) ? undefined : 'expected a region name such as us-east-1';
}

function credentials(env: NodeJS.ProcessEnv): S3Credentials | undefined {
  const accessKeyId = envSetting(env, 'AWS_ACCESS_KEY_ID', { kind: 'string', secret: true });
  const secretAccessKey = envSetting(env, 'AWS_SECRET_ACCESS_KEY', { kind: 'string', secret: true });
  const sessionToken = envSetting(env, 'AWS_SESSION_TOKEN', { kind: 'string', secret: true });
  if (!accessKeyId && !secretAccessKey) {
    if (sessionToken)
      throw new ConfigError('AWS_SESSION_TOKEN', 'set with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY only');
    return undefined;
  }
  if (!accessKeyId) throw new ConfigError('AWS_ACCESS_KEY_ID', 'required with AWS_SECRET_ACCESS_KEY');
  if (!secretAccessKey) throw new ConfigError('AWS_SECRET_ACCESS_KEY', 'required with AWS_ACCESS_KEY_ID');
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}
