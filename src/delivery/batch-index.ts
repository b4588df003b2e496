// How a batch workflow's events are found in Temporal's visibility store, within its search-attribute limits.
// Temporal refuses a start whose search attribute value is over 2 KB (limit.searchAttributesSizeOfValueBytes,
// the same on Temporal Cloud), SQL visibility allows only 3 keyword lists per namespace, and neither lists nor
// text can be searched by prefix. So a batch carries short tokens in two Text attributes, matched token by
// token: BucketflowBatchEvents the first 8 hex characters of each event id, BucketflowBatchObjects `b` + a
// hash of each bucket and a hash of each `<bucket>/<key>` (FNV-1a, 8 hex). A lookup finds candidate batches by
// token, then reads their memo (every event's full id, bucket and key) to keep only real matches, so a token
// two events share costs one more read, never a wrong answer. The group commit closes a batch before either
// attribute would pass INDEX_BUDGET_BYTES: every event of a batch is indexed, none is cut.
// The memo lists every event, so it cannot stay within the 2 KB Temporal suggests for memos (its warning limit,
// limit.memoSize.warn; the hard limit, limit.memoSize.error, is 2 MB) once a batch holds more than ~12 events:
// by design it is bounded instead, the batch closed before its memo would pass MEMO_BUDGET_BYTES (a few hundred
// events with keys of a usual length fit), and the worker's SDK warns (TMPRL1103) only past MEMO_WARN_BYTES, that
// bound, not at every batch.
// Sandbox-safe: no imports.

/** Under Temporal's 2,048-byte limit per search-attribute value, with room to spare. */
export const INDEX_BUDGET_BYTES = 2_000;

/** A batch's memo (its events' ids, buckets, keys and event names, as JSON) stays within this. */
export const MEMO_BUDGET_BYTES = 64 * 1024;
/** The SDK's memo warning threshold for the worker's connection: the budget and the payload's own framing. */
export const MEMO_WARN_BYTES = MEMO_BUDGET_BYTES + 1024;
/** One memo entry's JSON beyond its bucket and key: `{"id":"<32 hex>","bucket":,"key":,"event":"<name>"},`, 70 bytes,
 * and the longest event name's 48. */
export const MEMO_ENTRY_BYTES = 118;

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

/** FNV-1a, 32 bits, as 8 hex characters: stable across processes and versions, no crypto module needed (the sandbox has
 * none). */
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
  /** The memo's JSON so far (an upper bound), starting with its `{"events":[]}`. */
  memoBytes = 14;
  private count = 0;

  /** Adds the event's tokens if both attributes and the memo stay within their budgets; false (and nothing added)
   * otherwise. */
  add(eventId: string, bucket: string, key: string): boolean {
    const event = [eventToken(eventId)].filter((t) => !this.events.has(t));
    const objects = [bucketToken(bucket), objectToken(bucket, key)].filter((t) => !this.objects.has(t));
    const [eventCost, objectCost] = [costOf(event), costOf(objects)];
    if (this.eventBytes + eventCost > INDEX_BUDGET_BYTES || this.objectBytes + objectCost > INDEX_BUDGET_BYTES)
      return false;
    // A first event always fits: a batch of one is still a batch (a key is at most what a 256 KiB record holds).
    const memoCost = MEMO_ENTRY_BYTES + jsonBytes(bucket) + jsonBytes(key);
    if (this.count > 0 && this.memoBytes + memoCost > MEMO_BUDGET_BYTES) return false;
    this.count++;
    this.memoBytes += memoCost;
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

/** A string's bytes as JSON text (UTF-8, quoted and escaped). */
function jsonBytes(text: string): number {
  return new TextEncoder().encode(JSON.stringify(text)).length;
}

/** Tokens are ASCII: a token's bytes and its separating space. */
function costOf(tokens: string[]): number {
  return tokens.reduce((sum, t) => sum + t.length + 1, 0);
}
