// The one place a listed object becomes an event record (the scan source, reconciliation and backfill all
// deliver objects found by listing a bucket, not events a server sent): an `s3:ObjectCreated:Put` or an
// `s3:ObjectRemoved:Delete` shaped exactly as MinIO shapes them (src/events/record.ts buildEvent), so targets and
// rules see nothing new. The record says where it came from: `userIdentity.principalId` and the bucket owner are
// `bucketflow-<origin>`, `source.userAgent` is `bucketflow-<origin>`, `responseElements["x-bucketflow-origin"]` is the
// origin, and the delivery's BucketflowSource search attribute carries it too (ParsedEvent.source). Its identity is
// stable: a Put's sequencer is the object's LastModified in ns (as MinIO's is its modification time), so the same
// object state listed twice is the same event (one delivery), and a changed object is a new one.
import { buildEvent, sequencerAt } from '../events/record';
import type { ListingOrigin, ParsedEvent } from '../events/sources';
import type { S3EventRecord } from '../events/types';
import type { ObjectHead, S3Object } from './client';

export interface ListedRecordOptions {
  /** What found the object: a scan, a reconciliation or a backfill. */
  origin: ListingOrigin;
  /** The records' awsRegion (MinIO writes its site region, '' when none is set). */
  region?: string;
  /** The endpoint listed (responseElements' x-minio-origin-endpoint, as MinIO names itself there). */
  endpoint?: string;
}

/** `bucketflow-scan`, `bucketflow-reconcile`, `bucketflow-backfill`: the principal and user agent of such records. */
export function originPrincipal(origin: ListingOrigin): string {
  return `bucketflow-${origin}`;
}

/**
 * `s3:ObjectCreated:Put` for a listed object (a current version), with its content type and user metadata when
 * `head` (its HEAD) is given. The event time and sequencer are the object's LastModified (the sequencer `sequencedAt`
 * when given: activities/scan-diff.ts sequencedAt).
 */
export function createdRecord(
  bucket: string,
  object: S3Object,
  options: ListedRecordOptions & { head?: ObjectHead; sequencedAt?: Date },
): S3EventRecord {
  const modified = Date.parse(object.lastModified);
  const time = Number.isNaN(modified) ? new Date(0) : new Date(modified);
  return buildEvent({
    ...common(bucket, options),
    eventName: 's3:ObjectCreated:Put',
    key: object.key,
    eventTime: time,
    sequencer: sequencerAt((options.sequencedAt ?? time).getTime()),
    size: object.size,
    eTag: object.etag,
    ...(object.versionId && object.versionId !== 'null' ? { versionId: object.versionId } : {}),
    ...(options.head?.contentType ? { contentType: options.head.contentType } : {}),
    ...(options.head ? { userMetadata: metadataAsMinio(options.head) } : {}),
  });
}

/**
 * `s3:ObjectRemoved:Delete` for an object a listing no longer holds. The time it went is unknown: `detectedAt` (the
 * listing's start, the same for every retry of it) is its event time and sequencer, later than any state listed before.
 */
export function removedRecord(
  bucket: string,
  key: string,
  options: ListedRecordOptions & { detectedAt: Date },
): S3EventRecord {
  return buildEvent({
    ...common(bucket, options),
    eventName: 's3:ObjectRemoved:Delete',
    key,
    eventTime: options.detectedAt,
    sequencer: sequencerAt(options.detectedAt.getTime()),
  });
}

/** A record as the publisher takes it, its origin kept as the delivery's source. */
export function listedEvent(record: S3EventRecord, origin: ListingOrigin): ParsedEvent {
  return { source: origin, record };
}

function common(bucket: string, options: ListedRecordOptions) {
  const principalId = originPrincipal(options.origin);
  return {
    bucket,
    region: options.region ?? '',
    principalId,
    userAgent: principalId,
    sourceIPAddress: '',
    responseElements: {
      'x-bucketflow-origin': options.origin,
      ...(options.endpoint ? { 'x-minio-origin-endpoint': options.endpoint } : {}),
    },
  };
}

/**
 * MinIO's records carry the content type as `content-type` and user metadata as `X-Amz-Meta-<Name>` (canonical header
 * case) in userMetadata; S3's HEAD returns the bare lower-case names.
 */
function metadataAsMinio(head: ObjectHead): Record<string, string> {
  const out: Record<string, string> = head.contentType ? { 'content-type': head.contentType } : {};
  for (const [name, value] of Object.entries(head.metadata)) {
    const canonical = name
      .split('-')
      .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
      .join('-');
    out[`X-Amz-Meta-${canonical}`] = value;
  }
  return out;
}
