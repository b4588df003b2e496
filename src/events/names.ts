// MinIO's event names (internal/event/name.go), their `X:*` families and `mc event add` shortcuts.

const FAMILIES = {
  ObjectAccessed: ['Get', 'GetRetention', 'GetLegalHold', 'Head', 'Attributes'],
  ObjectCreated: [
    'CompleteMultipartUpload',
    'Copy',
    'Post',
    'Put',
    'PutRetention',
    'PutLegalHold',
    'PutTagging',
    'DeleteTagging',
  ],
  ObjectRemoved: ['Delete', 'DeleteMarkerCreated', 'DeleteAllVersions', 'NoOP'],
  BucketCreated: [],
  BucketRemoved: [],
  Replication: [
    'OperationFailedReplication',
    'OperationCompletedReplication',
    'OperationMissedThreshold',
    'OperationReplicatedAfterThreshold',
    'OperationNotTracked',
  ],
  ObjectRestore: ['Post', 'Completed'],
  ObjectTransition: ['Failed', 'Complete'],
  Scanner: ['ManyVersions', 'LargeVersions', 'BigPrefix'],
  LifecycleDelMarkerExpiration: ['Delete'],
} as const satisfies Record<string, readonly string[]>;

type Family = keyof typeof FAMILIES;

/** Every concrete event name; bucket events have no sub-name and are written `s3:BucketCreated:*`. */
export const EVENT_NAMES: readonly string[] = Object.entries(FAMILIES).flatMap(([family, names]) =>
  names.length === 0 ? [`s3:${family}:*`] : names.map((name) => `s3:${family}:${name}`),
);

const KNOWN = new Set(EVENT_NAMES);

export class UnknownEventError extends Error {
  constructor(readonly eventName: string) {
    super(`unknown event name: ${eventName}`);
    this.name = 'UnknownEventError';
  }
}

export function isEventName(name: string): boolean {
  return KNOWN.has(name) || isFamilyWildcard(name);
}

function isFamilyWildcard(name: string): boolean {
  const match = /^s3:([A-Za-z]+):\*$/.exec(name);
  return match !== null && Object.hasOwn(FAMILIES, match[1]); // `in` would take Object.prototype's names (s3:constructor:*)
}

/** `s3:ObjectCreated:*` -> its concrete names; a concrete name -> itself; unknown -> error. */
export function expandEventName(pattern: string): string[] {
  if (KNOWN.has(pattern)) return [pattern];
  if (!isFamilyWildcard(pattern)) throw new UnknownEventError(pattern);
  const family = pattern.split(':')[1] as Family;
  const names = FAMILIES[family];
  return names.length === 0 ? [pattern] : names.map((name) => `s3:${family}:${name}`);
}

/** Whether a rule's event pattern (concrete or `X:*`) covers an event name. */
export function eventMatches(pattern: string, eventName: string): boolean {
  if (pattern === eventName) return true;
  return isFamilyWildcard(pattern) && expandEventName(pattern).includes(eventName);
}

/** `mc event add --event` shortcuts. */
export const MC_SHORTCUTS: Readonly<Record<string, readonly string[]>> = {
  put: ['s3:ObjectCreated:*'],
  delete: ['s3:ObjectRemoved:*'],
  get: ['s3:ObjectAccessed:*'],
  replica: ['s3:Replication:*'],
  ilm: ['s3:ObjectRestore:*', 's3:ObjectTransition:*'],
  scanner: ['s3:Scanner:ManyVersions', 's3:Scanner:BigPrefix'],
};

export const MC_DEFAULT_EVENTS = ['put', 'delete', 'get'];

/** Turns `put,delete` (or full names) into event patterns, as `mc event add --event` does. */
export function parseEventList(list: string): string[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .flatMap((item) => {
      const shortcut = Object.hasOwn(MC_SHORTCUTS, item.toLowerCase()) ? MC_SHORTCUTS[item.toLowerCase()] : undefined;
      if (shortcut) return [...shortcut];
      if (!isEventName(item)) throw new UnknownEventError(item);
      return [item];
    });
}
