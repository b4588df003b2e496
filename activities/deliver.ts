import { ApplicationFailure, Context } from '@temporalio/activity';
import { toEnvelope } from '../src/events';
import type { S3EventRecord } from '../src/events/types';
import { metrics } from '../src/metrics';
import { TargetHeld } from '../src/targets/gate';
import { PermanentDeliveryError } from '../src/targets/target';
import { PERMANENT_FAILURE, RETRYABLE_FAILURE, TARGET_HELD } from '../workflows/types';
import type { ActivityDeps } from '.';

const HEARTBEAT_EVERY_MS = 5_000;
/** A local activity must not hold its workflow task: it waits this long at most for a rate-limit slot. */
const LOCAL_RATE_WAIT_MS = 1_000;

export interface DeliverToTargetInput {
  arn: string;
  eventId: string;
  record: S3EventRecord;
  /** Attempts the workflow already made for this target (its fast path), so numbers run on across both. */
  attemptsBefore?: number;
}

/**
 * Sends one event to one target, as a local activity (the fast path) or a regular one (the durable
 * fallback). Failures carry the overall attempt number so the workflow can report it.
 */
export async function deliverToTarget(deps: ActivityDeps, input: DeliverToTargetInput): Promise<{ attempt: number; arn: string }> {
  const ctx = Context.current();
  // Attempts of the regular activity that only waited (target held) are not counted: the heartbeat carries them.
  const held = ctx.info.isLocal ? 0 : ((ctx.info.heartbeatDetails as { held?: number } | undefined)?.held ?? 0);
  const attempt = (input.attemptsBefore ?? 0) + ctx.info.attempt - held;
  // Local activities cannot heartbeat: a lost worker shows as a timed-out workflow task instead.
  const heartbeat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat({ held }), HEARTBEAT_EVERY_MS);
  const target = { target: input.arn };
  metrics.inFlight.inc(target);
  try {
    const sender = deps.targets.get(input.arn);
    if (!sender) throw new PermanentDeliveryError('target is not configured on this worker (or is disabled)');
    await deps.gate.admit(input.arn, ctx.info.isLocal
      ? { maxWaitMs: 0, maxRateWaitMs: LOCAL_RATE_WAIT_MS }
      : { maxWaitMs: deps.gate.durableWaitMs, maxRateWaitMs: deps.gate.durableWaitMs, sleep: (ms) => ctx.sleep(ms) });
    const stopTimer = metrics.attemptSeconds.startTimer(target);
    try {
      await sender.send({ eventId: input.eventId, record: input.record, envelope: toEnvelope(input.record) });
    } catch (err) {
      if (!(err instanceof PermanentDeliveryError)) deps.gate.failed(input.arn, err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      stopTimer();
    }
    deps.gate.succeeded(input.arn);
    metrics.attempts.inc({ ...target, result: 'success' });
    metrics.deliveries.inc({ ...target, outcome: 'delivered' });
    // The ARN in results and failure details lets `bucketflow deliveries show` attribute local-activity markers.
    return { attempt, arn: input.arn };
  } catch (err) {
    if (err instanceof TargetHeld) {
      metrics.attempts.inc({ ...target, result: 'held' });
      // Not the target's failure: retried in a second (not on the backoff schedule), and not counted as an attempt.
      if (!ctx.info.isLocal) ctx.heartbeat({ held: held + 1 }); // flushed with the failure, read by the next attempt
      throw ApplicationFailure.create({
        type: TARGET_HELD, message: err.message, nonRetryable: false, nextRetryDelay: '1s', details: [{ attempt, arn: input.arn, held: err.reason }],
      });
    }
    const permanent = err instanceof PermanentDeliveryError;
    metrics.attempts.inc({ ...target, result: permanent ? 'permanent_error' : 'retryable_error' });
    if (permanent) metrics.deliveries.inc({ ...target, outcome: 'failed' });
    const message = err instanceof Error ? err.message : String(err);
    ctx.log.warn('delivery attempt failed', { arn: input.arn, eventId: input.eventId, attempt, permanent, error: message });
    throw ApplicationFailure.create({
      type: permanent ? PERMANENT_FAILURE : RETRYABLE_FAILURE,
      message: message.includes(input.arn) ? message : `${input.arn}: ${message}`,
      nonRetryable: permanent,
      details: [{ attempt, arn: input.arn }],
    });
  } finally {
    clearInterval(heartbeat);
    metrics.inFlight.dec(target);
  }
}
