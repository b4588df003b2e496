// Ceph RGW bucket notifications pushed to an HTTP endpoint (doc/radosgw/notifications.rst): `{"Records":[...]}`
// with `eventSource` `ceph:s3`, `eventVersion` 2.1/2.2, event names with or without `s3:`, the raw object key,
// `s3.object.metadata`/`tags` as key/val lists, and Ceph's extensions `eventId`, `opaqueData`, `s3.bucket.id`.
import { EventValidationError, join } from '../parse';
import type { S3EventRecord } from '../types';
import { normalizeS3StyleRecord } from './s3-record';

export const CEPH_EVENT_SOURCE = 'ceph:s3';

export interface CephEvent {
  record: S3EventRecord;
  /** Ceph's fields that MinIO's record has no place for, kept beside it. */
  extras: { eventId?: string; opaqueData?: string; bucketId?: string; tags?: Record<string, string> };
}

export function parseCephRecord(value: unknown, at: string): CephEvent {
  const { record, object, raw } = normalizeS3StyleRecord(value, at, {
    eventSource: CEPH_EVENT_SOURCE,
    decodeKey: (key) => key, // RGW sends the key as stored
    userMetadata: (obj, objectAt) => keyValList(obj.metadata, join(objectAt, 'metadata')),
  });
  const extras: CephEvent['extras'] = {};
  const s3 = raw.s3 as Record<string, unknown>;
  // The JSON carries eventId/opaqueData on the record; the field list in Ceph's docs places them under s3.
  for (const [name, holder] of [
    ['eventId', raw],
    ['eventId', s3],
    ['opaqueData', raw],
    ['opaqueData', s3],
  ] as const) {
    const found = holder[name];
    if (typeof found === 'string' && found !== '' && extras[name] === undefined) extras[name] = found;
  }
  const bucketId = (s3.bucket as Record<string, unknown>).id;
  if (typeof bucketId === 'string' && bucketId) extras.bucketId = bucketId;
  const tags = keyValList(object.tags, join(join(at, 's3.object'), 'tags'));
  if (tags) extras.tags = tags;
  return { record, extras };
}

/** `[{"key": "k", "val": "v"}]` (RGW also writes `value`) -> `{k: v}`; absent or empty -> undefined. */
function keyValList(value: unknown, at: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new EventValidationError(at, 'expected a list of {"key", "val"} pairs');
  const entries = value.map((entry, i) => {
    const pair = entry as Record<string, unknown> | null;
    if (!pair || typeof pair !== 'object' || typeof pair.key !== 'string')
      throw new EventValidationError(`${at}[${i}].key`, 'required');
    const val = pair.val ?? pair.value ?? '';
    if (typeof val !== 'string') throw new EventValidationError(`${at}[${i}].val`, 'expected a string');
    return [pair.key, val] as const;
  });
  return entries.length ? Object.fromEntries(entries) : undefined;
}
