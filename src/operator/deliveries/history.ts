// What one delivery run did per target, read from its history (and, while it runs, its pending
// activities): the fast path's local-activity markers, the durable activity's events, a failed target's hand-off to
// its dead letter (activity id `dead-letter <failed ARN> <dead-letter ARN>`), the final result.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import {
  attemptDetailsOf,
  deliveryResultOf,
  failureFromHistory,
  firstAttemptOutcomesOf,
  type AttemptDetails,
} from '../../delivery/failure';
import type { TargetAttempt } from '../../delivery/types';
import type { S3EventRecord } from '../../events/types';
import type { DeliverInput, DeliveryResult } from '../../delivery/types';

type History = { events?: HistoryEvent[] | null };
/** The fields we read of temporal.api.history.v1.IHistoryEvent (kept structural: no proto import at run time). */
interface HistoryEvent {
  eventId?: { toString(): string } | null;
  eventTime?: Timestamp | null;
  workflowExecutionStartedEventAttributes?: { input?: { payloads?: Payload[] | null } | null } | null;
  workflowExecutionCompletedEventAttributes?: { result?: { payloads?: Payload[] | null } | null } | null;
  workflowExecutionFailedEventAttributes?: { failure?: Failure | null } | null;
  markerRecordedEventAttributes?: {
    markerName?: string | null;
    details?: Record<string, { payloads?: Payload[] | null }> | null;
    failure?: Failure | null;
  } | null;
  activityTaskScheduledEventAttributes?: { activityId?: string | null } | null;
  activityTaskCompletedEventAttributes?: {
    scheduledEventId?: { toString(): string } | null;
    result?: { payloads?: Payload[] | null } | null;
  } | null;
  activityTaskFailedEventAttributes?: {
    scheduledEventId?: { toString(): string } | null;
    failure?: Failure | null;
  } | null;
  activityTaskTimedOutEventAttributes?: {
    scheduledEventId?: { toString(): string } | null;
    failure?: Failure | null;
  } | null;
}
interface Timestamp {
  seconds?: { toString(): string } | number | null;
  nanos?: number | null;
}
/** A recorded failure: its messages are read here, its type and details by the failure contract
 * (src/delivery/failure.ts). */
interface Failure {
  message?: string | null;
  cause?: Failure | null;
  applicationFailureInfo?: { type?: string | null; details?: { payloads?: Payload[] | null } | null } | null;
}

/** `handed-off`: a target with `order: key`, whose per-(target, object) workflow delivers the event. */
export type TargetState = 'delivered' | 'failed' | 'retrying' | 'pending' | 'handed-off';

export interface TargetRun {
  arn: string;
  state: TargetState;
  attempts?: number;
  error?: string;
  firstAttemptAt?: Date;
  lastAttemptAt?: Date;
  /** A durable retry is scheduled for this time. */
  nextAttemptAt?: Date;
  /** The target left the fast path for the durable activity. */
  durable: boolean;
  /** Attempt 1 was a batch's (the high-volume mode). */
  batch?: boolean;
  /** The target failed for good and was handed, with its failure, to its dead letter (workflows/dead-letter.ts). */
  deadLetter?: DeadLetterRun;
}

/** The hand-off to a dead letter: that target, and how its own attempts went (`retrying` while it waits). */
export interface DeadLetterRun {
  arn: string;
  state: TargetState;
  attempts?: number;
  error?: string;
  handedOffAt?: Date;
  lastAttemptAt?: Date;
  nextAttemptAt?: Date;
}

const DEAD_LETTER_PREFIX = 'dead-letter ';

/** `dead-letter <failed ARN> <dead-letter ARN>` (workflows/durable.ts) -> both ARNs. */
function deadLetterActivity(activityId: string | null | undefined): { failed: string; to: string } | undefined {
  if (!activityId?.startsWith(DEAD_LETTER_PREFIX)) return undefined;
  const [failed, to] = activityId.slice(DEAD_LETTER_PREFIX.length).split(' ');
  return failed && to ? { failed, to } : undefined;
}

export interface RunRecord {
  eventId: string;
  record: S3EventRecord;
  /** Targets named in the input (the ingest resolved them, or a redelivery chose them). */
  inputTargets?: DeliverInput['targets'];
  result?: DeliveryResult;
  targets: TargetRun[];
}

function timeOf(ts: Timestamp | null | undefined): Date | undefined {
  if (!ts?.seconds) return undefined;
  return new Date(Number(ts.seconds.toString()) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

function decode<T>(payload: Payload | undefined | null): T | undefined {
  return payload ? defaultPayloadConverter.fromPayload<T>(payload) : undefined;
}

function messageOf(failure: Failure | null | undefined): string | undefined {
  const parts: string[] = [];
  for (let f = failure; f; f = f.cause) if (f.message) parts.push(f.message);
  return parts.join(': ') || undefined;
}

/** The deliver activity's failure details: {attempt, arn} (arn since the operations release). */
function detailsOf(failure: Failure | null | undefined): Partial<AttemptDetails> {
  return attemptDetailsOf(failureFromHistory(failure)) ?? {};
}

/** Older failures carry no arn in their details, but every message starts with it. */
function arnOfMessage(message: string | undefined): string | undefined {
  return /^(arn:[^:\s]*:[^:\s]*:[^:\s]*:[^:\s]*:[^:\s]+): /.exec(message ?? '')?.[1];
}

export function readRun(history: History, description?: WorkflowExecutionDescription): RunRecord {
  const events = history.events ?? [];
  const input = decode<DeliverInput>(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]);
  if (!input) throw new Error('not a delivery workflow: its history has no delivery input');
  const runs = new Map<string, TargetRun>();
  const target = (arn: string) => {
    let run = runs.get(arn);
    if (!run) runs.set(arn, (run = { arn, state: 'pending', durable: false }));
    return run;
  };
  const attempt = (run: TargetRun, at: { start?: Date; end?: Date }, count?: number) => {
    if (at.start && (!run.firstAttemptAt || at.start < run.firstAttemptAt)) run.firstAttemptAt = at.start;
    if (at.end && (!run.lastAttemptAt || at.end > run.lastAttemptAt)) run.lastAttemptAt = at.end;
    if (count !== undefined) run.attempts = Math.max(run.attempts ?? 0, count);
  };
  // A delivery that continues an event of a batch: attempt 1 was the batch's.
  for (const first of input.firstAttempt ?? []) {
    const run = target(first.arn);
    run.batch = true;
    attempt(run, { start: timeOf(events[0]?.eventTime), end: timeOf(events[0]?.eventTime) }, 1);
    run.state = first.permanent ? 'failed' : 'retrying';
    if (first.error) run.error = first.error;
  }
  let resolved: string[] | undefined;
  let result: DeliveryResult | undefined;
  const scheduled = new Map<string, { arn: string; at?: Date; deadLetter?: string }>();
  const deadLetterOf = (failed: string, to: string): DeadLetterRun => {
    const run = target(failed);
    if (run.deadLetter?.arn !== to) run.deadLetter = { arn: to, state: 'pending' };
    return run.deadLetter;
  };

  for (const event of events) {
    const at = timeOf(event.eventTime);
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const data = decode<{ activity_type: string; original_schedule_time?: Timestamp; complete_time?: Timestamp }>(
        marker.details?.data?.payloads?.[0],
      );
      if (data?.activity_type === 'resolveTargets' && !marker.failure) {
        resolved = (decode<Array<{ arn: string }>>(marker.details?.result?.payloads?.[0]) ?? []).map((t) => t.arn);
      }
      const end = timeOf(data?.complete_time) ?? at;
      const scheduled = timeOf(data?.original_schedule_time);
      // The core may stamp original_schedule_time after the attempt completed: never show an attempt ending before it
      // began.
      const times = { start: scheduled && end && scheduled > end ? end : (scheduled ?? end), end };
      if (data?.activity_type === 'deliverToTargets') {
        // The first attempt at every target in one marker: each target's outcome is in its result or failure details.
        const outcomes = marker.failure
          ? firstAttemptOutcomesOf(failureFromHistory(marker.failure))
          : decode<TargetAttempt[]>(marker.details?.result?.payloads?.[0]);
        for (const outcome of outcomes ?? []) {
          const run = target(outcome.arn);
          attempt(run, times, 1);
          run.state = outcome.delivered ? 'delivered' : outcome.permanent ? 'failed' : 'retrying';
          if (outcome.error) run.error = outcome.error;
        }
        continue;
      }
      if (data?.activity_type !== 'deliverToTarget') continue;
      if (marker.failure) {
        const details = detailsOf(marker.failure);
        const arn = details.arn ?? arnOfMessage(marker.failure.message ?? undefined);
        if (!arn) continue;
        const run = target(arn);
        attempt(run, times, details.attempt);
        run.error = messageOf(marker.failure);
        run.state = 'retrying';
      } else {
        const ok = decode<{ attempt?: number; arn?: string }>(marker.details?.result?.payloads?.[0]);
        if (!ok?.arn) continue; // an older success marker does not name its target; the result does
        const run = target(ok.arn);
        attempt(run, times, ok.attempt);
        run.state = 'delivered';
        delete run.error;
      }
      continue;
    }
    const activity = event.activityTaskScheduledEventAttributes;
    const handOff = deadLetterActivity(activity?.activityId);
    if (handOff) {
      scheduled.set(event.eventId!.toString(), { arn: handOff.failed, at, deadLetter: handOff.to });
      Object.assign(deadLetterOf(handOff.failed, handOff.to), { state: 'retrying', handedOffAt: at });
      continue;
    }
    if (activity?.activityId?.startsWith('deliver ')) {
      const arn = activity.activityId.slice('deliver '.length);
      scheduled.set(event.eventId!.toString(), { arn, at });
      const run = target(arn);
      run.durable = true;
      run.state = 'retrying';
      continue;
    }
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes;
    if (closed) {
      const from = scheduled.get(closed.scheduledEventId?.toString() ?? '');
      if (!from) continue;
      if (from.deadLetter) {
        const handed = deadLetterOf(from.arn, from.deadLetter);
        handed.lastAttemptAt = at;
        const failure =
          event.activityTaskFailedEventAttributes?.failure ?? event.activityTaskTimedOutEventAttributes?.failure;
        const attempts = failure
          ? detailsOf(failure).attempt
          : decode<{ attempt?: number }>(event.activityTaskCompletedEventAttributes?.result?.payloads?.[0])?.attempt;
        if (attempts !== undefined) handed.attempts = attempts;
        handed.state = failure ? 'failed' : 'delivered';
        if (failure) handed.error = messageOf(failure);
        else delete handed.error;
        continue;
      }
      const run = target(from.arn);
      if (event.activityTaskCompletedEventAttributes) {
        const ok = decode<{ attempt?: number }>(event.activityTaskCompletedEventAttributes.result?.payloads?.[0]);
        attempt(run, { start: from.at, end: at }, ok?.attempt);
        run.state = 'delivered';
        delete run.error;
      } else {
        const failure =
          event.activityTaskFailedEventAttributes?.failure ?? event.activityTaskTimedOutEventAttributes?.failure;
        attempt(run, { start: from.at, end: at }, detailsOf(failure).attempt);
        run.error = messageOf(failure);
        run.state = 'failed';
      }
      continue;
    }
    const completed = event.workflowExecutionCompletedEventAttributes;
    if (completed) result = decode<DeliveryResult>(completed.result?.payloads?.[0]);
    const failed = deliveryResultOf(failureFromHistory(event.workflowExecutionFailedEventAttributes?.failure));
    if (failed) result = failed;
  }

  // While the durable activity waits for its next attempt, its last failure is only in the pending info.
  for (const pending of description?.raw.pendingActivities ?? []) {
    const handOff = deadLetterActivity(pending.activityId);
    if (handOff) {
      const handed = deadLetterOf(handOff.failed, handOff.to);
      handed.state = 'retrying';
      if (pending.lastFailure) {
        handed.error = messageOf(pending.lastFailure);
        handed.lastAttemptAt = timeOf(pending.lastStartedTime as Timestamp);
        const attempts = detailsOf(pending.lastFailure).attempt;
        if (attempts !== undefined) handed.attempts = attempts;
      }
      handed.nextAttemptAt = timeOf(pending.nextAttemptScheduleTime as Timestamp);
      continue;
    }
    if (!pending.activityId?.startsWith('deliver ')) continue;
    const run = target(pending.activityId.slice('deliver '.length));
    run.state = 'retrying';
    const lastFailure = pending.lastFailure;
    if (lastFailure) {
      run.error = messageOf(lastFailure);
      attempt(run, { end: timeOf(pending.lastStartedTime as Timestamp) }, detailsOf(lastFailure).attempt);
    }
    run.nextAttemptAt = timeOf(pending.nextAttemptScheduleTime as Timestamp);
  }

  // The result is the final word on each target; the history adds the timings.
  const arns = result?.targets.map((t) => t.arn) ?? input.targets?.map((t) => t.arn) ?? resolved ?? [...runs.keys()];
  const targets = arns.map((arn) => {
    const run = target(arn);
    const outcome = result?.targets.find((t) => t.arn === arn);
    if (outcome) {
      run.state = outcome.status;
      if (outcome.attempts !== undefined) run.attempts = outcome.attempts;
      if (outcome.error) run.error = outcome.error;
      else delete run.error;
      if (outcome.deadLetter) {
        const handed = deadLetterOf(arn, outcome.deadLetter.arn);
        handed.state = outcome.deadLetter.status;
        if (outcome.deadLetter.attempts !== undefined) handed.attempts = outcome.deadLetter.attempts;
        if (outcome.deadLetter.error) handed.error = outcome.deadLetter.error;
        else delete handed.error;
        delete handed.nextAttemptAt;
      }
    }
    return run;
  });
  // Targets with `order: key` the publisher handed straight to their per-(target, object) workflows.
  for (const { arn } of input.handedOff ?? [])
    if (!targets.some((t) => t.arn === arn)) targets.push({ arn, state: 'handed-off', durable: false });
  return { eventId: input.eventId, record: input.record, inputTargets: input.targets, result, targets };
}
