// Connecting to Temporal with the loaded settings (src/settings/temporal.ts): the worker, the ingest, the CLI
// and the client library all connect through here, and a failure to connect is one line naming what to look at.
import { Connection } from '@temporalio/client';
import net from 'node:net';
import tls from 'node:tls';
import type { TemporalConnectionSettings } from '../settings/temporal';
import { causeChain } from '../errors';

/** The options both Connection (client) and NativeConnection (worker) take. */
export function connectionOptions(settings: TemporalConnectionSettings) {
  return {
    address: settings.temporalAddress,
    ...(settings.temporalTls ? { tls: settings.temporalTls } : {}),
    ...(settings.temporalApiKey ? { apiKey: settings.temporalApiKey } : {}),
    ...(settings.temporalMetadata ? { metadata: settings.temporalMetadata } : {}),
  };
}

type Options = ReturnType<typeof connectionOptions>;

/**
 * Connects with `connect` (Connection.connect or NativeConnection.connect). A failure becomes one line naming
 * the setting to look at: the gRPC clients say little (Node's only "Failed to connect before the deadline"),
 * so the address is dialled again, with and without TLS, to tell a refused TCP connection, an untrusted
 * server certificate, TLS against a plaintext server (or the reverse) and refused credentials apart.
 */
export async function connectTemporal<T>(
  settings: TemporalConnectionSettings,
  connect: (options: Options) => Promise<T>,
): Promise<T> {
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
    if (tlsConfig && !(typeof tlsConfig === 'object' && tlsConfig.clientCertPair))
      return `TEMPORAL_TLS_CLIENT_CERT_PATH: ${at} wants credentials (a client certificate or TEMPORAL_API_KEY): ${message}`;
    return `TEMPORAL_TLS_CLIENT_CERT_PATH: the client certificate was refused by ${at}: ${message}`;
  }
  const probe = await handshake(settings);
  if (probe.kind === 'tcp') return `TEMPORAL_ADDRESS: cannot connect to ${at}: ${probe.error}`;
  if (tlsConfig) {
    if (probe.kind === 'untrusted')
      return `TEMPORAL_TLS_SERVER_CA_CERT_PATH: the certificate of ${at} is not trusted (${probe.error})`;
    if (probe.kind === 'name')
      return `TEMPORAL_TLS_SERVER_NAME: the certificate of ${at} is for another name (${probe.error})`;
    if (probe.kind === 'not-tls')
      return `TEMPORAL_TLS: ${at} does not speak TLS (${probe.error}); is it a plaintext server?`;
    if (probe.kind === 'refused')
      return `TEMPORAL_TLS_CLIENT_CERT_PATH: ${at} refused the TLS handshake (${probe.error})`;
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
    const timer = setTimeout(
      () =>
        done(
          connected
            ? { kind: 'not-tls', error: 'no TLS answer within 3 s' }
            : { kind: 'tcp', error: 'timed out after 3 s' },
        ),
      3_000,
    );
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
        setTimeout(
          () =>
            done(
              problem
                ? { kind: 'untrusted', error: problem }
                : nameError
                  ? { kind: 'name', error: nameError.message }
                  : { kind: 'ok' },
            ),
          200,
        );
      });
      secure.once('error', (err) => done(classify(err)));
    });
  });
}

function classify(err: Error & { code?: string }): Probe {
  // OpenSSL's messages span lines and name source files; its code says the same in a few words.
  const error = err.code?.startsWith('ERR_SSL_')
    ? err.code.slice(8).toLowerCase().replace(/_/g, ' ')
    : err.message.replace(/\s+/g, ' ').trim();
  const text = `${err.code ?? ''} ${err.message}`;
  if (/wrong version number|packet length too long|unknown protocol|ECONNRESET|socket disconnected/i.test(text))
    return { kind: 'not-tls', error };
  if (
    /alert (certificate required|bad certificate|unknown ca|handshake failure|access denied)|ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA)/i.test(
      text,
    )
  )
    return { kind: 'refused', error };
  return { kind: 'other', error };
}

function codeOf(err: unknown): number | undefined {
  for (const { code } of causeChain(err)) if (typeof code === 'number') return code;
  return undefined;
}

/** The server's message for UNAUTHENTICATED (what the proxy or Temporal said), from the error or its causes. */
function messageOf16(err: unknown): string | undefined {
  for (const current of causeChain(err)) {
    if (current.code === 16) return String(current.details || current.message);
    const native = /message: "([^"]*)"/.exec(String(current.message ?? ''));
    if (native && /authentication credentials/.test(String(current.message))) return native[1];
  }
  return undefined;
}

function detailOf(err: unknown): string {
  const parts: string[] = [];
  for (const current of causeChain(err)) {
    const text = String(current.details || current.message || '')
      .replace(/\s+/g, ' ')
      .trim();
    if (text && !parts.some((part) => part.includes(text))) parts.push(text);
  }
  return parts.join(': ') || String(err);
}

/** Whether a Temporal frontend answers with these settings within 2 s (`npm start` starts the local dev server when
 * not). */
export async function temporalAnswers(settings: TemporalConnectionSettings): Promise<boolean> {
  try {
    const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: 2_000 });
    await connection.workflowService.getSystemInfo({});
    await connection.close();
    return true;
  } catch {
    return false;
  }
}
