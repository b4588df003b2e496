// The ceiling's workflow: nothing to deliver. It only tells the process (a sink: no history event, no
// server round trip) that it ran, so its arrival is stamped at the bench's receiver like a webhook's.
import { proxySinks, type Sinks } from '@temporalio/workflow';

export interface CeilingSinks extends Sinks {
  bench: { ran(eventId: string): void };
}

const { bench } = proxySinks<CeilingSinks>();

export async function emptyWorkflow(eventId: string): Promise<void> {
  bench.ran(eventId);
}
