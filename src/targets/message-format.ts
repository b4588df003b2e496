// How a message target writes one event in its configured `format`: the body and its content type, and in
// CloudEvents binary mode the context attributes each protocol binding carries beside the body (HTTP and NATS
// `ce-*` headers, percent-encoded; Kafka `ce_*` headers; AMQP `cloudEvents_*` application properties; MQTT 5 user
// properties). The attributes come from the one mapping, src/events/cloudevents.ts; `minio` is today's body as is.
import type { MessageFormat } from '../config/targets';
import {
  CLOUDEVENT_STRUCTURED_CONTENT_TYPE,
  cloudEventAttributes,
  structuredCloudEvent,
  type CloudEventAttributes,
} from '../events/cloudevents';
import { envelopeJson } from './common';
import type { Delivery } from './target';

/** The content type of MinIO's envelope (the `minio` format), and of `data` in CloudEvents binary mode. */
const MINIO_CONTENT_TYPE = 'application/json';

export interface EncodedMessage {
  body: string;
  /** Whether this is a CloudEvent (structured or binary mode), not MinIO's format. */
  cloudEvent: boolean;
  /** The body's media type (in CloudEvents binary mode, `datacontenttype`). */
  contentType: string;
  /** CloudEvents binary mode only: the attributes to carry beside the body, `datacontenttype` included. */
  binary?: CloudEventAttributes;
}

/** The event as `format` writes it; an empty format (`...FORMAT=""` in the environment) is `minio`. */
export function encodeMessage(delivery: Delivery, format: MessageFormat | ''): EncodedMessage {
  const data = envelopeJson(delivery);
  switch (format) {
    case 'cloudevents':
      return {
        body: structuredCloudEvent(cloudEventAttributes(delivery.record, delivery.eventId), data),
        cloudEvent: true,
        contentType: CLOUDEVENT_STRUCTURED_CONTENT_TYPE,
      };
    case 'cloudevents-binary': {
      const attributes = cloudEventAttributes(delivery.record, delivery.eventId);
      return { body: data, cloudEvent: true, contentType: attributes.datacontenttype, binary: attributes };
    }
    default:
      return { body: data, cloudEvent: false, contentType: MINIO_CONTENT_TYPE };
  }
}

/** Binary mode over a transport without headers (NATS before 2.2) falls back to structured mode. */
export function withoutHeaders(format: MessageFormat | ''): MessageFormat | '' {
  return format === 'cloudevents-binary' ? 'cloudevents' : format;
}

/**
 * The attributes as `<prefix><name>` headers; `datacontenttype` only when `withContentType` (bindings that carry it
 * in a content-type header of their own leave it out). `encode` for bindings that restrict header values.
 */
export function attributeHeaders(
  attributes: CloudEventAttributes,
  prefix: string,
  { withContentType = false, encode = (value: string) => value } = {},
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || (name === 'datacontenttype' && !withContentType)) continue;
    headers[`${prefix}${name}`] = encode(value);
  }
  return headers;
}

/**
 * A header value as the HTTP and NATS bindings write it: space, `"`, `%` and everything outside printable ASCII
 * percent-encoded, byte by byte of its UTF-8, upper-case hex (an object key may hold any of them).
 */
export function percentEncodeHeaderValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const printable = byte >= 0x21 && byte <= 0x7e && byte !== 0x22 && byte !== 0x25;
    out += printable ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
