// Records as MinIO writes them (escaped keys, sequencers, field order), and the forms targets receive them
// in: the envelope of message targets and the `{"Records":[record]}` value of store targets.
import type { EventEnvelope, S3EventRecord, S3Object } from './types';

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

/** The object's optional fields as the record carries them; `sequencer` defaults to the event time in ns, as hex. */
export interface EventSpec extends Partial<Omit<S3Object, 'key'>> {
  eventName: string;
  bucket: string;
  /** The raw object key; the record carries it query-escaped. */
  key: string;
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

/** A record as MinIO writes it: what other sources' events are normalized to (and what tests publish). */
export function buildEvent(spec: EventSpec): S3EventRecord {
  const time = spec.eventTime ?? new Date();
  const principalId = spec.principalId ?? 'minio';
  const removal = isRemoval(spec.eventName);
  const sequencer = spec.sequencer ?? sequencerAt(time.getTime());
  // Field order as MinIO writes it: key ... versionId, sequencer last.
  const object = { key: encodeObjectKey(spec.key) } as S3Object;
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
      bucket: {
        name: spec.bucket,
        ownerIdentity: { principalId },
        arn: spec.bucketArn || `arn:aws:s3:::${spec.bucket}`,
      },
      object,
    },
    source: { host: spec.host ?? '127.0.0.1', port: '', userAgent: spec.userAgent ?? 'bucketflow' },
  };
}

/** `<bucket>/<raw key>`: the envelope's Key and the store targets' namespace key. */
export function objectPath(record: S3EventRecord): string {
  return `${record.s3.bucket.name}/${decodeObjectKey(record.s3.object.key)}`;
}

/** Any `s3:ObjectRemoved:*` event removes the object (and carries no size or eTag). */
export function isRemoval(eventName: string): boolean {
  return eventName.startsWith('s3:ObjectRemoved:');
}

/**
 * S3's key order: by UTF-8 bytes, which is code point order (JavaScript's < compares UTF-16 units, which differs
 * past U+FFFF). Allocation-free: a scan compares every listed key with a stored one.
 */
export function compareObjectKeys(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}

/** MinIO's sequencer for a time: the modification time in nanoseconds, as uppercase hex. */
export function sequencerAt(timeMs: number): string {
  return (BigInt(timeMs) * 1_000_000n).toString(16).toUpperCase();
}

const HEX = /^[0-9A-Fa-f]{1,32}$/;

/**
 * Orders the states of one object: its sequencer, else the event time in ns, as 32 hex digits so string
 * order is numeric order.
 */
export function orderingKey(record: S3EventRecord): string {
  const sequencer = record.s3.object.sequencer;
  const hex = HEX.test(sequencer ?? '') ? sequencer : sequencerAt(Date.parse(record.eventTime) || 0);
  return hex.toUpperCase().padStart(32, '0');
}

/** What webhook, Kafka, AMQP, NATS and MQTT targets receive. */
export function toEnvelope(record: S3EventRecord): EventEnvelope {
  return { EventName: record.eventName, Key: objectPath(record), Records: [record] };
}

/** What store targets (Elasticsearch, Redis, PostgreSQL, MySQL) keep per object or per event: `{"Records":[record]}`.
 * */
export function storedValue(record: S3EventRecord): string {
  return JSON.stringify({ Records: [record] });
}
