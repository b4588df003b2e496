// Field readers shared by the source parsers: each names the offending field, as the MinIO parser does.
import { EventValidationError, join, quoted } from '../parse';

const TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(\.\d{1,9})?)(Z|[+-]\d{2}:\d{2})$/;
const HEX = /^[0-9A-Fa-f]{1,32}$/;

export function optionalString(obj: Record<string, unknown>, name: string, at: string): string | undefined {
  const value = obj[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new EventValidationError(join(at, name), 'expected a string');
  return value;
}

/** ISO-8601, also with a space for the `T` and microseconds (Ceph writes `2021-02-19 02:03:08.330496Z`), from 1970 to
 * 9999 (UTC). */
export function requireTime(obj: Record<string, unknown>, name: string, at: string): Date {
  const value = obj[name];
  if (value === undefined || value === null || value === '') throw new EventValidationError(join(at, name), 'required');
  const match = typeof value === 'string' ? TIME.exec(value) : null;
  const time = match ? new Date(`${match[1]}T${match[2]}${match[4]}`) : undefined;
  if (!time || Number.isNaN(time.getTime())) throw new EventValidationError(join(at, name), 'not an ISO-8601 time');
  // MinIO's record writes it in UTC with a four-digit year, and a sequencer derived from it must be a hex number.
  if (time.getTime() < 0 || time.getUTCFullYear() > 9999)
    throw new EventValidationError(join(at, name), 'not a time between 1970 and 9999');
  return time;
}

/** A size as a number or a numeric string (older Ceph releases write `"size":"1024"`). */
export function optionalSize(obj: Record<string, unknown>, name: string, at: string): number | undefined {
  const value = obj[name];
  if (value === undefined || value === null || value === '') return undefined;
  const size = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new EventValidationError(join(at, name), 'expected a non-negative integer');
  }
  return size;
}

/** Targets order an object's states by sequencer, so it must be hex as S3 writes it; absent = derived from the time. */
export function optionalSequencer(obj: Record<string, unknown>, name: string, at: string): string | undefined {
  const value = optionalString(obj, name, at);
  if (value !== undefined && !HEX.test(value))
    throw new EventValidationError(join(at, name), 'expected up to 32 hexadecimal digits');
  return value;
}

/**
 * A string, or a number or boolean as text (`"principalId": 123`); absent, null or empty = undefined. An object or a
 * list is refused naming the field: turning one into text would run its own `toString` (`{"toString":1}` throws).
 */
export function optionalText(obj: Record<string, unknown>, name: string, at: string): string | undefined {
  const text = textOf(obj[name]);
  if (text === null) throw new EventValidationError(join(at, name), 'expected a string');
  return text === '' ? undefined : text;
}

/** A value as text: a string as it is, a number or boolean written out, absent = undefined; null = it is no text. */
function textOf(value: unknown): string | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/**
 * An object whose values are kept as text (responseElements); not an object = empty, a value that is not text is
 * refused, naming its key (`responseElements.x-amz-id-2`, or JSON-quoted when it is not a plain name: `[": "]`).
 */
export function textMap(value: unknown, at: string): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const map = value as Record<string, unknown>;
  const entries = Object.keys(map).flatMap((name) => {
    const text = textOf(map[name]);
    if (text === null)
      throw new EventValidationError(
        PLAIN_NAME.test(name) ? join(at, name) : `${at}[${quoted(name)}]`,
        'expected a string',
      );
    return text === undefined ? [] : [[name, text] as const];
  });
  return Object.fromEntries(entries);
}

const PLAIN_NAME = /^[A-Za-z0-9_-]{1,100}$/;

/** The `principalId` of an identity object (`userIdentity`, `s3.bucket.ownerIdentity`); anything else there =
 * undefined. */
export function principalOf(identity: unknown, at: string): string | undefined {
  if (!identity || typeof identity !== 'object' || Array.isArray(identity)) return undefined;
  return optionalText(identity as Record<string, unknown>, 'principalId', at);
}
