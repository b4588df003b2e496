// Builds S3 event records exactly as MinIO emits them, and the envelope message targets receive.
import type { EventEnvelope, S3EventRecord } from './types';

/** Go's url.QueryEscape, which MinIO applies to object keys: `/` -> %2F, space -> `+`. */
export function encodeObjectKey(rawKey: string): string {
  return encodeURIComponent(rawKey)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The raw key from a record's query-escaped key; rule filters match the raw key. */
export function decodeObjectKey(escapedKey: string): string {
  const spaced = escapedKey.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced; // not escaped by a MinIO-compatible server: take it as it is
  }
}

export interface EventSpec {
  eventName: string;
  bucket: string;
  /** The raw object key; the record carries it query-escaped. */
  key: string;
  size?: number;
  eTag?: string;
  contentType?: string;
  userMetadata?: Record<string, string>;
  versionId?: string;
  /** Defaults to the event time in nanoseconds, as uppercase hex. */
  sequencer?: string;
  eventTime?: Date;
  region?: string;
  /** The server that reported the event: `minio:s3`, or `aws:s3` / `ceph:s3` for records normalized from those. */
  eventSource?: 'minio:s3' | 'aws:s3' | 'ceph:s3';
  /** The notification configuration (rule) id; MinIO writes `Config`. */
  configurationId?: string;
  /** Defaults to `arn:aws:s3:::<bucket>`. */
  bucketArn?: string;
  principalId?: string;
  sourceIPAddress?: string;
  /** null for internal events (lifecycle, replication), as MinIO sends them. */
  requestParameters?: Record<string, string> | null;
  /** x-amz-request-id, x-amz-id-2, x-minio-origin-endpoint, x-minio-deployment-id, ... */
  responseElements?: Record<string, string>;
  host?: string;
  userAgent?: string;
}

export function buildEvent(spec: EventSpec): S3EventRecord {
  const time = spec.eventTime ?? new Date();
  const principalId = spec.principalId ?? 'minio';
  const removal = spec.eventName.startsWith('s3:ObjectRemoved:');
  const sequencer = spec.sequencer ?? (BigInt(time.getTime()) * 1_000_000n).toString(16).toUpperCase();
  // Field order as MinIO writes it: key ... versionId, sequencer last.
  const object = { key: encodeObjectKey(spec.key) } as S3EventRecord['s3']['object'];
  if (!removal && spec.size) object.size = spec.size;
  if (!removal && spec.eTag) object.eTag = spec.eTag;
  if (!removal && spec.contentType) object.contentType = spec.contentType;
  if (!removal && spec.userMetadata && Object.keys(spec.userMetadata).length) object.userMetadata = spec.userMetadata;
  if (spec.versionId) object.versionId = spec.versionId;
  object.sequencer = sequencer;
  return {
    eventVersion: '2.0',
    eventSource: spec.eventSource ?? 'minio:s3',
    awsRegion: spec.region ?? '',
    eventTime: time.toISOString(),
    eventName: spec.eventName,
    userIdentity: { principalId },
    requestParameters:
      spec.requestParameters === undefined
        ? { principalId, region: spec.region ?? '', sourceIPAddress: spec.sourceIPAddress ?? '127.0.0.1' }
        : spec.requestParameters,
    responseElements: spec.responseElements ?? {},
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: spec.configurationId || 'Config',
      bucket: { name: spec.bucket, ownerIdentity: { principalId }, arn: spec.bucketArn || `arn:aws:s3:::${spec.bucket}` },
      object,
    },
    source: { host: spec.host ?? '127.0.0.1', port: '', userAgent: spec.userAgent ?? 'bucketflow' },
  };
}

/** What webhook, Kafka, AMQP, NATS and MQTT targets receive. */
export function toEnvelope(record: S3EventRecord): EventEnvelope {
  return {
    EventName: record.eventName,
    Key: `${record.s3.bucket.name}/${decodeObjectKey(record.s3.object.key)}`,
    Records: [record],
  };
}
