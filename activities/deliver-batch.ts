// The high-volume mode's one local activity (workflows/deliver-batch.ts): every event of a batch to every
// matched target, each target through its bulk path (Target.sendBatch: one Kafka send, one `_bulk`, one SQL
// transaction, a Redis pipeline, confirms awaited together, concurrent webhook POSTs), events of one object in
// sequencer order (src/targets/send.ts). Any (event, target) that fails leaves the batch: the event continues as its
// own per-event
// delivery (deliverEventV3, the event's own workflow id) for the targets still owed, started here with the
// client, so the batch never sends its healthy events again and ends with its first workflow task. Targets with
// `order: key` the batch does not send to: their events go to per-key order's workflows (workflows/key-order.ts).
import { Context } from '@temporalio/activity';
import { errorMessage, withTimeout } from '../src/errors';
import { decodeObjectKey } from '../src/events';
import { metrics } from '../src/telemetry/metrics';
import { failed, sendOrder } from '../src/targets/send';
import { PermanentDeliveryError, TargetHeld } from '../src/delivery/failure';
import type { TargetAttempt } from '../src/delivery/types';
import type { BatchSendResult, Delivery } from '../src/targets/target';
import type {
  BatchEvent,
  BatchEventOutcome,
  BatchResult,
  DeliverBatchInput,
  DeliverInput,
  HandedOff,
  ResolvedTarget,
} from '../src/delivery/types';
import { LOCAL_ADMIT, deliveryOf, messageFor } from './deliver';
import { resolveTargets } from '../src/rules/resolve';
import type { ActivityDeps } from './deps';
import { handOffOrdered } from './key-order';
import { isKeyOrdered, sequencerOrder } from '../src/delivery/key-order';

/** One target's bulk send gives up after this (its events then continue per event); under the activity's own timeout.
 * */
const BATCH_SEND_TIMEOUT_MS = 20_000;
/** Starting the per-event deliveries of failed events: tries before the activity fails (and the batch is tried again).
 * */
const CONTINUE_TRIES = 3;
const CONTINUE_RETRY_MS = 1_000;
/** A message target's share of a batch is sent in slices of this many events, each recorded as sent (sendBatch). */
export const SEND_SLICE_EVENTS = 50;

export async function deliverBatchEvents(deps: ActivityDeps, input: DeliverBatchInput): Promise<BatchResult> {
  const ctx = Context.current();
  const batchId = ctx.info.workflowExecution?.workflowId ?? 'unknown batch';
  const run = ctx.info.workflowExecution?.runId;
  const events = await Promise.all(
    input.events.map(async (event) => ({
      ...event,
      targets: event.targets ?? (await resolveTargets(deps.state, (arn) => deps.targets.retryFor(arn), event.record)),
    })),
  );

  // Each target's share of the batch: the events whose rules matched it (fast_attempts 0 skips the batch, as it skips
  // the fast path).
  const byArn = new Map<string, number[]>();
  events.forEach((event, index) => {
    for (const target of event.targets) {
      if (target.retry.fastAttempts === 0 || isKeyOrdered(target)) continue;
      const indices = byArn.get(target.arn) ?? [];
      indices.push(index);
      byArn.set(target.arn, indices);
    }
  });
  const attempts: TargetAttempt[][] = events.map(() => []);
  await Promise.all(
    [...byArn].map(async ([arn, indices]) => {
      const results = await sendBatch(
        deps,
        arn,
        indices.map((index) => deliveryOf(events[index])),
        run,
      );
      results.forEach((result, n) => {
        if (result.ok) attempts[indices[n]].push({ arn, delivered: true });
        else {
          if (!(result.error instanceof TargetHeld)) {
            ctx.log.warn('delivery attempt failed', {
              arn,
              eventId: events[indices[n]].eventId,
              attempt: 1,
              permanent: result.permanent,
              error: errorMessage(result.error),
              batch: batchId,
            });
          }
          attempts[indices[n]].push({
            arn,
            delivered: false,
            permanent: result.permanent,
            error: messageFor(arn, result.error),
          });
        }
      });
    }),
  );

  const handedOff = await handOffInOrder(deps, events);
  const outcomes = await Promise.all(
    events.map(async (event, index): Promise<BatchEventOutcome> => {
      const outcome: BatchEventOutcome = {
        eventId: event.eventId,
        object: `${event.record.s3.bucket.name}/${decodeObjectKey(event.record.s3.object.key)}`,
        targets: attempts[index],
      };
      const handed = handedOff.get(index);
      if (handed) outcome.handedOff = handed;
      const failed = attempts[index].filter((a) => !a.delivered);
      const owed = event.targets.filter(
        (t) => !isKeyOrdered(t) && (t.retry.fastAttempts === 0 || failed.some((f) => f.arn === t.arn)),
      );
      if (owed.length > 0)
        outcome.continuedIn = await continueEvent(deps, {
          eventId: event.eventId,
          record: event.record,
          source: event.source,
          targets: owed,
          firstAttempt: failed,
          batch: batchId,
        });
      return outcome;
    }),
  );
  const continued = outcomes.filter((o) => o.continuedIn).length;
  return { events: outcomes.length, delivered: outcomes.length - continued, continued, outcomes };
}

/**
 * Targets with `order: key` (matched here when the publisher could not see the rules: it hands them over itself
 * otherwise) get their events from their per-(target, object) workflows: one object's events handed over one after
 * the other in sequencer order, objects side by side. Event index -> where its ordered targets' shares went.
 */
async function handOffInOrder(
  deps: ActivityDeps,
  events: Array<BatchEvent & { targets: ResolvedTarget[] }>,
): Promise<Map<number, HandedOff[]>> {
  const byObject = new Map<string, number[]>();
  events.forEach((event, index) => {
    if (!event.targets.some(isKeyOrdered)) return;
    const object = `${event.record.s3.bucket.name}/${decodeObjectKey(event.record.s3.object.key)}`;
    byObject.set(object, [...(byObject.get(object) ?? []), index]);
  });
  const handedOff = new Map<number, HandedOff[]>();
  await Promise.all(
    [...byObject.values()].map(async (indices) => {
      indices.sort((a, b) => compareText(sequencerOrder(events[a].record), sequencerOrder(events[b].record)));
      for (const index of indices) {
        const { eventId, record, source, targets } = events[index];
        handedOff.set(
          index,
          await handOffOrdered(deps, { eventId, record, source, targets: targets.filter(isKeyOrdered) }),
        );
      }
    }),
  );
  return handedOff;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The event's per-event delivery for the targets still owed; retried a little, as Temporal may blink. */
async function continueEvent(deps: ActivityDeps, input: DeliverInput): Promise<string> {
  if (!deps.continueDelivery)
    throw new Error('this worker cannot start per-event deliveries (no client): the batch is retried');
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.continueDelivery(input);
    } catch (err) {
      if (attempt >= CONTINUE_TRIES)
        throw new Error(`could not continue event ${input.eventId} in its own delivery: ${errorMessage(err)}`, {
          cause: err,
        });
      await Context.current().sleep(CONTINUE_RETRY_MS);
    }
  }
}

/**
 * One target's share of the batch: what this worker already sent for this batch run (a task re-run after its
 * completion was lost: the SendDedupe) is not sent again; the rest goes through the bulk path, recorded as sent as
 * it succeeds. A target whose writes are keyed (a store) takes it in one bulk; a message target in slices of
 * SEND_SLICE_EVENTS one after the other, so a worker SIGKILLed mid-batch leaves at most one slice sent but
 * unrecorded (sent again by the re-run: the receiver's dedupe on the event id covers those). Never throws.
 */
async function sendBatch(
  deps: ActivityDeps,
  arn: string,
  deliveries: Delivery[],
  run: string | undefined,
): Promise<BatchSendResult[]> {
  const sentKey = (delivery: Delivery) => `${run} ${delivery.eventId}`;
  const pending = run ? deliveries.filter((d) => !deps.targets.sent.has(sentKey(d), arn)) : deliveries;
  if (pending.length < deliveries.length)
    metrics.attempts.inc({ target: arn, result: 'already_sent' }, deliveries.length - pending.length);
  const results = new Map<string, BatchSendResult>(); // by event id: an event given twice is sent once
  const sliceSize = deps.targets.get(arn)?.keyedWrites ? pending.length : SEND_SLICE_EVENTS;
  // Slices of the send order (each object's events oldest first), one after the other: order holds across slices.
  let down: BatchSendResult | undefined; // a slice that failed whole and retryably: the target is down, stop there
  for (const slice of slicesOf(sendOrder(pending).ordered, sliceSize)) {
    const sent = down ? slice.map(() => down!) : await sendPending(deps, arn, slice);
    sent.forEach((result, n) => results.set(slice[n].eventId, result));
    if (run) deps.targets.sent.addAll(slice.filter((d) => results.get(d.eventId)!.ok).map((d) => [sentKey(d), arn]));
    if (sent.every((result) => !result.ok && !result.permanent)) down = sent[0];
  }
  return deliveries.map((d) => results.get(d.eventId) ?? { ok: true });
}

function slicesOf<T>(items: T[], size: number): T[][] {
  const slices: T[][] = [];
  for (let at = 0; at < items.length; at += Math.max(1, size)) slices.push(items.slice(at, at + Math.max(1, size)));
  return slices;
}

/**
 * Deliveries through the target's bulk path, once the gate admits it (as a fast attempt: a held target fails
 * at once and its events continue per event, where the durable activity waits). Never throws.
 */
async function sendPending(deps: ActivityDeps, arn: string, deliveries: Delivery[]): Promise<BatchSendResult[]> {
  const labels = { target: arn };
  const failAll = (err: unknown): BatchSendResult[] => {
    const result = failed(err);
    return deliveries.map(() => result);
  };
  metrics.inFlight.inc(labels, deliveries.length);
  try {
    const target = deps.targets.get(arn);
    if (!target) return failAll(new PermanentDeliveryError('target is not configured on this worker (or is disabled)'));
    try {
      await deps.gate.admit(arn, LOCAL_ADMIT);
    } catch (err) {
      metrics.attempts.inc({ ...labels, result: 'held' }, deliveries.length);
      return failAll(err);
    }
    const stopTimer = metrics.attemptSeconds.startTimer(labels);
    let results: BatchSendResult[];
    try {
      results = await withTimeout(target.sendBatch(deliveries), BATCH_SEND_TIMEOUT_MS, `${arn}: batch send`);
    } catch (err) {
      results = failAll(err);
    } finally {
      stopTimer();
    }
    let failures = 0;
    for (const [n, result] of results.entries()) {
      const outcome = result.ok ? 'success' : result.permanent ? 'permanent_error' : 'retryable_error';
      metrics.attempts.inc({ ...labels, result: outcome });
      if (result.ok) {
        metrics.deliveries.inc({ ...labels, outcome: 'delivered' });
        deps.delivered?.note(deliveries[n].record); // reconciliation: a target has seen this state of the object
      } else if (result.permanent) metrics.deliveries.inc({ ...labels, outcome: 'failed' });
      else failures++;
    }
    // The circuit breaker counts sends: a batch that failed as a whole is one failure, one that got through a success.
    if (failures === results.length && failures > 0)
      deps.gate.failed(arn, errorMessage((results[0] as { error: Error }).error));
    else if (failures < results.length) deps.gate.succeeded(arn);
    return results;
  } finally {
    metrics.inFlight.dec(labels, deliveries.length);
  }
}
