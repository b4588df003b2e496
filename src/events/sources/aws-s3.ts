// AWS S3 event notification records (eventVersion 2.1-2.3: notification-content-structure), as S3 posts them
// through SNS or as a relay (SQS consumer, Lambda) forwards them raw: event names without `s3:`, the key
// URL-encoded ("red flower.jpg" -> "red+flower.jpg"), and S3's `s3:TestEvent` sent when a configuration is saved.
import { decodeObjectKey } from '../record';
import type { S3EventRecord } from '../types';
import { normalizeS3StyleRecord } from './s3-record';

export const AWS_EVENT_SOURCE = 'aws:s3';

export function parseAwsS3Record(value: unknown, at: string): S3EventRecord {
  // S3's encoding is form encoding (space -> +), which MinIO's decoder undoes; buildEvent re-escapes as MinIO does.
  return normalizeS3StyleRecord(value, at, { eventSource: AWS_EVENT_SOURCE, decodeKey: decodeObjectKey }).record;
}

/** A record from AWS rather than MinIO: MinIO's guide also writes `aws:s3`, but always with `s3:` names. */
export function isAwsS3Record(value: unknown): boolean {
  const record = value as { eventSource?: unknown; eventName?: unknown } | null;
  return (
    record?.eventSource === AWS_EVENT_SOURCE &&
    typeof record.eventName === 'string' &&
    !record.eventName.startsWith('s3:')
  );
}

/** `{"Service":"Amazon S3","Event":"s3:TestEvent",...}`: S3 checks the destination; there is nothing to deliver. */
export function isAwsTestEvent(body: unknown): boolean {
  const event = body as { Service?: unknown; Event?: unknown } | null;
  return typeof event === 'object' && event !== null && event.Service === 'Amazon S3' && event.Event === 's3:TestEvent';
}
