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
}

/** Sends one event to one target; failures carry the attempt number so the workflow can report it. */
export async function deliverToTarget(deps: ActivityDeps, input: DeliverToTargetInput): Promise<{ attempt: number }> {
  const ctx = Context.current();
  const attempt = ctx.info.attempt;
  const heartbeat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    const target = deps.targets.get(input.arn);
    if (!target) throw new PermanentDeliveryError('target is not configured on this worker (or is disabled)');
    await target.send({ eventId: input.eventId, record: input.record, envelope: toEnvelope(input.record) });
    return { attempt };
  } catch (err) {
    const permanent = err instanceof PermanentDeliveryError;
    const message = err instanceof Error ? err.message : String(err);
    ctx.log.warn('delivery attempt failed', { arn: input.arn, eventId: input.eventId, attempt, permanent, error: message });
    throw ApplicationFailure.create({
      type: permanent ? PERMANENT_FAILURE : RETRYABLE_FAILURE,
      message: message.includes(input.arn) ? message : `${input.arn}: ${message}`,
      nonRetryable: permanent,
      details: [{ attempt }],
    });
  } finally {
    clearInterval(heartbeat);
  }
}
