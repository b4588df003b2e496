// The credential patterns as first written (scheme first, `[?&]name=` first, one regex per Go DSN): the
// specification src/config/connection-strings.ts is checked against. Its own patterns find the same credentials
// in time linear in the text's length; these take time quadratic in it (a 200 KB log value took 22 s), so they
// are for short texts only: the property test in test/unit/redaction.test.ts and the side-by-side bench.
const REDACTED = 'REDACTED';
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^/?#\s]*)(@)/gi;
const URL_USER_ONLY = /(\b[a-z][a-z0-9+.-]*:\/\/)([^:/?#@\s]+)(@)/gi;
const URL_QUERY_VALUE = /([?&][^=&#\s]+=)([^&#\s]+)()/g;
const KV_PASSWORD = /(\b(?:ssl)?(?:password|passwd|pwd)\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)()/gi;
const GO_DSN_PASSWORD = /(?<=^|[\s"'=(])([^:@/\s"']*:)(\S+)(@[a-z]*\()/gi;
const BEARER = /(\bBearer\s+)([A-Za-z0-9._~+/=-]{4,})()/g;
const SECRET_NAME = /pass|pwd|token|secret|key|auth|sig|credential/i;

export function referenceHasEmbeddedPassword(value: string): boolean {
  return [URL_PASSWORD, URL_USER_ONLY, KV_PASSWORD, GO_DSN_PASSWORD].some((pattern) =>
    new RegExp(pattern.source, 'i').test(value),
  );
}

export function referenceEmbeddedSecrets(value: string): string[] {
  const found = (pattern: RegExp) => [
    ...value.matchAll(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)),
  ];
  return [
    ...[URL_PASSWORD, URL_USER_ONLY, KV_PASSWORD, GO_DSN_PASSWORD, BEARER].flatMap((pattern) =>
      found(pattern).map((m) => m[2].replace(/^'|'$/g, '')),
    ),
    ...found(URL_QUERY_VALUE)
      .filter((m) => SECRET_NAME.test(m[1]))
      .map((m) => m[2]),
  ];
}

export function referenceRedactCredentials(text: string): string {
  return text
    .replace(GO_DSN_PASSWORD, `$1${REDACTED}$3`)
    .replace(URL_PASSWORD, `$1${REDACTED}$3`)
    .replace(URL_USER_ONLY, (whole, scheme: string, user: string, at: string) =>
      user === REDACTED ? whole : `${scheme}${REDACTED}${at}`,
    )
    .replace(URL_QUERY_VALUE, `$1${REDACTED}`)
    .replace(KV_PASSWORD, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`);
}
