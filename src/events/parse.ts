// Validates what a storage server sends: MinIO's webhook envelope {EventName, Key, Records}, the older
// {EventType, ...}, {Records: [...]}, a bare record, or an array of those. Errors name the first bad field.
import { EVENT_NAMES } from './names';
import type { S3EventRecord } from './types';
import { errorMessage } from '../errors';
import { sequencerTimeProblem } from './sequencer-time';

export class EventValidationError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'EventValidationError';
  }
}

/** A MinIO sequencer that cannot be right (src/events/sequencer-time.ts): refused as any bad field is, and counted
 * apart. */
export class ImplausibleSequencerError extends EventValidationError {
  constructor(field: string, problem: string) {
    super(field, problem);
    this.name = 'ImplausibleSequencerError';
  }
}

/**
 * A body carrying more records than one request may (the ingest's BUCKETFLOW_INGEST_MAX_RECORDS), counted before
 * any record is read: the ingest answers 413, whatever the records hold.
 */
export class TooManyRecordsError extends Error {
  constructor(
    readonly count: number,
    readonly limit: number,
  ) {
    super(`${count} records in one body; the limit is ${limit} (BUCKETFLOW_INGEST_MAX_RECORDS)`);
    this.name = 'TooManyRecordsError';
  }
}

const CONCRETE_NAMES = new Set(EVENT_NAMES);
// eventTime as MinIO writes it today (milliseconds) or as the guide's older records do (seconds).
const SEQUENCER = /^[0-9A-Fa-f]{1,32}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** How deep a body may nest: records are ~7 levels deep; a body nested deeper could never be encoded as a workflow
 * input. */
export const MAX_JSON_DEPTH = 64;

export function parseIncomingJson(text: string): S3EventRecord[] {
  return parseIncomingEvents(parseJson(text, 'body'));
}

/** JSON text as a value, refused (naming `field`) when it is not JSON or nests deeper than MAX_JSON_DEPTH. */
export function parseJson(text: string, field: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new EventValidationError(field, `not valid JSON (${errorMessage(err)})`);
  }
  // Walked without recursion: a body nested 100,000 levels deep must not exhaust the stack here either.
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > MAX_JSON_DEPTH) throw new EventValidationError(field, `nested deeper than ${MAX_JSON_DEPTH} levels`);
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return value;
}

/** How records are judged beyond their shape. */
export interface ParseOptions {
  /**
   * The records came from a storage server over the network as MinIO's (the ingest, the Kafka source): a sequencer
   * far ahead of its eventTime is refused (ImplausibleSequencerError). Off for records normalized from another
   * source (their sequencers are opaque) and for the library's callers.
   */
  judgeSequencers?: boolean;
}

export function parseIncomingEvents(body: unknown, options: ParseOptions = {}): S3EventRecord[] {
  if (Array.isArray(body)) {
    if (body.length === 0) throw new EventValidationError('body', 'empty list of events');
    return body.flatMap((item, i) => parseOne(item, `[${i}]`, options));
  }
  return parseOne(body, '', options);
}

function parseOne(value: unknown, at: string, options: ParseOptions): S3EventRecord[] {
  const obj = expectObject(value, at || 'body');
  if (!('Records' in obj)) return [validateRecord(obj, at, options)];
  for (const name of ['EventName', 'EventType', 'Key']) optionalType(obj, name, 'string', at);
  const records = obj.Records;
  const field = join(at, 'Records');
  if (!Array.isArray(records)) throw new EventValidationError(field, 'expected a list of records');
  if (records.length === 0) throw new EventValidationError(field, 'empty');
  return records.map((record, i) => validateRecord(record, `${field}[${i}]`, options));
}

function validateRecord(value: unknown, at: string, options: ParseOptions): S3EventRecord {
  const record = expectObject(value, at || 'body');
  for (const name of ['eventVersion', 'eventSource']) requireString(record, name, at);
  const eventName = requireString(record, 'eventName', at);
  if (!CONCRETE_NAMES.has(eventName))
    throw new EventValidationError(join(at, 'eventName'), `unknown event name ${quoted(eventName)}`);
  const eventTime = requireString(record, 'eventTime', at);
  if (!ISO_8601.test(eventTime) || Number.isNaN(Date.parse(eventTime))) {
    throw new EventValidationError(join(at, 'eventTime'), 'not an ISO-8601 time');
  }
  optionalType(record, 'awsRegion', 'string', at);
  for (const name of ['userIdentity', 'requestParameters', 'responseElements', 'source'])
    optionalObject(record, name, at);
  const s3 = expectObject(record.s3, join(at, 's3'));
  const bucket = expectObject(s3.bucket, join(at, 's3.bucket'));
  requireString(bucket, 'name', join(at, 's3.bucket'));
  optionalType(bucket, 'arn', 'string', join(at, 's3.bucket'));
  const object = expectObject(s3.object, join(at, 's3.object'));
  validateObject(object, join(at, 's3.object'));
  const implausible = options.judgeSequencers ? sequencerTimeProblem(object.sequencer as string, eventTime) : undefined;
  if (implausible) throw new ImplausibleSequencerError(join(at, 's3.object.sequencer'), implausible);
  return record as unknown as S3EventRecord;
}

function validateObject(object: Record<string, unknown>, at: string): void {
  requireKey(object, at);
  // Targets order states by sequencer, so it must be the hex MinIO (and S3) writes.
  if (!SEQUENCER.test(requireString(object, 'sequencer', at))) {
    throw new EventValidationError(join(at, 'sequencer'), 'expected up to 32 hexadecimal digits');
  }
  optionalType(object, 'size', 'number', at);
  if (
    object.size !== undefined &&
    object.size !== null &&
    !(Number.isSafeInteger(object.size) && (object.size as number) >= 0)
  ) {
    throw new EventValidationError(join(at, 'size'), 'expected a non-negative integer');
  }
  for (const name of ['eTag', 'contentType', 'versionId']) optionalType(object, name, 'string', at);
  optionalObject(object, 'userMetadata', at);
}

export function expectObject(value: unknown, at: string): Record<string, unknown> {
  if (value === undefined || value === null) throw new EventValidationError(at, 'required');
  if (typeof value !== 'object' || Array.isArray(value)) throw new EventValidationError(at, 'expected an object');
  return value as Record<string, unknown>;
}

export function requireString(obj: Record<string, unknown>, name: string, at: string): string {
  const value = obj[name];
  if (value === undefined || value === null || value === '') throw new EventValidationError(join(at, name), 'required');
  if (typeof value !== 'string') throw new EventValidationError(join(at, name), 'expected a string');
  return value;
}

/**
 * `object.key`: a string that is well-formed Unicode. A lone surrogate (`"\ud800"`) is no S3 key (keys are UTF-8)
 * and would make the key's escaping (encodeURIComponent) throw.
 */
export function requireKey(object: Record<string, unknown>, at: string): string {
  const key = requireString(object, 'key', at);
  const lone = LONE_SURROGATE.exec(key);
  if (lone)
    throw new EventValidationError(join(at, 'key'), `not valid Unicode (a lone surrogate at character ${lone.index})`);
  return key;
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u; // with the u flag, a surrogate pair is one code point: only a lone half matches

/** How much of a value an error message quotes: enough to recognise it, never a megabyte sent back or logged. */
export const QUOTED_CHARS = 100;

/** A value as an error message quotes it: JSON-escaped (no raw newline or terminal escape), cut at QUOTED_CHARS. */
export function quoted(value: string): string {
  return value.length > QUOTED_CHARS
    ? `${JSON.stringify(value.slice(0, QUOTED_CHARS))}... (${value.length} characters)`
    : JSON.stringify(value);
}

export function optionalType(obj: Record<string, unknown>, name: string, type: 'string' | 'number', at: string): void {
  const value = obj[name];
  if (value !== undefined && value !== null && typeof value !== type) {
    throw new EventValidationError(join(at, name), `expected a ${type}`);
  }
}

/** Absent or null, or else an object. */
export function optionalObject(obj: Record<string, unknown>, name: string, at: string): void {
  const value = obj[name];
  if (value !== undefined && value !== null) expectObject(value, join(at, name));
}

export function join(at: string, field: string): string {
  return at ? `${at}.${field}` : field;
}
