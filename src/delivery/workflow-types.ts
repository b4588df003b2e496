// The delivery workflows' type names, the one place they are spelled: the client starts them, the operator's
// queries and redelivery recognize them, and workflows/index.ts registers functions of exactly these names
// (test/unit/workflow-types.test.ts holds the two together). Sandbox-safe: no imports.

/** Per-event delivery, fast path first (workflows/deliver-v2.ts): what new deliveries start as. */
export const DELIVER_EVENT_V2 = 'deliverEventV2';
/** The first version (workflows/deliver-v1.ts): kept registered so older deliveries replay; BUCKETFLOW_FAST_PATH=off starts it. */
export const DELIVER_EVENT_V1 = 'deliverEvent';

/** Every workflow type that delivers one event, newest first: what `deliveries` lists and redelivers. */
export const DELIVERY_WORKFLOW_TYPES: readonly string[] = [DELIVER_EVENT_V2, DELIVER_EVENT_V1];

export function isDeliveryWorkflowType(type: string): boolean {
  return DELIVERY_WORKFLOW_TYPES.includes(type);
}
