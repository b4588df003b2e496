// Connection parameters (URLs, host:port, libpq strings, Go DSNs) read, checked and redacted in one place:
// the loader validates with these functions and the drivers read their values with the same ones. The
// redaction here is the only one: config listings, driver errors, logs, histories and pages all go through it.
import { ConfigError } from './params';

export const REDACTED = 'REDACTED';

// Patterns: each keeps its first and last groups and hides the middle one. Each is found in time linear in the
// text's length (a logged record may be a megabyte): a match starts at a literal anchor (`://`, the `=` of a query,
// `password`, `Bearer`) and looks back from there with a lookbehind over a run that cannot hold that anchor, so no
// part of the text is scanned again from one anchor to the next. Written plainly (scheme first, `[?&]name=` first),
// the same patterns took time quadratic in the length of text without a match (`a-a-a-...`, `???...`).
const URL_PASSWORD = /(:\/\/(?<=\b[a-z][a-z0-9+.-]*:\/\/)[^:/?#@\s]*:)([^/?#\s]*)(@)/gi; // scheme://user:PASSWORD@host
const URL_USER_ONLY = /(:\/\/(?<=\b[a-z][a-z0-9+.-]*:\/\/))([^:/?#@\s]+)(@)/gi; // scheme://TOKEN@host (NATS, token-as-user)
const URL_QUERY_VALUE = /=(?<=([?&][^=&#\s]+)=)([^&#\s]+)/g; // ?token=VALUE&x=VALUE (group 1: the name, with its ? or &)
const KV_PASSWORD = /(\b(?:ssl)?(?:password|passwd|pwd)\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)()/gi; // libpq key=value (sslpassword too)
const BEARER = /(\bBearer\s+)([A-Za-z0-9._~+/=-]{4,})()/g; // Authorization header values
/** Query parameters whose values are a target's secrets (embeddedSecrets); every query value is hidden where a URL is
 * printed. */
const SECRET_NAME = /pass|pwd|token|secret|key|auth|sig|credential/i;

/**
 * Go MySQL DSNs (`user:PASSWORD@tcp(host:port)/db`, as a word of its own: at the start of a whitespace-separated
 * word or after one of `"'=(`): the password runs from the user's colon to the word's last `@proto(`. Found word by
 * word: each word's last `@proto(` first, then the first `user:` before it (a regex alone scanned the rest of the
 * word again from every start, quadratic in a word such as `=(=(=(...`).
 */
function goDsnPasswords(text: string): Array<{ start: number; end: number }> {
  const found: Array<{ start: number; end: number }> = [];
  if (!HAS_DSN_ADDRESS.test(text)) return found; // most text: no word to look at
  for (const word of text.matchAll(/\S+/g)) {
    let address = -1;
    for (const at of word[0].matchAll(DSN_ADDRESS)) address = at.index;
    if (address < 2) continue;
    const user = DSN_USER.exec(word[0].slice(0, address - 1)); // a password of at least one character before the address
    if (user) found.push({ start: word.index + user.index + 1, end: word.index + address });
  }
  return found;
}
const DSN_ADDRESS = /@[a-z]*\(/gi;
const HAS_DSN_ADDRESS = /@[a-z]*\(/i;
/** The colon ending a DSN's user, anchored at the colon: the user (no `:@/"'` or space) starts a word or follows `=` or
 * `(`. */
const DSN_USER = /:(?<=(?:^|["'=(])[^:@/\s"']*:)/;

export function hasEmbeddedPassword(value: string): boolean {
  return (
    goDsnPasswords(value).length > 0 ||
    [URL_PASSWORD, URL_USER_ONLY, KV_PASSWORD].some((pattern) => new RegExp(pattern.source, 'i').test(value))
  );
}

/** The credentials written inside a value (URL userinfo and query values, libpq/DSN passwords): what redactCredentials
 * hides. */
export function embeddedSecrets(value: string): string[] {
  const found = (pattern: RegExp) => [
    ...value.matchAll(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)),
  ];
  const unquoted = (secret: string) => secret.replace(/^'|'$/g, '');
  return [
    ...[URL_PASSWORD, URL_USER_ONLY, KV_PASSWORD].flatMap((pattern) => found(pattern).map((m) => unquoted(m[2]))),
    ...goDsnPasswords(value).map(({ start, end }) => unquoted(value.slice(start, end))),
    ...found(BEARER).map((m) => m[2]),
    ...found(URL_QUERY_VALUE)
      .filter((m) => SECRET_NAME.test(m[1]))
      .map((m) => m[2]),
  ];
}

/** Shorter values are too likely to be ordinary text; the patterns above still hide them where they are written as
 * credentials. */
const MIN_SECRET_CHARS = 4;

/**
 * Hides `secrets` (a target's password, token, embedded credentials: see secretsOf in ./redact.ts) wherever
 * they appear, in their URL-encoded and decoded forms too, then applies redactCredentials.
 */
export function redactSecrets(secrets: Iterable<string>): (text: string) => string {
  const forms = new Set<string>();
  for (const value of secrets)
    for (const form of [value, safeDecode(value), safeEncode(value)])
      if (form.length >= MIN_SECRET_CHARS) forms.add(form);
  const longestFirst = [...forms].sort((a, b) => b.length - a.length); // a secret containing another is hidden whole
  return (text) =>
    redactCredentials(longestFirst.reduce((hidden, secret) => hidden.split(secret).join(REDACTED), text));
}

/**
 * The one redaction of text that may be printed, logged, stored in a history or served: URL userinfo and
 * query values, libpq and Go DSN passwords and Authorization values become REDACTED, while the rest (host,
 * user, database) stays readable. Text about one target also goes through its redactSecrets.
 */
export function redactCredentials(text: string): string {
  return redactSpans(text, goDsnPasswords(text))
    .replace(URL_PASSWORD, `$1${REDACTED}$3`)
    .replace(URL_USER_ONLY, (whole, scheme: string, user: string, at: string) =>
      user === REDACTED ? whole : `${scheme}${REDACTED}${at}`,
    )
    .replace(URL_QUERY_VALUE, `=${REDACTED}`)
    .replace(KV_PASSWORD, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`);
}

/** `text` with each of `spans` (in order, not overlapping) replaced by REDACTED. */
function redactSpans(text: string, spans: ReadonlyArray<{ start: number; end: number }>): string {
  if (spans.length === 0) return text;
  let shown = '';
  let from = 0;
  for (const { start, end } of spans) {
    shown += `${text.slice(from, start)}${REDACTED}`;
    from = end;
  }
  return shown + text.slice(from);
}

/** A value with a lone surrogate has no URL-encoded form (encodeURIComponent throws): it is then hidden as it is. */
function safeEncode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
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
      if (!value.length)
        throw new ConfigError(field, `expected key=value pairs or a postgres:// URL, got "${redactCredentials(pair)}"`);
      return [key, value.join('=')];
    }),
  );
}

const GO_DSN = /^(?:([^:@/]*)(?::([^@]*))?@)?(?:tcp\(([^)]*)\))?\/([^?]*)(?:\?.*)?$/;

/** Go's MySQL DSN (`user:password@tcp(host:port)/database`), as MinIO's MySQL target takes it. */
export function parseGoDsn(
  dsn: string,
  field: string,
): { user?: string; password?: string; host: string; port: number; database: string } {
  const match = GO_DSN.exec(dsn);
  if (!match || !match[4]) throw new ConfigError(field, 'expected user:password@tcp(host:port)/database');
  const [, user, password, address = '127.0.0.1:3306', database] = match;
  const [host, port] = address.split(':');
  return { user, password, host, port: Number(port || 3306), database };
}
