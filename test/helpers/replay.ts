// Event histories for replay tests of namespace-format targets: shuffled and duplicated, the final state
// must still be the newest event per object.
import type { Delivery } from '../../src/targets/target';
import { deliveryOf } from './records';

/** A deterministic shuffle (seeded LCG), so a failing order can be replayed. */
export function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Two puts each for images/a.jpg, b.jpg and c.jpg, then a delete of b.jpg; `survivors` are the newest puts of a and c.
 * */
export function objectHistory(): { events: Delivery[]; survivors: Delivery[] } {
  const base = Date.now();
  const events = ['a.jpg', 'b.jpg', 'c.jpg'].flatMap((name, n) => [
    deliveryOf({ eventName: 's3:ObjectCreated:Put', bucket: 'images', key: name, eventTime: new Date(base + n * 10) }),
    deliveryOf({
      eventName: 's3:ObjectCreated:Put',
      bucket: 'images',
      key: name,
      eventTime: new Date(base + n * 10 + 1),
      size: 7,
    }),
    ...(name === 'b.jpg'
      ? [
          deliveryOf({
            eventName: 's3:ObjectRemoved:Delete',
            bucket: 'images',
            key: name,
            eventTime: new Date(base + n * 10 + 2),
          }),
        ]
      : []),
  ]);
  return { events, survivors: [events[1], events[6]] };
}
