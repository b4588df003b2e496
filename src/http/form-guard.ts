// What protects the status page's forms from other sites: a browser that saved the operator's credentials
// (basic auth) sends them with any request, including a form another site posts or a page that frames ours. So a
// form post must come from our own origin (the browser's `Sec-Fetch-Site`, else `Origin`: a request with neither,
// `Origin: null` or a malformed Origin is refused) and carry a CSRF token only our page could have read; and the
// pages may not be framed or content-sniffed.
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { sameText } from '../config/auth-token';

/** Headers for every operator page: no framing (clickjacking), no sniffing, nothing loaded from elsewhere. */
export const PAGE_SECURITY_HEADERS = {
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
} as const;

/** Why a form post is not same-origin, or undefined when it is. */
export function crossOriginProblem(headers: IncomingHttpHeaders): string | undefined {
  const site = one(headers['sec-fetch-site']);
  if (site !== undefined) return site === 'same-origin' ? undefined : `Sec-Fetch-Site: ${site}, expected same-origin`;
  const origin = one(headers.origin);
  if (origin === undefined) return 'neither Origin nor Sec-Fetch-Site: cannot tell where the form was posted from';
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return 'Origin: not a URL';
  }
  if (!host || host !== headers.host) return `Origin: ${origin} is not this page's origin`;
  return undefined;
}

/**
 * CSRF tokens bound to the credentials a request carries, signed with a secret of this process (a form served by
 * one ingest process is posted back to it; a restart asks for a reload).
 */
export class CsrfTokens {
  private readonly secret = randomBytes(32);

  tokenFor(authorization: string | undefined): string {
    return createHmac('sha256', this.secret)
      .update(`csrf\n${authorization ?? ''}`)
      .digest('base64url');
  }

  matches(token: string | null | undefined, authorization: string | undefined): boolean {
    return typeof token === 'string' && sameText(token, this.tokenFor(authorization));
  }
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
