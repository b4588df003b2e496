// How a batch workflow's events are found in Temporal's visibility store, within its search-attribute limits.
// Temporal refuses a start whose search attribute value is over 2 KB (limit.searchAttributesSizeOfValueBytes,
// the same on Temporal Cloud), SQL visibility allows only 3 keyword lists per namespace, and neither lists nor
// text can be searched by prefix. So a batch carries short tokens in two Text attributes, matched token by
// token: BucketflowBatchEvents the first 8 hex characters of each event id, BucketflowBatchObjects `b` + a
// hash of each bucket and a hash of each `<bucket>/<key>` (FNV-1a, 8 hex). A lookup finds candidate batches by
// token, then reads their memo (every event's full id, bucket and key) to keep only real matches, so a token
// two events share costs one more read, never a wrong answer. The group commit closes a batch before either
// attribute would pass INDEX_BUDGET_BYTES: every event of a batch is indexed, none is cut.
// Sandbox-safe: no imports.

/** Under Temporal's 2,048-byte limit per search-attribute value, with room to spare. */
export const INDEX_BUDGET_BYTES = 2_000;

/** The token of an event id (event ids are 32 hex characters, src/events/identity.ts). */
export function eventToken(eventId: string): string {
  return eventId.slice(0, 8).toLowerCase();
}

/** The token of one object, `<bucket>/<raw key>`. */
export function objectToken(bucket: string, key: string): string {
  return fnv1a(`${bucket}/${key}`);
}

export function bucketToken(bucket: string): string {
  return `b${fnv1a(bucket)}`;
}

/** FNV-1a, 32 bits, as 8 hex characters: stable across processes and versions, no crypto module needed (the sandbox has none). */
export function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** One event as a batch's memo lists it, so lookups and the Web UI read it without the history. */
export interface BatchMemoEvent {
  /** Event id. */
  id: string;
  bucket: string;
  /** The raw object key. */
  key: string;
  /** The event name, e.g. s3:ObjectCreated:Put. */
  event: string;
}

/** A batch's two token sets, grown event by event; `add` says no once an event would not fit. */
export class BatchIndex {
  readonly events = new Set<string>();
  readonly objects = new Set<string>();
  private eventBytes = 0;
  private objectBytes = 0;

  /** Adds the event's tokens if both attributes stay within the budget; false (and nothing added) otherwise. */
  add(eventId: string, bucket: string, key: string): boolean {
    const event = [eventToken(eventId)].filter((t) => !this.events.has(t));
    const objects = [bucketToken(bucket), objectToken(bucket, key)].filter((t) => !this.objects.has(t));
    const [eventCost, objectCost] = [costOf(event), costOf(objects)];
    if (this.eventBytes + eventCost > INDEX_BUDGET_BYTES || this.objectBytes + objectCost > INDEX_BUDGET_BYTES) return false;
    this.eventBytes += eventCost;
    this.objectBytes += objectCost;
    for (const t of event) this.events.add(t);
    for (const t of objects) this.objects.add(t);
    return true;
  }

  /** The attributes' values: tokens separated by spaces. */
  eventsText(): string {
    return [...this.events].join(' ');
  }

  objectsText(): string {
    return [...this.objects].join(' ');
  }
}

/** Tokens are ASCII: a token's bytes and its separating space. */
function costOf(tokens: string[]): number {
  return tokens.reduce((sum, t) => sum + t.length + 1, 0);
}
