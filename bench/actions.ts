// Billable Temporal actions, counted from workflow histories by Temporal Cloud's published rules
// (docs.temporal.io/cloud/actions): a workflow start 1; all local-activity markers recorded in one workflow
// task 1; a timer 1; a search-attribute (or memo) upsert 1; each activity attempt 1; a child workflow 2; a signal 1
// (per-key order's hand-offs: signal-with-start is its start and its signal).
// The bench reads every workflow a run started (a batch's continued events included) and divides by the
// events delivered: what a million events would cost.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { BatchResult } from '../src/delivery/types';

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

export interface Actions {
  total: number;
  byKind: Record<string, number>;
}

export function actionsOf(history: History): Actions {
  const byKind: Record<string, number> = {};
  const add = (kind: string, n = 1) => (byKind[kind] = (byKind[kind] ?? 0) + n);
  let markersInTask = false;
  for (const event of history.events ?? []) {
    if (event.workflowExecutionStartedEventAttributes) add('start');
    else if (event.workflowTaskCompletedEventAttributes) markersInTask = false;
    else if (event.markerRecordedEventAttributes) {
      // Markers follow their task's completion; the next completion starts a new group.
      if (!markersInTask) add('markers');
      markersInTask = true;
    } else if (event.timerStartedEventAttributes) add('timer');
    else if (event.upsertWorkflowSearchAttributesEventAttributes || event.workflowPropertiesModifiedEventAttributes)
      add('upsert');
    else if (event.activityTaskStartedEventAttributes)
      add('activity attempt', event.activityTaskStartedEventAttributes.attempt ?? 1);
    else if (event.startChildWorkflowExecutionInitiatedEventAttributes) add('child workflow', 2);
    else if (event.workflowExecutionSignaledEventAttributes) add('signal');
  }
  return { total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind };
}

/** The per-event deliveries a batch handed its failed events to (from its result). */
function continuedOf(history: History): string[] {
  const completed = (history.events ?? []).find(
    (e) => e.workflowExecutionCompletedEventAttributes,
  )?.workflowExecutionCompletedEventAttributes;
  const payload = completed?.result?.payloads?.[0];
  if (!payload) return [];
  const result = defaultPayloadConverter.fromPayload<BatchResult | { outcomes?: undefined }>(payload);
  return (result.outcomes ?? []).flatMap((o) => (o.continuedIn ? [o.continuedIn] : []));
}

/** Every action of these workflows and of the deliveries their batches continued in, summed. */
export async function countActions(client: Client, workflowIds: string[], concurrency = 16): Promise<Actions> {
  const queue = [...new Set(workflowIds)];
  const seen = new Set(queue);
  const sum: Actions = { total: 0, byKind: {} };
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const actions = actionsOf(history);
      sum.total += actions.total;
      for (const [kind, n] of Object.entries(actions.byKind)) sum.byKind[kind] = (sum.byKind[kind] ?? 0) + n;
      for (const continued of continuedOf(history))
        if (!seen.has(continued)) {
          seen.add(continued);
          queue.push(continued);
        }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return sum;
}
