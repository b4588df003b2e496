// Why the event ingest refuses a POST a browser sent. A browser that saved the operator's basic-auth credentials
// sends them with any request another site makes it send: a form post (form content types), or a fetch() with
// a body type needing no CORS preflight (text/plain). Storage servers and SNS send no browser headers, so a POST
// carrying Origin, Sec-Fetch-Site other than `none`, or a form content type is a browser's and is refused (403)
// before its body is read. SNS posts its messages as text/plain without them and keeps working, and so does
// Node's fetch(), which adds Sec-Fetch-Mode alone (a browser's POST always carries Origin, and Sec-Fetch-Site and
// Sec-Fetch-Dest in every browser of the last years).
import type { IncomingHttpHeaders } from 'node:http';

/** Content types an HTML form can post (with text/plain, the types a cross-site request may send unpreflighted). */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data'];
/** Headers browsers add and storage servers, SNS and Node's fetch() do not (Node's fetch adds sec-fetch-mode only). */
const BROWSER_HEADERS = ['origin', 'sec-fetch-site', 'sec-fetch-dest', 'sec-fetch-user', 'referer'];

/** The one-line reason a POST is a browser's and is refused, or undefined when it is not. */
export function browserPostProblem(headers: IncomingHttpHeaders): string | undefined {
  const type = (one(headers['content-type']) ?? '').split(';')[0].trim().toLowerCase();
  if (FORM_TYPES.includes(type)) return `Content-Type: ${type} is a browser form's; events are posted as JSON`;
  if (headers.origin !== undefined)
    return 'Origin: set, so a browser sent this; the ingest takes no POST from browsers';
  const site = one(headers['sec-fetch-site']);
  if (site !== undefined && site !== 'none')
    return `Sec-Fetch-Site: ${site}, so a browser sent this; the ingest takes no POST from browsers`;
  const browserHeader = BROWSER_HEADERS.find((name) => headers[name] !== undefined);
  if (type === 'text/plain' && browserHeader)
    return `Content-Type: text/plain with ${browserHeader}, so a browser sent this; the ingest takes no POST from browsers`;
  return undefined;
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
