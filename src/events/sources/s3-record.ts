// The S3 notification record as AWS S3 and Ceph RGW write it, normalized to MinIO's record: the event name
// mapped to MinIO's, the key query-escaped as MinIO does, the time in milliseconds, the sequencer kept.
import { EventValidationError, expectObject, join, requireKey, requireString } from '../parse';
import { buildEvent } from '../record';
import type { S3EventRecord } from '../types';
import { toMinioEventName } from './event-names';
import {
  optionalSequencer,
  optionalSize,
  optionalString,
  optionalText,
  principalOf,
  requireTime,
  textMap,
} from './fields';

export interface S3StyleFields {
  record: S3EventRecord;
  /** The parsed `s3.object`, for fields only one source has (Ceph's metadata and tags). */
  object: Record<string, unknown>;
  raw: Record<string, unknown>;
}

/**
 * `decodeKey` turns the key as the source writes it into the raw key (AWS URL-encodes it, Ceph does not);
 * `userMetadata` comes from the source's own field.
 */
export function normalizeS3StyleRecord(
  value: unknown,
  at: string,
  source: {
    eventSource: 'aws:s3' | 'ceph:s3';
    decodeKey: (key: string) => string;
    userMetadata?: (object: Record<string, unknown>, at: string) => Record<string, string> | undefined;
  },
): S3StyleFields {
  const raw = expectObject(value, at || 'body');
  const eventName = toMinioEventName(requireString(raw, 'eventName', at), join(at, 'eventName'));
  const eventTime = requireTime(raw, 'eventTime', at);
  const s3At = join(at, 's3');
  const s3 = expectObject(raw.s3, s3At);
  const bucket = expectObject(s3.bucket, join(s3At, 'bucket'));
  const bucketName = requireString(bucket, 'name', join(s3At, 'bucket'));
  const objectAt = join(s3At, 'object');
  const object = expectObject(s3.object, objectAt);
  const key = source.decodeKey(requireKey(object, objectAt));
  if (!key) throw new EventValidationError(join(objectAt, 'key'), 'required');
  const owner = principalOf(bucket.ownerIdentity, join(s3At, 'bucket.ownerIdentity'));
  const user = principalOf(raw.userIdentity, join(at, 'userIdentity'));
  const request = raw.requestParameters;
  const region = optionalString(raw, 'awsRegion', at) ?? '';
  const sourceIPAddress =
    (request && typeof request === 'object' && !Array.isArray(request)
      ? optionalText(request as Record<string, unknown>, 'sourceIPAddress', join(at, 'requestParameters'))
      : undefined) ?? '';
  const record = buildEvent({
    eventName,
    eventSource: source.eventSource,
    eventTime,
    region,
    bucket: bucketName,
    bucketArn: optionalString(bucket, 'arn', join(s3At, 'bucket')),
    configurationId: optionalString(s3, 'configurationId', s3At),
    key,
    size: optionalSize(object, 'size', objectAt),
    eTag: optionalString(object, 'eTag', objectAt) ?? optionalString(object, 'etag', objectAt),
    versionId: optionalString(object, 'versionId', objectAt),
    sequencer: optionalSequencer(object, 'sequencer', objectAt),
    userMetadata: source.userMetadata?.(object, objectAt),
    principalId: user ?? owner ?? '',
    sourceIPAddress,
    requestParameters: { principalId: user ?? '', region, sourceIPAddress },
    responseElements: textMap(raw.responseElements, join(at, 'responseElements')),
    host: sourceIPAddress,
    userAgent: '',
  });
  return { record, object, raw };
}
