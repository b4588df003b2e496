// MinIO's `auth_token` rule, written once: a one-word token travels as `Authorization: Bearer <token>`, a
// two-word value ("<scheme> <credentials>") verbatim. The ingest also accepts HTTP basic auth whose password (or
// whole `user:password`) is the token, since SNS and Ceph RGW send credentials written into the endpoint URL that way.
import { createHash, timingSafeEqual } from 'node:crypto';

const TOO_MANY_WORDS = 'expected a token or "<scheme> <credentials>"';

/** The Authorization header a sender with `token` configured sends; throws for three words or more. */
export function authorizationFor(token: string): string | undefined {
  const words = token.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return undefined;
  if (words.length === 1) return `Bearer ${words[0]}`;
  if (words.length === 2) return words.join(' ');
  throw new Error(TOO_MANY_WORDS);
}

/** Why a token the ingest is to require could never be sent (blank, or more than two words), or undefined. */
export function tokenProblem(token: string): string | undefined {
  const words = token.trim().split(/\s+/).filter(Boolean).length;
  if (words === 0) return 'empty';
  return words > 2 ? `${TOO_MANY_WORDS}, got ${words} words (MinIO sends no header for more)` : undefined;
}

/** Whether a request's Authorization header carries `token`; compared in constant time. */
export function authorizationMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const expected = authorizationFor(token);
  if (expected === undefined) return false;
  let matched = sameText(header.trim(), expected);
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (basic) {
    const credentials = Buffer.from(basic[1], 'base64').toString('utf8');
    const password = credentials.slice(credentials.indexOf(':') + 1);
    // Evaluate both, so the time taken does not tell which form was close.
    const byPassword = sameText(password, token.trim());
    const byPair = sameText(credentials, token.trim());
    matched = matched || byPassword || byPair;
  }
  return matched;
}

/** Constant-time equality of two strings of any length (their SHA-256 digests are compared). */
export function sameText(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
