import { ApplicationFailure, Context } from '@temporalio/activity';
import { toEnvelope } from '../src/events';
import type { S3EventRecord } from '../src/events/types';
import { errorMessage, withTimeout } from '../src/errors';
import { PermanentDeliveryError, type Delivery } from '../src/targets/target';
import { inSendSpan } from '../src/tracing';
import { PERMANENT_FAILURE, RETRYABLE_FAILURE, type TargetAttempt } from '../workflows/types';
import type { ActivityDeps } from '.';

const HEARTBEAT_EVERY_MS = 5_000;
/** Each send of a first attempt gives up before the local activity's own 10 s timeout, so its outcome is always known. */
const FIRST_ATTEMPT_SEND_TIMEOUT_MS = 8_000;

export interface DeliverToTargetInput {
  arn: string;
  eventId: string;
  record: S3EventRecord;
  /** Attempts the workflow already made for this target (its fast path), so numbers run on across both. */
  attemptsBefore?: number;
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
        await traced({ arn, eventId: input.eventId, attempt: 1 }, () => withTimeout(send(deps, arn, delivery), FIRST_ATTEMPT_SEND_TIMEOUT_MS, `${arn}: send`));
        return { arn, delivered: true };
      } catch (err) {
        const permanent = err instanceof PermanentDeliveryError;
        ctx.log.warn('delivery attempt failed', { arn, eventId: input.eventId, attempt: 1, permanent, error: errorMessage(err) });
        return { arn, delivered: false, permanent, error: messageFor(arn, err) };
      }
    }),
  );
  const failed = outcomes.filter((o) => !o.delivered);
  if (failed.length > 0) {
    throw ApplicationFailure.create({
      type: RETRYABLE_FAILURE,
      message: `${failed.length} of ${outcomes.length} targets failed: ${failed.map((o) => o.error).join('; ')}`,
      details: [{ attempt: 1, outcomes }],
    });
  }
  return outcomes;
}

/**
 * Sends one event to one target: a later fast attempt (a local activity) or the durable fallback (a regular
 * activity). Failures carry the overall attempt number so the workflow can report it.
 */
export async function deliverToTarget(deps: ActivityDeps, input: DeliverToTargetInput): Promise<{ attempt: number }> {
  const ctx = Context.current();
  const attempt = (input.attemptsBefore ?? 0) + ctx.info.attempt;
  // Local activities cannot heartbeat: a lost worker shows as a timed-out workflow task instead.
  const heartbeat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    await traced({ arn: input.arn, eventId: input.eventId, attempt }, () => send(deps, input.arn, deliveryOf(input)));
    return { attempt };
  } catch (err) {
    const permanent = err instanceof PermanentDeliveryError;
    ctx.log.warn('delivery attempt failed', { arn: input.arn, eventId: input.eventId, attempt, permanent, error: errorMessage(err) });
    throw ApplicationFailure.create({
      type: permanent ? PERMANENT_FAILURE : RETRYABLE_FAILURE,
      message: messageFor(input.arn, err),
      nonRetryable: permanent,
      details: [{ attempt }],
    });
  } finally {
    clearInterval(heartbeat);
  }
}

/** Each send in a span of its own (src/tracing.ts): the target's ARN, the attempt and its outcome. */
function traced<T>(attributes: { arn: string; eventId: string; attempt: number }, send: () => Promise<T>): Promise<T> {
  return inSendSpan(attributes, send, (err) => (err instanceof PermanentDeliveryError ? 'permanent' : 'failed'));
}

function deliveryOf({ eventId, record }: { eventId: string; record: S3EventRecord }): Delivery {
  return { eventId, record, envelope: toEnvelope(record) };
}

async function send(deps: ActivityDeps, arn: string, delivery: Delivery): Promise<void> {
  const target = deps.targets.get(arn);
  if (!target) throw new PermanentDeliveryError('target is not configured on this worker (or is disabled)');
  await target.send(delivery);
}

/** The error as the history shows it, always naming the target. */
function messageFor(arn: string, err: unknown): string {
  const message = errorMessage(err);
  return message.includes(arn) ? message : `${arn}: ${message}`;
}
