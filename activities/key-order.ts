// The hand-off of an event to per-key order's workflows (workflows/key-order.ts), as a local activity of the
// event's own delivery (deliverEventV3) when that delivery matched the targets itself (a publisher that cannot
// see the rules): signal-with-start on each ordered target's (target, object) workflow. Its marker records where
// the event went; run again (a task re-run), the workflow drops the repeated event id. A redelivery (another
// workflow id) hands the event over under an id of its own, so it is sent again.
import { Context } from '@temporalio/activity';
import type { OrderedEvent } from '../src/delivery/key-order';
import { workflowIdFor } from '../src/delivery/workflow-ids';
import type { HandedOff, ResolvedTarget } from '../src/delivery/types';
import type { ActivityDeps } from './deps';

export interface HandOffInput extends OrderedEvent {
  targets: ResolvedTarget[];
}

export async function handOffOrdered(deps: ActivityDeps, input: HandOffInput): Promise<HandedOff[]> {
  const handOff = deps.handOffOrdered;
  if (!handOff) throw new Error('this worker cannot hand events to per-key order (no client): retried');
  const { targets, ...event } = input;
  // The event's own delivery hands it over as the publisher would; another (an operator's redelivery) under its id.
  const delivery = Context.current().info.workflowExecution?.workflowId;
  const handOffId = !delivery || delivery === workflowIdFor(event.eventId) ? undefined : `${event.eventId} ${delivery}`;
  const handed = { ...event, ...(handOffId ? { handOffId } : {}) };
  return Promise.all(targets.map(async (target) => ({ arn: target.arn, workflowId: await handOff(target, handed) })));
}
