// Per-key order (type `deliverKeyOrdered`, docs/ordering.md): one workflow per (target with `order: key`, bucket,
// object key), fed by signal-with-start from wherever the event was accepted or matched (the publisher, a
// per-event delivery, a batch's activity). It keeps the object's events in a queue sorted by sequencer and
// delivers them one at a time through the shared per-event core (workflows/fast-path.ts: fast attempts as local
// activities, then the durable activity with the target's retry schedule), so the target sees one object's events
// in sequencer order while other objects' workflows run in parallel. Each event is held `windowMs` from its arrival
// so an older event still on its way (posted at the same time) sorts before it; one that
// arrives after a newer one was delivered is delivered next all the same (message targets need every event; the
// store targets skip what is older than what they hold) and counted as late. An event handed over twice (a retried
// hand-off) is dropped by its id. After KEY_ORDER_EVENTS_PER_RUN events it continues as new carrying its queue;
// idle for KEY_ORDER_IDLE_MS it completes (a later signal-with-start begins a new run).
// Deterministic: no I/O, clocks or randomness here but the workflow's own (replayed) time; every decision is in
// the history (each event a signal, each attempt a marker or an activity).
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import {
  KEY_ORDER_ENQUEUE_SIGNAL,
  KEY_ORDER_EVENTS_PER_RUN,
  KEY_ORDER_IDLE_MS,
  KEY_ORDER_PROGRESS_QUERY,
  KEY_ORDER_REMEMBERED_FAILURES,
  KEY_ORDER_REMEMBERED_IDS,
  sequencerOrder,
  type KeyOrderCarried,
  type KeyOrderInput,
  type KeyOrderProgress,
  type OrderedEvent,
  type QueuedEvent,
} from '../src/delivery/key-order';
import { deliverTo } from './fast-path';

export const enqueueSignal = defineSignal<[OrderedEvent]>(KEY_ORDER_ENQUEUE_SIGNAL);
export const progressQuery = defineQuery<KeyOrderProgress>(KEY_ORDER_PROGRESS_QUERY);

export async function deliverKeyOrdered(input: KeyOrderInput): Promise<KeyOrderProgress> {
  const { target } = input;
  const windowMs = target.retry.keyOrder?.windowMs ?? 0;
  const state: KeyOrderCarried = input.carried ?? { queue: [], recentIds: [], delivered: 0, late: 0, failed: [] };
  const queue = state.queue;
  const recent = new Set(state.recentIds);
  const progress = (): KeyOrderProgress => ({
    queued: queue.map((q) => q.eventId),
    delivered: state.delivered,
    late: state.late,
    failed: state.failed,
  });

  const idOf = (event: OrderedEvent) => event.handOffId ?? event.eventId;
  setHandler(enqueueSignal, (event) => {
    const id = idOf(event);
    if (recent.has(id) || queue.some((q) => idOf(q) === id)) return; // handed over twice
    const queued: QueuedEvent = { ...event, arrivedAtMs: Date.now() };
    const order = sequencerOrder(event.record);
    // After every queued event of an equal or lower sequencer: equal ones keep their arrival order.
    const at = queue.findIndex((q) => sequencerOrder(q.record) > order);
    if (at === -1) queue.push(queued);
    else queue.splice(at, 0, queued);
  });
  setHandler(progressQuery, progress);

  const remember = (eventId: string) => {
    recent.add(eventId);
    state.recentIds.unshift(eventId);
    if (state.recentIds.length > KEY_ORDER_REMEMBERED_IDS) recent.delete(state.recentIds.pop()!);
  };

  for (let handled = 0; ;) {
    if (queue.length === 0) {
      // Idle: wait for an event; none within the idle time (and no signal still being handled) ends the run.
      if (!(await condition(() => queue.length > 0, input.idleMs ?? KEY_ORDER_IDLE_MS)) && queue.length === 0) {
        await condition(allHandlersFinished);
        if (queue.length === 0) return progress();
      }
      continue;
    }
    const head = queue[0];
    // Held from its arrival, not its eventTime: a backlog posted 16 at a time races as much as fresh events do.
    const wait = head.arrivedAtMs + windowMs - Date.now();
    if (wait > 0) {
      await sleep(wait); // an older event arriving meanwhile becomes the head
      continue;
    }
    queue.shift();
    const order = sequencerOrder(head.record);
    if (state.lastSequencer !== undefined && order < state.lastSequencer) {
      state.late++;
      log.warn('event arrived after a newer one of its object was delivered: delivered now', {
        eventId: head.eventId,
        sequencer: head.record.s3.object.sequencer,
      });
    }
    const delivery = { eventId: head.eventId, record: head.record, sentKey: idOf(head) };
    const outcome = await deliverTo(target, delivery, undefined, () => {});
    if (outcome.status === 'delivered') state.delivered++;
    else {
      state.failed.push({
        eventId: head.eventId,
        sequencer: head.record.s3.object.sequencer,
        error: outcome.error ?? 'failed',
      });
      state.failed.splice(0, state.failed.length - KEY_ORDER_REMEMBERED_FAILURES); // the latest kept
    }
    if (state.lastSequencer === undefined || order > state.lastSequencer) state.lastSequencer = order;
    remember(idOf(head));
    handled++;
    if (handled >= (input.eventsPerRun ?? KEY_ORDER_EVENTS_PER_RUN) || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof deliverKeyOrdered>({ ...input, carried: state });
    }
  }
}
