// The bulk path every target shares, for the high-volume mode (one workflow, many events). A driver implements
// one bulk send over a batch's distinct events already put in send order (one object's events by sequencer);
// this module maps its results back to the caller's deliveries, turns a thrown error into every event's failure,
// and makes the single `send` a batch of one, so both paths run the same code. Also the small tools drivers
// build their bulk sends from: results of settled promises, bounded concurrency, per-object chains.
import { objectPath, orderingKey } from '../events/record';
import { PermanentDeliveryError } from '../delivery/failure';
import type { BatchSendResult, Delivery, Health, Target } from './target';

export const DELIVERED: BatchSendResult = Object.freeze({ ok: true });

/** A failed result; permanent exactly when `err` is a PermanentDeliveryError. */
export function failed(err: unknown): BatchSendResult {
  const error = err instanceof Error ? err : new Error(String(err));
  return { ok: false, error, permanent: error instanceof PermanentDeliveryError };
}

/**
 * A batch's distinct events (the first of each event id) in send order: the events of one object
 * (`<bucket>/<raw key>`) take the positions they had, sorted by sequencer, so objects stay interleaved as
 * given while each object's states go oldest first. `positionOf[i]` is where input `i` ended up.
 */
export function sendOrder(deliveries: Delivery[]): { ordered: Delivery[]; positionOf: number[] } {
  const distinctIndex = new Map<string, number>();
  const distinct: Delivery[] = [];
  const distinctOf = deliveries.map((delivery) => {
    let index = distinctIndex.get(delivery.eventId);
    if (index === undefined) {
      index = distinct.push(delivery) - 1;
      distinctIndex.set(delivery.eventId, index);
    }
    return index;
  });
  const ordered: Delivery[] = new Array(distinct.length);
  const placedAt: number[] = new Array(distinct.length);
  for (const slots of objectChains(distinct)) {
    const oldestFirst = [...slots].sort((a, b) =>
      compareText(orderingKey(distinct[a].record), orderingKey(distinct[b].record)),
    );
    slots.forEach((slot, n) => {
      ordered[slot] = distinct[oldestFirst[n]];
      placedAt[oldestFirst[n]] = slot;
    });
  }
  return { ordered, positionOf: distinctOf.map((index) => placedAt[index]) };
}

export interface BulkDriver {
  arn: string;
  /** Writes keyed by event id or object key: see Target.keyedWrites. */
  keyedWrites?: boolean;
  /**
   * Sends distinct events, already in send order, through the target's bulk path: one result each, in
   * that order. A throw fails every event with that error (use deliveryError to say whether it is permanent).
   */
  sendOrdered(ordered: Delivery[]): Promise<BatchSendResult[]>;
  health(): Promise<Health>;
  close(): Promise<void>;
}

/** The Target over a driver's bulk send: `sendBatch` as the interface promises, `send` a batch of one. */
export function bulkTarget(driver: BulkDriver): Target {
  const sendBatch = async (deliveries: Delivery[]): Promise<BatchSendResult[]> => {
    if (deliveries.length === 0) return [];
    const { ordered, positionOf } = sendOrder(deliveries);
    let results: BatchSendResult[];
    try {
      results = await driver.sendOrdered(ordered);
      if (results.length !== ordered.length)
        throw new Error(`${driver.arn}: bulk send returned ${results.length} results for ${ordered.length} events`);
    } catch (err) {
      const failure = failed(err);
      results = ordered.map(() => failure);
    }
    return positionOf.map((position) => results[position]);
  };
  return {
    arn: driver.arn,
    keyedWrites: driver.keyedWrites ?? false,
    sendBatch,
    async send(delivery: Delivery) {
      const [result] = await sendBatch([delivery]);
      if (!result.ok) throw result.error;
    },
    health: () => driver.health(),
    close: () => driver.close(),
  };
}

/** One result per send, in order; a rejection becomes the failure `describe` makes of it (naming the ARN, permanent or
 * not). */
export async function settleEach(
  sends: Array<Promise<unknown>>,
  describe: (err: unknown) => Error,
): Promise<BatchSendResult[]> {
  const settled = await Promise.allSettled(sends);
  return settled.map((outcome) => (outcome.status === 'fulfilled' ? DELIVERED : failed(describe(outcome.reason))));
}

/** Runs `work` over `items`, at most `limit` at a time, starting them in order. `work` must not throw. */
export async function forEachBounded<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/** The positions of `deliveries` grouped per object (bucket/key), each group in the given order. */
export function objectChains(deliveries: Delivery[]): number[][] {
  const chains = new Map<string, number[]>();
  deliveries.forEach((delivery, index) => {
    const object = objectPath(delivery.record);
    const chain = chains.get(object);
    if (chain) chain.push(index);
    else chains.set(object, [index]);
  });
  return [...chains.values()];
}

/** Each object's (`<bucket>/<raw key>`) newest event: the last one of `ordered`, which is in send order. */
export function newestPerObject(ordered: Delivery[]): Map<string, Delivery> {
  return new Map(ordered.map((delivery) => [objectPath(delivery.record), delivery]));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
