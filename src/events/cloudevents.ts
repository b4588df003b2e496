// The one mapping of an S3 event record to CloudEvents 1.0 (for targets with `format: cloudevents` or
// `cloudevents-binary`): its context attributes and its structured JSON form. Written from the spec, so the worker
// needs no SDK and every binding (HTTP, Kafka, AMQP, NATS, MQTT: src/targets/message-format.ts) shares one mapping;
// the tests parse what is sent with the CloudEvents SDK. `data` is MinIO's envelope, the body users already parse.
import { eventIdentity } from './identity';
import { decodeObjectKey } from './record';
import type { S3EventRecord } from './types';

export const CLOUDEVENTS_SPEC_VERSION = '1.0';
/** `datacontenttype`: `data` is MinIO's JSON envelope. */
export const CLOUDEVENT_DATA_CONTENT_TYPE = 'application/json';
/** The media type of the JSON event format, the content type of a structured-mode message. */
export const CLOUDEVENT_STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** The context attributes bucketflow sets on every event (`time` is left out when the record's eventTime is no time).
 * */
export interface CloudEventAttributes {
  specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  /** The event's stable identity (eventIdentity): a redelivery carries the same id, so consumers can dedupe. */
  id: string;
  /** `<eventSource>:::<bucket>`, e.g. `minio:s3:::photos` (see cloudEventSource). */
  source: string;
  /** The S3 event name, e.g. `s3:ObjectCreated:Put`. */
  type: string;
  /** The object key, raw (the record carries it query-escaped). */
  subject: string;
  time?: string;
  datacontenttype: typeof CLOUDEVENT_DATA_CONTENT_TYPE;
}

/** An eventSource usable as a URI scheme and what follows it (`minio:s3`, `aws:s3`, `ceph:s3`). */
const EVENT_SOURCE = /^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]*$/;
const DEFAULT_EVENT_SOURCE = 'minio:s3';
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The event's CloudEvents attributes. `eventId` is the delivery's, which is eventIdentity(record) (the default), so
 * the same change sent twice carries the same id.
 */
export function cloudEventAttributes(record: S3EventRecord, eventId = eventIdentity(record)): CloudEventAttributes {
  const time = cloudEventTime(record.eventTime);
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: eventId,
    source: cloudEventSource(record),
    type: record.eventName,
    subject: decodeObjectKey(record.s3.object.key),
    ...(time === undefined ? {} : { time }),
    datacontenttype: CLOUDEVENT_DATA_CONTENT_TYPE,
  };
}

/**
 * `<eventSource>:::<bucket>`: the bucket in the shape of an S3 bucket ARN, under the server kind that emitted it
 * (`minio:s3:::photos`, `ceph:s3:::photos`). A URI (the scheme is the server kind), the same for every event of a
 * bucket, so routers can filter on it; an eventSource that is no URI scheme falls back to `minio:s3`.
 */
export function cloudEventSource(record: S3EventRecord): string {
  const kind = EVENT_SOURCE.test(record.eventSource) ? record.eventSource : DEFAULT_EVENT_SOURCE;
  return `${kind}:::${encodeURIComponent(record.s3.bucket.name)}`;
}

/** eventTime as RFC 3339: kept as written when it already is, else normalized; undefined when it is no time. */
function cloudEventTime(eventTime: string): string | undefined {
  if (typeof eventTime !== 'string') return undefined;
  if (RFC3339.test(eventTime) && !Number.isNaN(Date.parse(eventTime))) return eventTime;
  const ms = Date.parse(eventTime);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/**
 * The JSON event format (structured mode): the attributes and `data`, whose JSON text is spliced in as given so
 * it is byte for byte the body the `minio` format sends.
 */
export function structuredCloudEvent(attributes: CloudEventAttributes, dataJson: string): string {
  return `${JSON.stringify(attributes).slice(0, -1)},"data":${dataJson}}`;
}
