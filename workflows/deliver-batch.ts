// The high-volume mode (type `deliverBatch`, BUCKETFLOW_BATCH_MAX_EVENTS > 1): many events in one workflow,
// all delivered in its first workflow task by one local activity (activities/deliver-batch.ts) through each
// target's bulk path. A healthy batch costs 2 billable actions however many events it carries: its start and
// its first task's marker. An event the batch could not deliver to every target continues as its own
// per-event delivery (started by that activity), so the batch ends with its first task whatever fails.
// Its result lists each event's outcome (the Web UI shows it; `bucketflow deliveries show` reads it).
// When its first task's activity is over it tells the worker (the `fastPathOver` sink, as deliverEventV3 does):
// the admission control held its events until then (src/publish/admission.ts).
// Deterministic: no I/O, clocks or randomness here; every decision is in the history.
import { proxyLocalActivities, proxySinks } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BatchResult, DeliverBatchInput, DeliverySinks } from '../src/delivery/types';

/**
 * Retried only when the activity itself fails (its worker died, or no per-event delivery could be started for
 * an event that failed): the batch is then sent again, at least once, the store targets' guards holding.
 */
const { deliverBatchEvents } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30 seconds' },
});

const { deliveries } = proxySinks<DeliverySinks>();

export async function deliverBatch(input: DeliverBatchInput): Promise<BatchResult> {
  try {
    return await deliverBatchEvents(input);
  } finally {
    deliveries.fastPathOver(); // the events it did not continue per event are delivered (or failed for good)
  }
}
