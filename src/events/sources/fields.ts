// Field readers shared by the source parsers: each names the offending field, as the MinIO parser does.
import { EventValidationError, join } from '../parse';

const TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(\.\d{1,9})?)(Z|[+-]\d{2}:\d{2})$/;
const HEX = /^[0-9A-Fa-f]{1,32}$/;

export function optionalString(obj: Record<string, unknown>, name: string, at: string): string | undefined {
  const value = obj[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new EventValidationError(join(at, name), 'expected a string');
  return value;
}

/** ISO-8601, also with a space for the `T` and microseconds (Ceph writes `2021-02-19 02:03:08.330496Z`). */
export function requireTime(obj: Record<string, unknown>, name: string, at: string): Date {
  const value = obj[name];
  if (value === undefined || value === null || value === '') throw new EventValidationError(join(at, name), 'required');
  const match = typeof value === 'string' ? TIME.exec(value) : null;
  const time = match ? new Date(`${match[1]}T${match[2]}${match[4]}`) : undefined;
  if (!time || Number.isNaN(time.getTime())) throw new EventValidationError(join(at, name), 'not an ISO-8601 time');
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
  if (value !== undefined && !HEX.test(value)) throw new EventValidationError(join(at, name), 'expected up to 32 hexadecimal digits');
  return value;
}

/** An object whose values are kept as strings (responseElements, requestParameters). */
export function stringMap(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)]));
}
