// Amazon EventBridge events from S3 (`source` `aws.s3`; AmazonS3 userguide ev-events), delivered by an
// EventBridge API destination: the kind of change is in `detail-type` (and `reason`/`deletion-type`), the
// object under `detail`, with its key as stored.
import { EventValidationError, expectObject, quoted, requireKey, requireString } from '../parse';
import { buildEvent } from '../record';
import type { S3EventRecord } from '../types';
import { optionalSequencer, optionalSize, optionalString, requireTime } from './fields';

export const EVENTBRIDGE_SOURCE = 'aws.s3';

const CREATED_BY_REASON: Readonly<Record<string, string>> = {
  PutObject: 's3:ObjectCreated:Put',
  'POST Object': 's3:ObjectCreated:Post',
  CopyObject: 's3:ObjectCreated:Copy',
  CompleteMultipartUpload: 's3:ObjectCreated:CompleteMultipartUpload',
};

const BY_DETAIL_TYPE: Readonly<Record<string, string>> = {
  'Object Restore Initiated': 's3:ObjectRestore:Post',
  'Object Restore Completed': 's3:ObjectRestore:Completed',
  'Object Tags Added': 's3:ObjectCreated:PutTagging',
  'Object Tags Deleted': 's3:ObjectCreated:DeleteTagging',
};

export interface EventBridgeEvent {
  record: S3EventRecord;
  extras: { id: string; account?: string };
}

/** Whether a body is an EventBridge event (of any service: a wrong `source` is then a clear error). */
export function isEventBridgeEvent(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'detail-type' in body && 'detail' in body;
}

export function parseEventBridgeEvent(body: unknown): EventBridgeEvent {
  const event = expectObject(body, 'body');
  const source = requireString(event, 'source', '');
  if (source !== EVENTBRIDGE_SOURCE)
    throw new EventValidationError('source', `expected "${EVENTBRIDGE_SOURCE}", got ${quoted(source)}`);
  const detailType = requireString(event, 'detail-type', '');
  const detail = expectObject(event.detail, 'detail');
  const bucket = expectObject(detail.bucket, 'detail.bucket');
  const object = expectObject(detail.object, 'detail.object');
  const sourceIPAddress = optionalString(detail, 'source-ip-address', 'detail') ?? '';
  const region = optionalString(event, 'region', '') ?? '';
  const requester = optionalString(detail, 'requester', 'detail') ?? '';
  const requestId = optionalString(detail, 'request-id', 'detail');
  const resources = Array.isArray(event.resources) ? event.resources : [];
  const record = buildEvent({
    eventName: eventNameOf(detailType, detail),
    eventSource: 'aws:s3',
    eventTime: requireTime(event, 'time', ''),
    region,
    bucket: requireString(bucket, 'name', 'detail.bucket'),
    bucketArn: typeof resources[0] === 'string' ? resources[0] : undefined,
    key: requireKey(object, 'detail.object'),
    size: optionalSize(object, 'size', 'detail.object'),
    eTag: optionalString(object, 'etag', 'detail.object'),
    versionId: optionalString(object, 'version-id', 'detail.object'),
    sequencer: optionalSequencer(object, 'sequencer', 'detail.object'),
    principalId: requester,
    sourceIPAddress,
    requestParameters: { principalId: requester, region, sourceIPAddress },
    responseElements: requestId ? { 'x-amz-request-id': requestId } : {},
    host: sourceIPAddress,
    userAgent: '',
  });
  return { record, extras: { id: requireString(event, 'id', ''), account: optionalString(event, 'account', '') } };
}

function eventNameOf(detailType: string, detail: Record<string, unknown>): string {
  if (detailType === 'Object Created') {
    const reason = requireString(detail, 'reason', 'detail');
    const name = Object.hasOwn(CREATED_BY_REASON, reason) ? CREATED_BY_REASON[reason] : undefined; // never Object.prototype's ("toString")
    if (!name)
      throw new EventValidationError(
        'detail.reason',
        `expected one of ${Object.keys(CREATED_BY_REASON).join(', ')}, got ${quoted(reason)}`,
      );
    return name;
  }
  if (detailType === 'Object Deleted') {
    // "Permanently Deleted" (or a lifecycle expiration of an unversioned object) vs "Delete Marker Created".
    return optionalString(detail, 'deletion-type', 'detail') === 'Delete Marker Created'
      ? 's3:ObjectRemoved:DeleteMarkerCreated'
      : 's3:ObjectRemoved:Delete';
  }
  if (Object.hasOwn(BY_DETAIL_TYPE, detailType)) return BY_DETAIL_TYPE[detailType];
  throw new EventValidationError(
    'detail-type',
    `${quoted(detailType)} has no MinIO equivalent (expected Object Created, Object Deleted, ${Object.keys(BY_DETAIL_TYPE).join(', ')})`,
  );
}
