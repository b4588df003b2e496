// Standard Webhooks (https://www.standardwebhooks.com) signatures: the webhook target signs each POST with
// every configured secret, and receivers verify with `verifyWebhook`. Signed content: `<id>.<timestamp>.<body>`,
// HMAC-SHA256, base64, sent as `v1,<signature>` (space-separated when several secrets are in rotation).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** Receivers refuse a timestamp further than this from their clock (the spec's recommendation). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export class WebhookSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSignatureError';
  }
}

/**
 * `whsec_<base64>` secrets, several separated by spaces or commas (rotation: sign with old and new at once).
 * Throws naming the bad secret's position; the secret itself is never repeated in the message.
 */
export function parseSigningSecrets(value: string): Buffer[] {
  const secrets = value.split(/[\s,]+/).filter(Boolean);
  if (secrets.length === 0) throw new WebhookSignatureError('expected at least one whsec_... secret');
  return secrets.map((secret, i) => {
    const which = secrets.length > 1 ? `secret ${i + 1}` : 'secret';
    if (!secret.startsWith(SECRET_PREFIX))
      throw new WebhookSignatureError(`${which}: expected the prefix "${SECRET_PREFIX}"`);
    const encoded = secret.slice(SECRET_PREFIX.length);
    const key = Buffer.from(encoded, 'base64');
    // Buffer.from ignores bad characters: re-encoding is the only way to see that the text was base64.
    if (
      !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ||
      key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')
    ) {
      throw new WebhookSignatureError(`${which}: expected base64 after "${SECRET_PREFIX}"`);
    }
    if (key.length < 16)
      throw new WebhookSignatureError(`${which}: expected at least 16 bytes of key (got ${key.length})`);
    return key;
  });
}

export interface SignedMessage {
  /** `webhook-id`: the event id, the same on every retry so receivers can dedupe. */
  id: string;
  /** `webhook-timestamp`: seconds since the epoch, taken at each attempt. */
  timestamp: number;
  body: string;
}

function signature(key: Buffer, message: SignedMessage): string {
  return createHmac('sha256', key).update(`${message.id}.${message.timestamp}.${message.body}`).digest('base64');
}

/** The three headers for one request, one `v1,` signature per key. */
export function signWebhook(
  message: SignedMessage,
  keys: Buffer[],
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(message.timestamp),
    'webhook-signature': keys.map((key) => `v1,${signature(key, message)}`).join(' '),
  };
}

export interface VerifyOptions {
  toleranceSeconds?: number;
  /** The receiver's clock, for tests. */
  nowSeconds?: number;
}

type Headers = Record<string, string | string[] | undefined> | globalThis.Headers;

/**
 * For receivers: checks a request's Standard Webhooks headers against its raw body. `secrets` as configured on
 * the target (`whsec_...`, several allowed). Returns the verified `webhook-id`; throws WebhookSignatureError.
 */
export function verifyWebhook(
  body: string | Buffer,
  headers: Headers,
  secrets: string | string[],
  options: VerifyOptions = {},
): string {
  const keys = parseSigningSecrets(Array.isArray(secrets) ? secrets.join(' ') : secrets);
  const id = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!/^\d+$/.test(timestampText))
    throw new WebhookSignatureError('webhook-timestamp: expected seconds since the epoch');
  const timestamp = Number(timestampText);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - timestamp) > tolerance) {
    throw new WebhookSignatureError(
      `webhook-timestamp: ${now - timestamp} s from now, outside the ${tolerance} s tolerance`,
    );
  }
  const message = { id, timestamp, body: Buffer.isBuffer(body) ? body.toString('utf8') : body };
  const offered = signatures.split(' ').flatMap((entry) => {
    const [version, value] = entry.split(',', 2);
    return version === 'v1' && value ? [Buffer.from(value)] : [];
  });
  for (const key of keys) {
    const expected = Buffer.from(signature(key, message));
    if (offered.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected)))
      return id;
  }
  throw new WebhookSignatureError(
    'webhook-signature: no signature matches (wrong secret, or the body or headers were changed)',
  );
}

function header(headers: Headers, name: string): string {
  const value =
    headers instanceof globalThis.Headers ? headers.get(name) : (headers[name] ?? headers[name.toLowerCase()]);
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) throw new WebhookSignatureError(`${name}: header missing`);
  return text;
}
