// Which server sent a body, and its events as MinIO records: MinIO (and its forks), Ceph RGW, AWS S3 records,
// S3 events inside SNS messages, EventBridge events. Rules, dedupe and targets see only MinIO's record; the
// source travels beside each record (workflow input, search attribute BucketflowSource).
import { EventValidationError, parseIncomingEvents, TooManyRecordsError } from '../parse';
import type { S3EventRecord } from '../types';
import { isAwsS3Record, isAwsTestEvent, parseAwsS3Record } from './aws-s3';
import { CEPH_EVENT_SOURCE, parseCephRecord } from './ceph';
import { isEventBridgeEvent, parseEventBridgeEvent } from './eventbridge';

export const EVENT_SOURCES = ['minio', 'ceph', 'aws-s3', 'aws-sns', 'aws-eventbridge'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/**
 * Events no server sent: bucketflow made them from a bucket's listing (src/s3/records.ts): a scan source, a
 * reconciliation, a backfill. Never a body's source (no token, not detected), only a delivery's origin.
 */
export const LISTING_ORIGINS = ['scan', 'reconcile', 'backfill'] as const;
export type ListingOrigin = (typeof LISTING_ORIGINS)[number];
/** Where a delivery's event came from (its BucketflowSource search attribute): a server, or a listing. */
export type DeliverySource = EventSource | ListingOrigin;

export interface ParsedEvent {
  source: DeliverySource;
  /** MinIO's record, whatever the source wrote. */
  record: S3EventRecord;
  /** Source fields MinIO's record has no place for (Ceph's eventId, opaqueData, tags; EventBridge's id). */
  extras?: Record<string, unknown>;
}

export interface ParsedBody {
  source: EventSource;
  events: ParsedEvent[];
  /** Set when the body is valid but carries nothing to deliver (S3's `s3:TestEvent`). */
  nothingToDeliver?: string;
}

export const EXPECTED_BODY =
  'expected MinIO\'s webhook body {"EventName", "Key", "Records"}, {"Records": [...]} from MinIO, Ceph RGW or AWS S3, ' +
  'an SNS message (Type, TopicArn, Message) or an EventBridge event (source "aws.s3", detail-type, detail)';

/** Every record of a body of any source, validated (`parseSourceBody` of its `detectSource`). */
export function parseEventBody(body: unknown, maxRecords = Infinity): ParsedBody {
  return parseSourceBody(detectSource(body), body, maxRecords);
}

/**
 * Every record of a body whose source is already detected (the ingest detects it once, to check that source's
 * token first), validated; throws EventValidationError naming the first bad field, so a body with any invalid
 * record starts nothing. One source per body (per-source tokens rely on it). SNS envelopes are refused here:
 * only the ingest's SNS protocol (src/http/sns.ts), which checks their signature, unwraps them. A body of more
 * than `maxRecords` records is refused (TooManyRecordsError) before any of them is read.
 */
export function parseSourceBody(source: EventSource | undefined, body: unknown, maxRecords = Infinity): ParsedBody {
  if (source === undefined) throw new EventValidationError('body', EXPECTED_BODY);
  const count = recordCount(source, body);
  if (count > maxRecords) throw new TooManyRecordsError(count, maxRecords);
  switch (source) {
    case 'aws-sns':
      throw new EventValidationError(
        'body',
        'an SNS message: post it to the ingest server, which verifies its signature',
      );
    case 'aws-eventbridge': {
      const { record, extras } = parseEventBridgeEvent(body);
      return { source, events: [{ source, record, extras }] };
    }
    case 'minio':
      return minio(body);
    default:
      if (isAwsTestEvent(body)) return { source: 'aws-s3', events: [], nothingToDeliver: 's3:TestEvent' };
      return fromRecords(source, (body as { Records: unknown[] }).Records);
  }
}

/**
 * The source a body claims to come from, judged from its shape alone (before validation, so the ingest can
 * check that source's token first); undefined when it is none of the accepted formats.
 */
export function detectSource(body: unknown): EventSource | undefined {
  if (Array.isArray(body)) return 'minio';
  if (typeof body !== 'object' || body === null) return undefined;
  if (Object.hasOwn(body, 'Type') && Object.hasOwn(body, 'TopicArn')) return 'aws-sns'; // an SNS HTTP(S) envelope (then it must be a valid, signed one)
  if (isEventBridgeEvent(body)) return 'aws-eventbridge';
  if (isAwsTestEvent(body)) return 'aws-s3';
  const records = (body as { Records?: unknown }).Records;
  if (Array.isArray(records) && records.length > 0) return sourceOfRecord(records[0]);
  const keys = Object.keys(body);
  return ['Records', 'EventName', 'EventType', 'Key', 'eventName', 's3'].some((key) => keys.includes(key))
    ? 'minio'
    : undefined;
}

/**
 * How many records a body of `source` carries, from its shape alone (nothing validated): what parseSourceBody
 * would return as many events of, when it returns.
 */
export function recordCount(source: EventSource, body: unknown): number {
  if (source === 'aws-eventbridge' || source === 'aws-sns') return 1;
  const inOne = (item: unknown) => {
    const records = typeof item === 'object' && item !== null ? (item as { Records?: unknown }).Records : undefined;
    return Array.isArray(records) ? records.length : 1;
  };
  if (source === 'minio')
    return Array.isArray(body) ? body.reduce((sum: number, item) => sum + inOne(item), 0) : inOne(body);
  return isAwsTestEvent(body) ? 0 : inOne(body);
}

function minio(body: unknown): ParsedBody {
  // From a storage server as MinIO's records: their sequencers are times, and one far ahead is forged.
  return {
    source: 'minio',
    events: parseIncomingEvents(body, { judgeSequencers: true }).map((record) => ({ source: 'minio', record })),
  };
}

function sourceOfRecord(record: unknown): EventSource {
  if ((record as { eventSource?: unknown } | null)?.eventSource === CEPH_EVENT_SOURCE) return 'ceph';
  return isAwsS3Record(record) ? 'aws-s3' : 'minio';
}

function fromRecords(source: 'ceph' | 'aws-s3', records: unknown[]): ParsedBody {
  records.forEach((record, i) => {
    const other = sourceOfRecord(record);
    if (other !== source)
      throw new EventValidationError(
        `Records[${i}].eventSource`,
        `a ${other} record in a body of ${source} records (one source per body)`,
      );
  });
  const events = records.map((record, i): ParsedEvent => {
    if (source === 'aws-s3') return { source, record: parseAwsS3Record(record, `Records[${i}]`) };
    const { record: normalized, extras } = parseCephRecord(record, `Records[${i}]`);
    return { source, record: normalized, extras };
  });
  return { source, events };
}
