// The delivery workflows' type names, the one place they are spelled: the client starts them, the operator's
// queries and redelivery recognize them, and workflows/index.ts registers functions of exactly these names
// (test/unit/workflow-types.test.ts holds the two together). Sandbox-safe: no imports.

/**
 * Per-event delivery, fast path first, at most 2 billable actions when healthy (workflows/deliver-v3.ts):
 * what new deliveries start as, and what an event that fails inside a batch continues as.
 */
export const DELIVER_EVENT_V3 = 'deliverEventV3';
/** The fast path writing its status at completion (workflows/deliver-v2.ts): kept registered so its deliveries replay.
 * */
export const DELIVER_EVENT_V2 = 'deliverEventV2';
/** The first version (workflows/deliver-v1.ts): kept registered so older deliveries replay; BUCKETFLOW_FAST_PATH=off
 * starts it. */
export const DELIVER_EVENT_V1 = 'deliverEvent';

/** Every workflow type that delivers one event, newest first: what `deliveries` lists and redelivers. */
export const DELIVERY_WORKFLOW_TYPES: readonly string[] = [DELIVER_EVENT_V3, DELIVER_EVENT_V2, DELIVER_EVENT_V1];

/**
 * The high-volume mode (workflows/deliver-batch.ts): many events in one workflow, delivered in its first task.
 * Not an event delivery itself: its events are listed and shown one by one (src/operator/deliveries/batches.ts).
 */
export const DELIVER_BATCH = 'deliverBatch';

export function isDeliveryWorkflowType(type: string): boolean {
  return DELIVERY_WORKFLOW_TYPES.includes(type);
}

/**
 * Per-key order (workflows/key-order.ts): one workflow per (ordered target, bucket, object key), fed by
 * signal-with-start, delivering the object's events one at a time in sequencer order. Not an event delivery itself.
 */
export const DELIVER_KEY_ORDERED = 'deliverKeyOrdered';

/**
 * A scan source's run (workflows/scan.ts), started by the scan's Temporal Schedule (`bucketflow scan add`): lists
 * the bucket and delivers its changes. Not a delivery: the events it publishes are (batches, source scan or reconcile).
 */
export const SCAN_BUCKET = 'scanBucket';

/**
 * `bucketflow backfill` (workflows/backfill.ts): lists a bucket and publishes its objects in batches. Not a
 * delivery: its batches are (deliverBatch), and `deliveries list --origin backfill` finds them.
 */
export const BACKFILL = 'backfill';
