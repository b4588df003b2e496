// The workflow ids bucketflow derives, their home: an event's own delivery (`bucketflow-<event id>`), a batch's
// continuation of it, the prefixes of batches and of per-key order workflows. The publisher starts them; the
// activities and the CLI find them again by the same functions. The ids hashed with SHA-256 (a lane's batch, a long
// per-key order id) are the publisher's (src/publish/publisher.ts): this folder is workflow-safe, without node:crypto.
import { fnv1a } from './batch-index';

export function workflowIdFor(eventId: string): string {
  return `bucketflow-${eventId}`;
}

/** Per-key order workflows: `bucketflow-key-<arn>/<bucket>/<key>`, or hashed (src/publish/publisher.ts). */
export const KEY_ORDER_ID_PREFIX = 'bucketflow-key-';

/** A batch's continuation of an event whose own id another delivery of it holds (see continueFromBatch). */
export function continuationIdFor(eventId: string, batch: string): string {
  return `${workflowIdFor(eventId)}-${fnv1a(batch)}`;
}

/** Batch workflow ids: `bucketflow-batch-<uuid>` (an event's own delivery is `bucketflow-<event id>`). */
export const BATCH_ID_PREFIX = 'bucketflow-batch-';
