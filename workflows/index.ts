// The worker bundles every workflow exported here.
export { deliverEvent } from './deliver';
