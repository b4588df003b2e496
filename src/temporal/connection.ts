// The Temporal connection, loaded as Temporal's own CLI and SDKs load it (@temporalio/envconfig): a profile of
// the TOML config file (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE picks
// one, default "default"), overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
// TEMPORAL_TLS_* and TEMPORAL_GRPC_META_*. The worker, the ingest, the CLI and the client library all connect
// through here. Bad input is a ConfigError naming the setting; a secret (API key, private key) is never printed.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConfigProfile, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';
import { ConfigError } from '../config/params';

/** The dev server's address: the default only while nothing asks for TLS. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

/** Part of Settings (src/settings.ts). */
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
    apiKey: settings.temporalApiKey ? 'set' : 'unset',
  };
}

/** The options both Connection (client) and NativeConnection (worker) take. */
export function connectionOptions(settings: TemporalConnectionSettings) {
  return {
    address: settings.temporalAddress,
    ...(settings.temporalTls ? { tls: settings.temporalTls } : {}),
    ...(settings.temporalApiKey ? { apiKey: settings.temporalApiKey } : {}),
    ...(settings.temporalMetadata ? { metadata: settings.temporalMetadata } : {}),
  };
}

export function loadTemporalConnection(env: NodeJS.ProcessEnv = process.env): TemporalConnectionSettings {
  // An empty variable counts as unset, as it always has for TEMPORAL_ADDRESS (envconfig would take '' as a value).
  const vars = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1])));
  const profileName = env.TEMPORAL_PROFILE || 'default';
  const file = configFile(vars);
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/^Profile '.*' not found/.test(message)) throw new ConfigError('TEMPORAL_PROFILE', `no profile "${profileName}" in ${file ?? 'the config file (none found)'}`);
    throw new ConfigError(env.TEMPORAL_CONFIG_FILE ? 'TEMPORAL_CONFIG_FILE' : 'Temporal config file', `${file}: ${message.split('\n')[0]}`);
  }
  // Where a value came from, so an error names what the user wrote: the variable, else the file's key.
  const from = (variable: string, key: string) => (env[variable] ? variable : `${file ?? 'config file'}: profile.${profileName}.${key}`);
  const pemFrom = (source: ConfigDataSource | undefined, variable: string, key: string, kind: 'certificate' | 'private key') => {
    const suffix = source && 'path' in source ? 'path' : 'data';
    return pem(source, from(`${variable}_${suffix.toUpperCase()}`, `tls.${key}_${suffix}`), kind);
  };
  const tlsInput = profile.tls;
  const tlsWanted = Boolean(tlsInput && !tlsInput.disabled) || Boolean(profile.apiKey && !tlsInput?.disabled);

  if (profile.apiKey && tlsInput?.disabled) {
    throw new ConfigError(from('TEMPORAL_API_KEY', 'api_key'), 'an API key is only sent over TLS, and TLS is disabled (TEMPORAL_TLS)');
  }
  if (tlsWanted && !profile.address) {
    throw new ConfigError('TEMPORAL_ADDRESS', `required with ${profile.apiKey ? 'an API key' : 'TLS settings'} (the default ${DEFAULT_TEMPORAL_ADDRESS} is the plaintext dev server)`);
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
        ? (inEnv ? 'TEMPORAL_TLS_CLIENT_KEY_PATH' : from('TEMPORAL_TLS_CLIENT_KEY_PATH', 'tls.client_key_path'))
        : (inEnv ? 'TEMPORAL_TLS_CLIENT_CERT_PATH' : from('TEMPORAL_TLS_CLIENT_CERT_PATH', 'tls.client_cert_path'));
      throw new ConfigError(missing, `required with the client ${cert ? 'certificate' : 'key'} (mutual TLS needs both)`);
    }
    const options: TLSConfig = {
      ...(tlsInput?.serverName ? { serverNameOverride: tlsInput.serverName } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
    };
    tlsConfig = Object.keys(options).length ? options : true;
  }
  return {
    temporalAddress: profile.address || DEFAULT_TEMPORAL_ADDRESS,
    namespace: profile.namespace || 'default',
    ...(tlsConfig ? { temporalTls: tlsConfig } : {}),
    ...(profile.apiKey ? { temporalApiKey: profile.apiKey } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length ? { temporalMetadata: profile.grpcMeta } : {}),
  };
}

/** The PEM a setting points at (a path, or the data itself), checked now rather than at the first handshake. */
function pem(source: ConfigDataSource | undefined, setting: string, kind: 'certificate' | 'private key'): Buffer | undefined {
  if (!source) return undefined;
  const where = 'path' in source ? source.path : 'its data';
  let data: Buffer;
  if ('path' in source) {
    try {
      data = readFileSync(source.path);
    } catch (err) {
      throw new ConfigError(setting, `cannot read ${source.path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
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
  const base = os.platform() === 'darwin' ? env.HOME && path.join(env.HOME, 'Library', 'Application Support') : env.XDG_CONFIG_HOME || (env.HOME && path.join(env.HOME, '.config'));
  return base ? path.join(base, 'temporalio', 'temporal.toml') : undefined;
}

type Options = ReturnType<typeof connectionOptions>;

/**
 * Connects with `connect` (Connection.connect or NativeConnection.connect). A failure becomes one line naming
 * the setting to look at: the gRPC clients say little (Node's only "Failed to connect before the deadline"),
 * so the address is dialled again, with and without TLS, to tell a refused TCP connection, an untrusted
 * server certificate, TLS against a plaintext server (or the reverse) and refused credentials apart.
 */
export async function connectTemporal<T>(settings: TemporalConnectionSettings, connect: (options: Options) => Promise<T>): Promise<T> {
  try {
    return await connect(connectionOptions(settings));
  } catch (err) {
    throw new TemporalConnectError(await explainConnectFailure(settings, err));
  }
}

export class TemporalConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalConnectError';
  }
}

export async function explainConnectFailure(settings: TemporalConnectionSettings, err: unknown): Promise<string> {
  const detail = detailOf(err);
  const at = `Temporal at ${settings.temporalAddress}`;
  const tlsConfig = settings.temporalTls;
  if (/UNAUTHENTICATED|code=16|valid authentication credentials/i.test(detail) || codeOf(err) === 16) {
    const message = messageOf16(err) ?? detail;
    if (settings.temporalApiKey) return `TEMPORAL_API_KEY: refused by ${at}: ${message}`;
    if (tlsConfig && !(typeof tlsConfig === 'object' && tlsConfig.clientCertPair)) return `TEMPORAL_TLS_CLIENT_CERT_PATH: ${at} wants credentials (a client certificate or TEMPORAL_API_KEY): ${message}`;
    return `TEMPORAL_TLS_CLIENT_CERT_PATH: the client certificate was refused by ${at}: ${message}`;
  }
  const probe = await handshake(settings);
  if (probe.kind === 'tcp') return `TEMPORAL_ADDRESS: cannot connect to ${at}: ${probe.error}`;
  if (tlsConfig) {
    if (probe.kind === 'untrusted') return `TEMPORAL_TLS_SERVER_CA_CERT_PATH: the certificate of ${at} is not trusted (${probe.error})`;
    if (probe.kind === 'name') return `TEMPORAL_TLS_SERVER_NAME: the certificate of ${at} is for another name (${probe.error})`;
    if (probe.kind === 'not-tls') return `TEMPORAL_TLS: ${at} does not speak TLS (${probe.error}); is it a plaintext server?`;
    if (probe.kind === 'refused') return `TEMPORAL_TLS_CLIENT_CERT_PATH: ${at} refused the TLS handshake (${probe.error})`;
  } else if (probe.kind === 'ok' || probe.kind === 'untrusted' || probe.kind === 'name') {
    return `TEMPORAL_TLS: ${at} speaks TLS and the connection was plaintext; set TEMPORAL_TLS=true (with TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)`;
  }
  return `TEMPORAL_ADDRESS: cannot connect to ${at}: ${detail}`;
}

type Probe = { kind: 'ok' | 'tcp' | 'untrusted' | 'name' | 'not-tls' | 'refused' | 'other'; error?: string };

/** A TLS handshake like the client's (same CA, certificate, server name), or any handshake when it is plaintext. */
function handshake(settings: TemporalConnectionSettings): Promise<Probe> {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(settings.temporalAddress);
  if (!match) return Promise.resolve({ kind: 'other' });
  const [, host, port] = match;
  const config = typeof settings.temporalTls === 'object' ? settings.temporalTls : {};
  return new Promise((resolve) => {
    let connected = false;
    const socket = net.connect({ host, port: Number(port) });
    const done = (probe: Probe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    const timer = setTimeout(() => done(connected ? { kind: 'not-tls', error: 'no TLS answer within 3 s' } : { kind: 'tcp', error: 'timed out after 3 s' }), 3_000);
    socket.once('error', (err) => done({ kind: 'tcp', error: err.message }));
    socket.once('connect', () => {
      connected = true;
      socket.removeAllListeners('error');
      const secure = tls.connect({
        socket,
        servername: config.serverNameOverride ?? (net.isIP(host) ? undefined : host),
        ca: config.serverRootCACertificate ? Buffer.from(config.serverRootCACertificate) : undefined,
        cert: config.clientCertPair ? Buffer.from(config.clientCertPair.crt) : undefined,
        key: config.clientCertPair ? Buffer.from(config.clientCertPair.key) : undefined,
        ALPNProtocols: ['h2'],
        rejectUnauthorized: false, // judged below, to tell an untrusted certificate from a wrong name
      });
      secure.once('secureConnect', () => {
        const problem = secure.authorizationError ? String(secure.authorizationError) : undefined;
        const name = config.serverNameOverride ?? host;
        const nameError = problem ? undefined : tls.checkServerIdentity(name, secure.getPeerCertificate());
        // TLS 1.3 sends a refusal of the client certificate after the handshake: give it a moment to arrive.
        secure.once('error', (err) => done(classify(err)));
        setTimeout(() => done(problem ? { kind: 'untrusted', error: problem } : nameError ? { kind: 'name', error: nameError.message } : { kind: 'ok' }), 200);
      });
      secure.once('error', (err) => done(classify(err)));
    });
  });
}

function classify(err: Error & { code?: string }): Probe {
  // OpenSSL's messages span lines and name source files; its code says the same in a few words.
  const error = err.code?.startsWith('ERR_SSL_') ? err.code.slice(8).toLowerCase().replace(/_/g, ' ') : err.message.replace(/\s+/g, ' ').trim();
  const text = `${err.code ?? ''} ${err.message}`;
  if (/wrong version number|packet length too long|unknown protocol|ECONNRESET|socket disconnected/i.test(text)) return { kind: 'not-tls', error };
  if (/alert (certificate required|bad certificate|unknown ca|handshake failure|access denied)|ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA)/i.test(text)) return { kind: 'refused', error };
  return { kind: 'other', error };
}

function codeOf(err: unknown): number | undefined {
  for (let current = err as { code?: unknown; cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    if (typeof current.code === 'number') return current.code;
  }
  return undefined;
}

/** The server's message for UNAUTHENTICATED (what the proxy or Temporal said), from the error or its causes. */
function messageOf16(err: unknown): string | undefined {
  for (let current = err as { code?: unknown; details?: unknown; message?: unknown; cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    if (current.code === 16) return String(current.details || current.message);
    const native = /message: "([^"]*)"/.exec(String(current.message ?? ''));
    if (native && /authentication credentials/.test(String(current.message))) return native[1];
  }
  return undefined;
}

function detailOf(err: unknown): string {
  const parts: string[] = [];
  for (let current = err as { message?: unknown; details?: unknown; cause?: unknown } | undefined; current; current = current.cause as typeof current) {
    const text = String(current.details || current.message || '').replace(/\s+/g, ' ').trim();
    if (text && !parts.some((part) => part.includes(text))) parts.push(text);
  }
  return parts.join(': ') || String(err);
}
