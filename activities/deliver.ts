// One event's attempt at its targets, the per-event activities: attempt 1 at every matched target at once
// (deliverToTargets, the fast path's local activity), one target's attempt (deliverToTarget: the fast retries, then
// the durable activity with its heartbeats), and the hand-off of an event that failed for good to its dead letter
// (deliverDeadLetter). Each send asks the gate first and the sent record, so a re-run task does not send again.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { attemptFailure, firstAttemptFailure, PermanentDeliveryError, TargetHeld } from '../src/delivery/failure';
import type { DeadLetterFailure, TargetAttempt } from '../src/delivery/types';
import { toEnvelope } from '../src/events';
import type { S3EventRecord } from '../src/events/types';
import { errorMessage, withTimeout } from '../src/errors';
import { redactCredentials } from '../src/config/connection-strings';
import { metrics } from '../src/telemetry/metrics';
import type { AdmitOptions } from '../src/targets/gate';
import type { Delivery } from '../src/targets/target';
import { inSendSpan } from '../src/telemetry/tracing';
import type { ActivityDeps } from './deps';

const HEARTBEAT_EVERY_MS = 5_000;
/** Each send of a first attempt gives up before the local activity's own 10 s timeout, so its outcome is always known.
 * */
const FIRST_ATTEMPT_SEND_TIMEOUT_MS = 8_000;
/** A local activity must not hold its workflow task: a held target fails it at once (a rate slot is waited for up to 1
 * s). */
export const LOCAL_ADMIT: AdmitOptions = { maxWaitMs: 0, maxRateWaitMs: 1_000 };

export interface DeliverToTargetInput {
  arn: string;
  eventId: string;
  record: S3EventRecord;
  /** Attempts the workflow already made for this target (its fast path), so numbers run on across both. */
  attemptsBefore?: number;
  /**
   * A run that sends many events (per-key order, workflows/key-order.ts): what the worker's sent record knows this
   * send by within the run (the event id, or a redelivery's hand-off id). Absent: the run sends one event.
   */
  sentKey?: string;
}

export interface DeliverToTargetsInput {
  arns: string[];
  eventId: string;
  record: S3EventRecord;
}

/**
 * The first attempt at every matched target at once, in parallel, as one local activity: one marker and
 * one workflow activation for the whole event instead of one per target. Any failed target fails the
 * activity (a red marker), its details holding each target's outcome so the workflow retries only those.
 */
export async function deliverToTargets(deps: ActivityDeps, input: DeliverToTargetsInput): Promise<TargetAttempt[]> {
  const ctx = Context.current();
  const delivery = deliveryOf(input);
  const outcomes = await Promise.all(
    input.arns.map(async (arn): Promise<TargetAttempt> => {
      try {
        await traced({ arn, eventId: input.eventId, attempt: 1 }, () =>
          withTimeout(send(deps, arn, delivery, LOCAL_ADMIT), FIRST_ATTEMPT_SEND_TIMEOUT_MS, `${arn}: send`),
        );
        return { arn, delivered: true };
      } catch (err) {
        const permanent = err instanceof PermanentDeliveryError;
        if (!(err instanceof TargetHeld))
          ctx.log.warn('delivery attempt failed', {
            arn,
            eventId: input.eventId,
            attempt: 1,
            permanent,
            error: messageFor(arn, err),
          });
        return { arn, delivered: false, permanent, error: messageFor(arn, err) };
      }
    }),
  );
  if (outcomes.some((o) => !o.delivered)) throw firstAttemptFailure(outcomes);
  return outcomes;
}

/** `arn` names the target in the history's marker (absent in histories recorded before it was added). */
export interface DeliverToTargetResult {
  attempt: number;
  arn?: string;
}

/**
 * Sends one event to one target: a later fast attempt (a local activity) or the durable fallback (a regular
 * activity). Failures carry the overall attempt number so the workflow can report it.
 */
export async function deliverToTarget(deps: ActivityDeps, input: DeliverToTargetInput): Promise<DeliverToTargetResult> {
  return attemptSend(deps, input.arn, input.eventId, deliveryOf(input), input.attemptsBefore ?? 0, {
    sentKey: input.sentKey,
  });
}

export interface DeliverDeadLetterInput {
  /** The dead-letter target. */
  arn: string;
  eventId: string;
  record: S3EventRecord;
  failure: DeadLetterFailure;
}

/**
 * Hands an event that failed for good at `failure.target` to that target's dead letter (workflows/dead-letter.ts):
 * a regular activity on the dead letter's own retry schedule, sent as any delivery is (gate, heartbeats, attempts
 * counted), with the failure beside the event and an event id of its own (deadLetterEventId), so it is neither taken
 * for nor deduplicated against the event's own delivery to the same target.
 */
export async function deliverDeadLetter(
  deps: ActivityDeps,
  input: DeliverDeadLetterInput,
): Promise<DeliverToTargetResult> {
  const eventId = deadLetterEventId(input.eventId, input.failure.target);
  const delivery: Delivery = { ...deliveryOf({ eventId, record: input.record }), deadLetter: input.failure };
  return attemptSend(deps, input.arn, eventId, delivery, 0, { note: false });
}

/** A dead letter's own event id: 32 hex characters, as event ids are, one per event and failed target. */
export function deadLetterEventId(eventId: string, failedArn: string): string {
  return createHash('sha256').update(`dead-letter ${failedArn} ${eventId}`).digest('hex').slice(0, 32);
}

async function attemptSend(
  deps: ActivityDeps,
  arn: string,
  eventId: string,
  delivery: Delivery,
  attemptsBefore: number,
  options: SendOptions = {},
): Promise<DeliverToTargetResult> {
  const ctx = Context.current();
  // Attempts of the regular activity that only waited (target held) are not counted: the heartbeat carries them.
  const held = ctx.info.isLocal ? 0 : ((ctx.info.heartbeatDetails as { held?: number } | undefined)?.held ?? 0);
  const attempt = attemptsBefore + ctx.info.attempt - held;
  // Local activities cannot heartbeat: a lost worker shows as a timed-out workflow task instead.
  const heartbeat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat({ held }), HEARTBEAT_EVERY_MS);
  const admit: AdmitOptions = ctx.info.isLocal
    ? LOCAL_ADMIT
    : { maxWaitMs: deps.gate.durableWaitMs, maxRateWaitMs: deps.gate.durableWaitMs, sleep: (ms) => ctx.sleep(ms) };
  try {
    await traced({ arn, eventId, attempt }, () => send(deps, arn, delivery, admit, options));
    // The ARN in results and failure details lets `bucketflow deliveries show` attribute local-activity markers.
    return { attempt, arn };
  } catch (err) {
    if (err instanceof TargetHeld) {
      // Not the target's failure: retried in a second (not on the backoff schedule), and not counted as an attempt.
      if (!ctx.info.isLocal) ctx.heartbeat({ held: held + 1 }); // flushed with the failure, read by the next attempt
    } else {
      const permanent = err instanceof PermanentDeliveryError;
      ctx.log.warn('delivery attempt failed', { arn, eventId, attempt, permanent, error: messageFor(arn, err) });
    }
    throw attemptFailure(err, { arn, attempt }, messageFor(arn, err));
  } finally {
    clearInterval(heartbeat);
  }
}

/** Each send in a span of its own (src/telemetry/tracing.ts): the target's ARN, the attempt and its outcome. */
function traced<T>(attributes: { arn: string; eventId: string; attempt: number }, send: () => Promise<T>): Promise<T> {
  return inSendSpan(attributes, send, (err) =>
    err instanceof TargetHeld ? 'held' : err instanceof PermanentDeliveryError ? 'permanent' : 'failed',
  );
}

export function deliveryOf({ eventId, record }: { eventId: string; record: S3EventRecord }): Delivery {
  return { eventId, record, envelope: toEnvelope(record) };
}

/**
 * One send, once the gate admits it (pause, circuit breaker, max_rate): throws TargetHeld instead of sending
 * while the target is held; none at all when this worker already sent it for this delivery (SendDedupe).
 * Outcomes feed the circuit breaker and the metrics.
 */
interface SendOptions {
  /** Tell reconciliation a target has seen this state of the object (default); not for a dead letter. */
  note?: boolean;
  /**
   * A run that sends many events (per-key order, workflows/key-order.ts): what the worker's sent record knows this
   * send by within the run. Absent: the run sends one event (a dead letter has a key of its own).
   */
  sentKey?: string;
}

async function send(
  deps: ActivityDeps,
  arn: string,
  delivery: Delivery,
  admit: AdmitOptions,
  options: SendOptions = {},
): Promise<void> {
  const labels = { target: arn };
  // This worker already sent it for this delivery (a task re-run after its completion was lost): not again. A dead
  // letter is sent under a key of its own: its target may also be one of the event's own targets.
  const runId = Context.current().info.workflowExecution?.runId;
  // Per-key order's runs send many events: told apart by their sentKey.
  const key = delivery.deadLetter ? delivery.eventId : options.sentKey;
  const run = runId && key !== undefined ? `${runId} ${key}` : runId;
  if (run && deps.targets.sent.has(run, arn)) {
    metrics.attempts.inc({ ...labels, result: 'already_sent' });
    return;
  }
  metrics.inFlight.inc(labels);
  try {
    const target = deps.targets.get(arn);
    if (!target) throw new PermanentDeliveryError('target is not configured on this worker (or is disabled)');
    await deps.gate.admit(arn, admit);
    const stopTimer = metrics.attemptSeconds.startTimer(labels);
    let sent = false;
    try {
      await target.send(delivery);
      sent = true;
    } finally {
      deps.sends?.record(arn, sent, stopTimer() * 1000);
    }
    if (run) deps.targets.sent.add(run, arn);
    if (options.note !== false) deps.delivered?.note(delivery.record); // reconciliation: a target has seen this state
    deps.gate.succeeded(arn);
    metrics.attempts.inc({ ...labels, result: 'success' });
    metrics.deliveries.inc({ ...labels, outcome: 'delivered' });
  } catch (err) {
    const permanent = err instanceof PermanentDeliveryError;
    if (err instanceof TargetHeld) metrics.attempts.inc({ ...labels, result: 'held' });
    else {
      metrics.attempts.inc({ ...labels, result: permanent ? 'permanent_error' : 'retryable_error' });
      if (permanent) metrics.deliveries.inc({ ...labels, outcome: 'failed' });
      else deps.gate.failed(arn, redactCredentials(errorMessage(err)));
    }
    throw err;
  } finally {
    metrics.inFlight.dec(labels);
  }
}

/** The error as the history shows it, always naming the target, redacted (the pool's targets already are; the gate's
 * store may not be). */
export function messageFor(arn: string, err: unknown): string {
  const message = redactCredentials(errorMessage(err));
  return message.includes(arn) ? message : `${arn}: ${message}`;
}
