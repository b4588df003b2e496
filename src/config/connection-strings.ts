// Connection parameters (URLs, host:port, libpq strings, Go DSNs) read, checked and redacted in one place:
// the loader validates with these functions and the drivers read their values with the same ones.
import { ConfigError } from './params';

export const REDACTED = 'REDACTED';

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^/?#\s]*)(@)/gi; // scheme://user:PASSWORD@host
const KV_PASSWORD = /(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)/gi; // libpq key=value and ?password= queries
const GO_DSN_PASSWORD = /^([^:@/\s]*:)(.+)(@[a-z]*\()/i; // user:PASSWORD@tcp(host:port)/db

export function hasEmbeddedPassword(value: string): boolean {
  return [URL_PASSWORD, KV_PASSWORD, GO_DSN_PASSWORD].some((pattern) => new RegExp(pattern.source, 'i').test(value));
}

/** Keeps a connection string readable (host, user, database) while hiding its password. */
export function redactCredentials(value: string): string {
  return value
    .replace(GO_DSN_PASSWORD, `$1${REDACTED}$3`)
    .replace(URL_PASSWORD, `$1${REDACTED}$3`)
    .replace(KV_PASSWORD, `$1${REDACTED}`);
}

/** A URL with one of `protocols` (e.g. `['http:', 'https:']`); a ConfigError naming `field` otherwise. */
export function parseUrl(value: string, field: string, protocols: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field, `not a URL: "${redactCredentials(value)}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(field, `unsupported scheme "${url.protocol}" (expected ${protocols.join(' ')})`);
  }
  return url;
}

/** `host[:port]`. */
export function parseHostPort(address: string, field: string, defaultPort: number): { host: string; port: number } {
  const [host, portText] = address.split(':');
  const port = Number(portText ?? defaultPort);
  if (!host || !Number.isInteger(port)) throw new ConfigError(field, `expected host:port, got "${address}"`);
  return { host, port };
}

/** libpq's `key=value ...` connection string, as MinIO's PostgreSQL target takes it. */
export function parseLibpq(text: string, field: string): Record<string, string> {
  return Object.fromEntries(
    text.split(/\s+/).map((pair) => {
      const [key, ...value] = pair.split('=');
      if (!value.length) throw new ConfigError(field, `expected key=value pairs or a postgres:// URL, got "${redactCredentials(pair)}"`);
      return [key, value.join('=')];
    }),
  );
}

const GO_DSN = /^(?:([^:@/]*)(?::([^@]*))?@)?(?:tcp\(([^)]*)\))?\/([^?]*)(?:\?.*)?$/;

/** Go's MySQL DSN (`user:password@tcp(host:port)/database`), as MinIO's MySQL target takes it. */
export function parseGoDsn(dsn: string, field: string): { user?: string; password?: string; host: string; port: number; database: string } {
  const match = GO_DSN.exec(dsn);
  if (!match || !match[4]) throw new ConfigError(field, 'expected user:password@tcp(host:port)/database');
  const [, user, password, address = '127.0.0.1:3306', database] = match;
  const [host, port] = address.split(':');
  return { user, password, host, port: Number(port || 3306), database };
}
