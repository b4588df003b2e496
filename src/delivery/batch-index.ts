// How a batch workflow's events are found in Temporal's visibility store, within its search-attribute limits.
// Temporal refuses a start whose search attribute value is over 2 KB (limit.searchAttributesSizeOfValueBytes,
// the same on Temporal Cloud), and a keyword list cannot be searched by prefix. So a batch carries short
// tokens, not its events' full ids and keys: BucketflowBatchEvents holds the first 6 hex characters of each
// event id, BucketflowBatchObjects `b:<bucket>` for each bucket and a 6-hex token (FNV-1a) of each
// `<bucket>/<key>`. A lookup finds candidate batches by token and then reads their memo (every event's full
// id and key) to keep only real matches, so a token shared by two events only costs one more read. The batch
// closes before either list would pass INDEX_BUDGET_BYTES: every event of a batch is indexed, none is cut.
// Sandbox-safe: no imports (the group commit, the operator's lookups and their tests share it).

/** Under Temporal's 2,048-byte limit per search-attribute value, with room to spare. */
export const INDEX_BUDGET_BYTES = 2_000;
const TOKEN_HEX = 6;

/** The token of an event id (event ids are 32 hex characters, src/events/identity.ts). */
export function eventToken(eventId: string): string {
  return eventId.slice(0, TOKEN_HEX).toLowerCase();
}

/** The token of one object, `<bucket>/<raw key>`. */
export function objectToken(bucket: string, key: string): string {
  // FNV-1a, 32 bits: stable across processes and versions, no crypto module needed.
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`${bucket}/${key}`)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0').slice(0, TOKEN_HEX);
}

export function bucketToken(bucket: string): string {
  return `b:${bucket}`;
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

/** The two keyword lists of a batch, grown event by event; `add` says no once an event would not fit. */
export class BatchIndex {
  readonly events = new Set<string>();
  readonly objects = new Set<string>();
  private eventBytes = 2;
  private objectBytes = 2;

  /** Adds the event's tokens if both lists stay within the budget; false (and nothing added) otherwise. */
  add(eventId: string, bucket: string, key: string): boolean {
    const tokens = { event: eventToken(eventId), bucket: bucketToken(bucket), object: objectToken(bucket, key) };
    const eventCost = this.events.has(tokens.event) ? 0 : entryBytes(tokens.event);
    const objectCost = (this.objects.has(tokens.bucket) ? 0 : entryBytes(tokens.bucket)) + (this.objects.has(tokens.object) ? 0 : entryBytes(tokens.object));
    if (this.eventBytes + eventCost > INDEX_BUDGET_BYTES || this.objectBytes + objectCost > INDEX_BUDGET_BYTES) return false;
    this.eventBytes += eventCost;
    this.objectBytes += objectCost;
    this.events.add(tokens.event);
    this.objects.add(tokens.bucket);
    this.objects.add(tokens.object);
    return true;
  }
}

/** A list entry's bytes in the attribute's JSON: the quoted string and its comma. */
function entryBytes(token: string): number {
  return new TextEncoder().encode(JSON.stringify(token)).length + 1;
}
