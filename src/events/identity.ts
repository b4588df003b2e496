import { createHash } from 'node:crypto';
import { decodeObjectKey } from './record';
import type { S3EventRecord } from './types';

/**
 * The stable identity of an event: the same change reported twice (a retry, a restart) has the same
 * identity, any other change a different one. 32 hex chars, safe inside workflow ids and headers.
 */
export function eventIdentity(record: S3EventRecord): string {
  return createHash('sha256')
    .update(JSON.stringify(eventIdentityParts(record)))
    .digest('hex')
    .slice(0, 32);
}

/** What the identity is made of: [bucket, raw key, versionId, sequencer, eventName]. */
export function eventIdentityParts(record: S3EventRecord): [string, string, string, string, string] {
  const { bucket, object } = record.s3;
  return [
    bucket.name,
    decodeObjectKey(object.key),
    object.versionId ?? '',
    object.sequencer.toUpperCase(),
    record.eventName,
  ];
}
