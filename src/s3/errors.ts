// What a failed S3 call means, in one line naming the bucket and the endpoint (never a credential), with whether
// trying again can help: an unreachable endpoint, throttling and a server's 5xx can pass (retryable); refused
// credentials, a bucket or object that does not exist, or a request the server rejects will not (so a Temporal
// activity throws those as non-retryable). The AWS SDK's errors (and Node's socket errors under them) are read here
// once, so every caller of src/s3 gets the same answer.
import { redactSecrets } from '../config/connection-strings';
import { causeChain } from '../errors';

export type S3FailureKind =
  | 'unreachable' // no answer: refused, reset, DNS, timeout
  | 'credentials' // InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied, no credentials found
  | 'no-such-bucket'
  | 'no-such-key'
  | 'throttled' // SlowDown, 429, 503
  | 'server' // other 5xx
  | 'rejected' // other 4xx, and 501: the request itself is wrong for this server, or beyond it
  | 'bad-listing' // the server's listing cannot be followed: truncated without a marker, or a page that does not move on
  | 'other'; // not an answer of the S3 API (e.g. a response that is not S3's XML)

const RETRYABLE: Record<S3FailureKind, boolean> = {
  unreachable: true,
  credentials: false,
  'no-such-bucket': false,
  'no-such-key': false,
  throttled: true,
  server: true,
  rejected: false,
  'bad-listing': false,
  other: true,
};

export class S3AccessError extends Error {
  /** Whether trying again later can succeed; false = an activity should fail without retrying. */
  readonly retryable: boolean;
  constructor(
    readonly kind: S3FailureKind,
    readonly bucket: string,
    readonly endpoint: string,
    detail: string,
    readonly code?: string,
  ) {
    super(`S3 bucket "${bucket}" at ${endpoint}: ${detail}`);
    this.name = 'S3AccessError';
    this.retryable = RETRYABLE[kind];
  }
}

export interface FailureContext {
  bucket: string;
  endpoint: string;
  /** The object a HEAD asked for, if any (a 404 then means the object, unless the bucket is gone). */
  key?: string;
  /** Values to hide from any server text quoted (the access key id and secret). */
  secrets: string[];
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'Forbidden',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidSecurity',
  'AuthorizationHeaderMalformed',
  'CredentialsProviderError',
  'XAdminUserNotFound', // versitygw's answer (HTTP 404) to an access key it does not know
]);
const THROTTLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequests',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'RequestThrottled',
]);

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  errors?: unknown[];
  $metadata?: { httpStatusCode?: number };
}

/** The S3AccessError a failed call amounts to (an S3AccessError passes through). */
export function s3Failure(error: unknown, context: FailureContext): S3AccessError {
  if (error instanceof S3AccessError) return error;
  const failure = (kind: S3FailureKind, detail: string, code?: string) =>
    new S3AccessError(kind, context.bucket, context.endpoint, oneLine(detail), code);
  const sdk = (error ?? {}) as SdkError;
  const status = sdk.$metadata?.httpStatusCode;
  const code = typeof sdk.Code === 'string' ? sdk.Code : sdk.name;
  const network = networkCode(error);
  if (network) return failure('unreachable', `endpoint unreachable (${network})`, network);
  if (code === 'CredentialsProviderError') {
    return failure(
      'credentials',
      'no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile (AWS_PROFILE)',
      code,
    );
  }
  if ((code && CREDENTIAL_CODES.has(code)) || status === 403) {
    return failure(
      'credentials',
      `credentials refused (${code ?? `HTTP ${status}`}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      code,
    );
  }
  if (code === 'NoSuchBucket') return failure('no-such-bucket', 'no such bucket', code);
  if (code === 'NoSuchKey' || code === 'NoSuchVersion' || (status === 404 && context.key !== undefined)) {
    return failure('no-such-key', `no such object ${JSON.stringify(context.key ?? '')}`, code);
  }
  if ((code && THROTTLE_CODES.has(code)) || status === 429 || status === 503)
    return failure('throttled', `throttled (${code ?? `HTTP ${status}`}): try again later`, code);
  if (code === 'NotImplemented' || status === 501)
    return failure('rejected', `not implemented by this server (${code ?? 'HTTP 501'})`, code);
  if (status !== undefined && status >= 500)
    return failure('server', `server error HTTP ${status} (${code ?? 'no code'})`, code);
  if (status !== undefined && status >= 400) {
    return failure(
      'rejected',
      `request refused HTTP ${status} (${code ?? 'no code'}): ${quoted(sdk.message, context)}`,
      code,
    );
  }
  return failure('other', `unexpected answer: ${quoted(sdk.message ?? String(error), context)}`, code);
}

/** The socket error code under an SDK error (an AggregateError's first, as Node's happy-eyeballs connect throws), or
 * the SDK's timeout. */
function networkCode(error: unknown): string | undefined {
  for (const link of causeChain(error)) {
    const candidates = [link, ...(((link as SdkError).errors ?? []) as SdkError[])];
    for (const candidate of candidates) {
      const code = (candidate as SdkError).code;
      if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
      if ((candidate as SdkError).name === 'TimeoutError') return 'timed out';
    }
  }
  return undefined;
}

/** A server's message, as one short line with the credentials hidden. */
function quoted(message: string | undefined, context: FailureContext): string {
  const text = oneLine(redactSecrets(context.secrets)(message || 'no message'));
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
