// The worker bundles every workflow exported here. deliverEventV3 is what new deliveries start as and
// deliverBatch the high-volume mode; deliverKeyOrdered delivers one object's events, in sequencer order, to a
// target with `order: key`; deliverEventV2 and deliverEvent (v1) stay registered so deliveries started by older
// versions replay and complete on upgraded workers. scanBucket is a scan source's run (workflows/scan.ts);
// backfill lists a bucket and publishes its objects (workflows/backfill.ts).
export { deliverEventV3 } from './deliver-v3';
export { deliverBatch } from './deliver-batch';
export { deliverKeyOrdered } from './key-order';
export { deliverEventV2 } from './deliver-v2';
export { deliverEvent } from './deliver-v1';
export { scanBucket } from './scan';
export { backfill } from './backfill';
