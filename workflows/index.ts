// The worker bundles every workflow exported here. deliverEvent (v1) stays registered so deliveries
// started before the fast path replay and complete on upgraded workers.
export { deliverEventV2 } from './deliver-v2';
export { deliverEvent } from './deliver-v1';
