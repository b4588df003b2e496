// The Temporal connection settings, loaded as Temporal's own CLI and SDKs load them (@temporalio/envconfig): a
// profile of the TOML config file (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE
// picks one, default "default"), overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
// TEMPORAL_TLS_* and TEMPORAL_GRPC_META_*. Part of the settings (src/settings/index.ts); src/temporal/connection.ts
// connects with them. Bad input is a ConfigError naming the setting; a secret (API key, private key) is never printed.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { splitProtoHostPort, type TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConfigProfile, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';
import { errorMessage, systemErrorText } from '../errors';
import { ConfigError, envSetting } from '../config/params';

/** The dev server's address: the default only while nothing asks for TLS. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

/** Part of Settings (src/settings/index.ts). */
export interface TemporalConnectionSettings {
  temporalAddress: string;
  namespace: string;
  /** false/undefined = plaintext; true = TLS with the system's CAs; else the CA, server name and client pair. */
  temporalTls?: TLSConfig | boolean;
  /** Sent as `authorization: Bearer <key>`; implies TLS. */
  temporalApiKey?: string;
  /** Extra gRPC headers (TEMPORAL_GRPC_META_<NAME>). */
  temporalMetadata?: Record<string, string>;
}

/** What a connection is, for logs: never the key or the certificates themselves. */
export function describeTemporalConnection(settings: TemporalConnectionSettings): Record<string, unknown> {
  const tls = settings.temporalTls;
  return {
    address: settings.temporalAddress,
    namespace: settings.namespace,
    tls: !tls ? 'off' : typeof tls === 'object' && tls.clientCertPair ? 'mutual' : 'on',
    apiKeySet: settings.temporalApiKey ? 'set' : 'unset',
  };
}

export function loadTemporalConnection(env: NodeJS.ProcessEnv = process.env): TemporalConnectionSettings {
  // An empty variable counts as unset, as it always has for TEMPORAL_ADDRESS (envconfig would take '' as a value).
  const vars = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1])));
  // envconfig reads only "true" and "1" as on, anything else silently as off: a switch is parsed here instead.
  const tlsSwitch = envSetting(env, 'TEMPORAL_TLS', { kind: 'bool' });
  if (tlsSwitch !== undefined) vars.TEMPORAL_TLS = String(tlsSwitch);
  const profileName = env.TEMPORAL_PROFILE || 'default';
  const file = configFile(vars);
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (err) {
    const message = errorMessage(err);
    if (/^Profile '.*' not found/.test(message))
      throw new ConfigError(
        'TEMPORAL_PROFILE',
        `no profile "${profileName}" in ${file ?? 'the config file (none found)'}`,
      );
    throw new ConfigError(
      env.TEMPORAL_CONFIG_FILE ? 'TEMPORAL_CONFIG_FILE' : 'Temporal config file',
      `${file}: ${message.split('\n')[0]}`,
    );
  }
  // Where a value came from, so an error names what the user wrote: the variable, else the file's key.
  const from = (variable: string, key: string) =>
    env[variable] ? variable : `${file ?? 'config file'}: profile.${profileName}.${key}`;
  const pemFrom = (
    source: ConfigDataSource | undefined,
    variable: string,
    key: string,
    kind: 'certificate' | 'private key',
  ) => {
    const suffix = source && 'path' in source ? 'path' : 'data';
    return pem(source, from(`${variable}_${suffix.toUpperCase()}`, `tls.${key}_${suffix}`), kind);
  };
  const tlsInput = profile.tls;
  const tlsWanted = Boolean(tlsInput && !tlsInput.disabled) || Boolean(profile.apiKey && !tlsInput?.disabled);

  if (profile.apiKey && tlsInput?.disabled) {
    throw new ConfigError(
      from('TEMPORAL_API_KEY', 'api_key'),
      'an API key is only sent over TLS, and TLS is disabled (TEMPORAL_TLS)',
    );
  }
  if (tlsWanted && !profile.address) {
    throw new ConfigError(
      'TEMPORAL_ADDRESS',
      `required with ${profile.apiKey ? 'an API key' : 'TLS settings'} (the default ${DEFAULT_TEMPORAL_ADDRESS} is the plaintext dev server)`,
    );
  }

  let tlsConfig: TLSConfig | boolean | undefined;
  if (tlsWanted) {
    const cert = pemFrom(tlsInput?.clientCert, 'TEMPORAL_TLS_CLIENT_CERT', 'client_cert', 'certificate');
    const key = pemFrom(tlsInput?.clientKey, 'TEMPORAL_TLS_CLIENT_KEY', 'client_key', 'private key');
    const ca = pemFrom(tlsInput?.serverCACert, 'TEMPORAL_TLS_SERVER_CA_CERT', 'server_ca_cert', 'certificate');
    if (Boolean(cert) !== Boolean(key)) {
      // The missing half is named where its other half was given: a variable, or the file's key.
      const given = cert ? /^TEMPORAL_TLS_CLIENT_CERT_/ : /^TEMPORAL_TLS_CLIENT_KEY_/;
      const inEnv = Object.keys(vars).some((name) => given.test(name));
      const missing = cert
        ? inEnv
          ? 'TEMPORAL_TLS_CLIENT_KEY_PATH'
          : from('TEMPORAL_TLS_CLIENT_KEY_PATH', 'tls.client_key_path')
        : inEnv
          ? 'TEMPORAL_TLS_CLIENT_CERT_PATH'
          : from('TEMPORAL_TLS_CLIENT_CERT_PATH', 'tls.client_cert_path');
      throw new ConfigError(
        missing,
        `required with the client ${cert ? 'certificate' : 'key'} (mutual TLS needs both)`,
      );
    }
    const options: TLSConfig = {
      ...(tlsInput?.serverName ? { serverNameOverride: tlsInput.serverName } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
    };
    tlsConfig = Object.keys(options).length ? options : true;
  }
  const addressProblem = profile.address ? hostPortProblem(profile.address) : undefined;
  if (addressProblem)
    throw new ConfigError(from('TEMPORAL_ADDRESS', 'address'), `${addressProblem}, got "${profile.address}"`);
  return {
    temporalAddress: profile.address || DEFAULT_TEMPORAL_ADDRESS,
    namespace: profile.namespace || 'default',
    ...(tlsConfig ? { temporalTls: tlsConfig } : {}),
    ...(profile.apiKey ? { temporalApiKey: profile.apiKey } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length ? { temporalMetadata: profile.grpcMeta } : {}),
  };
}

/** `host:port` (the port may be left out: Temporal's default, 7233), as the SDK parses it before dialing. */
function hostPortProblem(address: string): string | undefined {
  const parts = splitProtoHostPort(address);
  return parts && parts.scheme === undefined && (parts.port ?? 0) <= 65_535 ? undefined : 'expected host:port';
}

/** The PEM a setting points at (a path, or the data itself), checked now rather than at the first handshake. */
function pem(
  source: ConfigDataSource | undefined,
  setting: string,
  kind: 'certificate' | 'private key',
): Buffer | undefined {
  if (!source) return undefined;
  const where = 'path' in source ? source.path : 'its data';
  let data: Buffer;
  if ('path' in source) {
    try {
      data = readFileSync(source.path);
    } catch (err) {
      throw new ConfigError(setting, `cannot read ${source.path} (${systemErrorText(err)})`);
    }
  } else {
    data = Buffer.from(source.data);
  }
  try {
    if (kind === 'certificate') new X509Certificate(data);
    else createPrivateKey(data);
  } catch {
    throw new ConfigError(setting, `${where} is not a PEM ${kind}`);
  }
  return data;
}

/** The config file envconfig reads (for messages): TEMPORAL_CONFIG_FILE, else the user's default. */
function configFile(env: Record<string, string>): string | undefined {
  if (env.TEMPORAL_CONFIG_FILE) return env.TEMPORAL_CONFIG_FILE;
  const base =
    os.platform() === 'darwin'
      ? env.HOME && path.join(env.HOME, 'Library', 'Application Support')
      : env.XDG_CONFIG_HOME || (env.HOME && path.join(env.HOME, '.config'));
  return base ? path.join(base, 'temporalio', 'temporal.toml') : undefined;
}
