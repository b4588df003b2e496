// Where an event's time goes inside Temporal, read from sampled workflow histories: how long each task
// waited to be picked up by a worker (dispatch), how long workers took on workflow tasks, and how
// long the activities ran (the rules lookup, and the target I/O of the deliveries).
import type { Client } from '@temporalio/client';

type HistoryEvent = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events'] extends
  Array<infer E> | null | undefined
  ? E
  : never;

export interface Phases {
  /** publish() call to WorkflowExecutionStarted: the start RPC and its persistence. */
  publishToStarted: number;
  /** Scheduled to started, summed over the workflow tasks. */
  workflowTaskDispatch: number;
  /** Started to completed, summed over the workflow tasks (the worker's replay plus the completion RPC). */
  workflowTaskRun: number;
  resolveDispatch: number;
  resolveRun: number;
  /** The slowest target's activity: scheduled to started, started to completed (target I/O). */
  deliverDispatch: number;
  deliverRun: number;
  /** WorkflowExecutionStarted to WorkflowExecutionCompleted. */
  startedToCompleted: number;
  workflowTasks: number;
  /** Local activities recorded (markers): the fast path's attempts and the rules lookup when done by the workflow. */
  localActivities: number;
  historyEvents: number;
}

const ms = (event: HistoryEvent) => Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;

export function phasesOf(events: HistoryEvent[], publishedAt: number): Phases {
  const at = new Map<number, number>(); // event id -> time
  for (const event of events) at.set(Number(event.eventId), ms(event));
  const phases: Phases = {
    publishToStarted: ms(events[0]) - publishedAt,
    workflowTaskDispatch: 0,
    workflowTaskRun: 0,
    resolveDispatch: 0,
    resolveRun: 0,
    deliverDispatch: 0,
    deliverRun: 0,
    startedToCompleted: ms(events[events.length - 1]) - ms(events[0]),
    workflowTasks: 0,
    localActivities: 0,
    historyEvents: events.length,
  };
  const activityNames = new Map<number, string>(); // scheduled event id -> activity type
  const activityStarted = new Map<number, number>(); // scheduled event id -> started time
  for (const event of events) {
    const t = ms(event);
    if (event.workflowTaskStartedEventAttributes) {
      phases.workflowTaskDispatch += t - at.get(Number(event.workflowTaskStartedEventAttributes.scheduledEventId))!;
      phases.workflowTasks++;
    } else if (event.markerRecordedEventAttributes) {
      phases.localActivities++;
    } else if (event.workflowTaskCompletedEventAttributes) {
      phases.workflowTaskRun += t - at.get(Number(event.workflowTaskCompletedEventAttributes.startedEventId))!;
    } else if (event.activityTaskScheduledEventAttributes) {
      activityNames.set(Number(event.eventId), event.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    } else if (event.activityTaskStartedEventAttributes) {
      const scheduled = Number(event.activityTaskStartedEventAttributes.scheduledEventId);
      activityStarted.set(scheduled, t);
      const wait = t - at.get(scheduled)!;
      if (activityNames.get(scheduled) === 'resolveTargets') phases.resolveDispatch += wait;
      else phases.deliverDispatch = Math.max(phases.deliverDispatch, wait);
    } else if (event.activityTaskCompletedEventAttributes) {
      const scheduled = Number(event.activityTaskCompletedEventAttributes.scheduledEventId);
      const run = t - activityStarted.get(scheduled)!;
      if (activityNames.get(scheduled) === 'resolveTargets') phases.resolveRun += run;
      else phases.deliverRun = Math.max(phases.deliverRun, run);
    }
  }
  return phases;
}

/** Median of each phase over up to `samples` workflows spread evenly over the run. */
export async function samplePhases(
  client: Client,
  workflowIds: Array<{ workflowId: string; publishedAt: number }>,
  samples = 40,
) {
  const step = Math.max(1, Math.floor(workflowIds.length / samples));
  const picked = workflowIds.filter((_, i) => i % step === 0).slice(0, samples);
  const all = await Promise.all(
    picked.map(async ({ workflowId, publishedAt }) =>
      phasesOf((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [], publishedAt),
    ),
  );
  const median = (key: keyof Phases) => {
    const values = all.map((p) => p[key]).sort((a, b) => a - b);
    return Math.round(values[Math.floor(values.length / 2)] * 10) / 10;
  };
  return Object.fromEntries(
    (Object.keys(all[0]) as Array<keyof Phases>).map((key) => [key, median(key)]),
  ) as unknown as Phases;
}
