import { createHash } from 'node:crypto';
import { decodeObjectKey } from './record';
import type { S3EventRecord } from './types';

/**
 * The stable identity of an event: the same change reported twice (a retry, a restart) has the same
 * identity, any other change a different one. 32 hex chars, safe inside workflow ids and headers.
 */
export function eventIdentity(record: S3EventRecord): string {
  const { bucket, object } = record.s3;
  const parts = [bucket.name, decodeObjectKey(object.key), object.versionId ?? '', object.sequencer, record.eventName];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
