import { ApplicationFailure, Context } from '@temporalio/activity';
import { toEnvelope } from '../src/events';
import type { S3EventRecord } from '../src/events/types';
import { PermanentDeliveryError } from '../src/targets/target';
import { PERMANENT_FAILURE, RETRYABLE_FAILURE } from '../workflows/types';
import type { ActivityDeps } from '.';

const HEARTBEAT_EVERY_MS = 5_000;

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
  const attempt = (input.attemptsBefore ?? 0) + ctx.info.attempt;
  // Local activities cannot heartbeat: a lost worker shows as a timed-out workflow task instead.
  const heartbeat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    const target = deps.targets.get(input.arn);
    if (!target) throw new PermanentDeliveryError('target is not configured on this worker (or is disabled)');
    await target.send({ eventId: input.eventId, record: input.record, envelope: toEnvelope(input.record) });
    // The ARN in results and failure details lets `bucketflow deliveries show` attribute local-activity markers.
    return { attempt, arn: input.arn };
  } catch (err) {
    const permanent = err instanceof PermanentDeliveryError;
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
  }
}
