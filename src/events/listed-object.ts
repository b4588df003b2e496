// An object bucketflow found by listing a bucket through the S3 API (backfill, the scan source, reconciliation:
// issue 25), as the `s3:ObjectCreated:Put` record MinIO would have sent for the write that made it: the one home
// of that shape, so every origin turns the same object state into the same record and the same event id.
// The record says where it came from without changing what consumers parse: eventSource stays `minio:s3`, the
// principal and user agent are `bucketflow-<origin>`, and responseElements carries `x-bucketflow-origin`.
// Deterministic: no clock; the event time and sequencer are the object's LastModified, so listing the same
// object state twice gives the same record and the same event id (bucket, key, versionId, LastModified).
import { buildEvent } from './record';
import type { S3EventRecord } from './types';

/** How bucketflow learned of an event other than a storage server's notification. */
export const EVENT_ORIGINS = ['backfill', 'scan', 'reconcile'] as const;
export type EventOrigin = (typeof EVENT_ORIGINS)[number];

/** The header-like field of responseElements that names the origin. */
export const ORIGIN_FIELD = 'x-bucketflow-origin';

/** What a listing says of one object (or one version of it). */
export interface ListedObject {
  key: string;
  size: number;
  /** Without quotes. */
  etag: string;
  /** ISO 8601, as the listing gave it. */
  lastModified: string;
  /** Set in a versions listing; `null` (S3's name for an object written before versioning) is left out, as MinIO does. */
  versionId?: string;
}

export interface ListedObjectOptions {
  origin: EventOrigin;
  /** The record's awsRegion (MinIO writes its region, '' when none is set). */
  region?: string;
}

/** The `s3:ObjectCreated:Put` record of a listed object, marked with its origin. */
export function listedObjectRecord(bucket: string, object: ListedObject, { origin, region = '' }: ListedObjectOptions): S3EventRecord {
  const modified = Date.parse(object.lastModified);
  if (Number.isNaN(modified)) throw new TypeError(`listed object ${bucket}/${object.key}: lastModified "${object.lastModified}" is not a time`);
  const agent = `bucketflow-${origin}`;
  return buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket,
    key: object.key,
    size: object.size,
    eTag: object.etag || undefined,
    versionId: object.versionId && object.versionId !== 'null' ? object.versionId : undefined,
    eventTime: new Date(modified),
    region,
    principalId: agent,
    sourceIPAddress: '',
    responseElements: { [ORIGIN_FIELD]: origin },
    host: '',
    userAgent: agent,
  });
}

/** The origin a record carries (listedObjectRecord's mark), or undefined for a storage server's own event. */
export function originOfRecord(record: S3EventRecord): EventOrigin | undefined {
  const origin = record.responseElements?.[ORIGIN_FIELD];
  return EVENT_ORIGINS.find((known) => known === origin);
}
