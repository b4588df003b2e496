// Deliveries built from realistic MinIO records, for tests that drive targets directly.
import { buildEvent, eventIdentity, toEnvelope, type EventSpec } from '../../src/events';
import type { Delivery } from '../../src/targets/target';

export function deliveryOf(spec: EventSpec): Delivery {
  const record = buildEvent({
    size: 56060,
    eTag: '1d97bf45ecb37f7a7b699418070df08f',
    contentType: 'image/jpeg',
    ...spec,
  });
  return { eventId: eventIdentity(record), record, envelope: toEnvelope(record) };
}

/** A put and then a delete of the same object (the guide's `images/myphoto.jpg` by default). */
export function putAndDelete(bucket = 'images', key = 'myphoto.jpg'): [Delivery, Delivery] {
  const now = Date.now();
  return [
    deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket, key, eventTime: new Date(now) }),
    deliveryOf({ eventName: 's3:ObjectRemoved:Delete', bucket, key, eventTime: new Date(now + 1) }),
  ];
}
