// What changed between a listed page and what a scan compares it with, by a merge-join of two key-ordered lists
// (pure: the scan activity, activities/scan.ts, feeds it a page at a time, so a bucket is never held whole):
// - a scan compares with its previous listing: a key only listed now is created, a key whose ETag, size or
//   LastModified differs is changed, a key only in the previous listing is removed. On a scan's first run (no previous
//   listing) objects last modified before the scan was added are its baseline, not changes.
// - a reconciliation compares with the latest state bucketflow delivered of each object: an object whose state no
//   target has seen is created or changed, an object delivered and gone since is removed. Objects last modified before
//   the scan was added are the baseline; objects changed within the settle time (their notification may be on its
//   way), and removals of states delivered within it, are left to the next run.
import { compareObjectKeys } from '../src/events/record';
import type { DeliveredState, ListedState } from '../src/state/scans';

export type ChangeKind = 'created' | 'changed' | 'removed';

export interface Change {
  kind: ChangeKind;
  key: string;
  /** The listed state (created, changed). */
  listed?: ListedState;
  /** A scan's change: the previous listing's LastModified (a store of 1 s resolution can list an overwrite with it). */
  previousModified?: string;
}

/**
 * When a change's event is sequenced: at its LastModified, unless that is not later than the previous listing's
 * (an overwrite within the same second on a store whose listings have 1 s resolution, AWS S3's among them), then
 * at the listing's start: its event must differ from the previous state's (its id derives from the sequencer) and
 * be newer for the store targets, which keep the newest sequencer.
 */
export function sequencedAt(change: Change, listingStartedAt: Date): Date | undefined {
  if (change.kind !== 'changed' || change.previousModified === undefined || !change.listed) return undefined;
  const now = Date.parse(change.listed.lastModified);
  const before = Date.parse(change.previousModified);
  return now > before ? undefined : listingStartedAt;
}

export interface DiffRules {
  mode: 'scan' | 'reconcile';
  /** Scan mode: a complete previous listing exists. */
  hasPrevious: boolean;
  /** ms: objects last modified before it are the baseline (when there is nothing to compare with, and in
   * reconciliation). */
  baselineBefore: number;
  /** Reconciliation, ms: objects modified after it, and removals of states recorded after it, wait for the next run. */
  settledBefore: number;
}

/**
 * The changes among `listed` (a page, in key order) and `known` (every previous entry up to the page's last key, or
 * to the end on the last page; in key order).
 */
export function diffPage(
  listed: readonly ListedState[],
  known: ReadonlyArray<ListedState | DeliveredState>,
  rules: DiffRules,
): Change[] {
  const changes: Change[] = [];
  let i = 0;
  let j = 0;
  while (i < listed.length || j < known.length) {
    const order = i >= listed.length ? 1 : j >= known.length ? -1 : compareObjectKeys(listed[i].key, known[j].key);
    if (order < 0) {
      const change = listedOnly(listed[i], rules);
      if (change) changes.push(change);
      i++;
    } else if (order > 0) {
      const change = knownOnly(known[j], rules);
      if (change) changes.push(change);
      j++;
    } else {
      const change = inBoth(listed[i], known[j], rules);
      if (change) changes.push(change);
      i++;
      j++;
    }
  }
  return changes;
}

function modifiedAt(state: ListedState): number {
  const at = Date.parse(state.lastModified);
  return Number.isNaN(at) ? 0 : at;
}

function listedOnly(listed: ListedState, rules: DiffRules): Change | undefined {
  const at = modifiedAt(listed);
  if (rules.mode === 'scan') {
    if (!rules.hasPrevious && at < rules.baselineBefore) return undefined;
    return { kind: 'created', key: listed.key, listed };
  }
  if (at < rules.baselineBefore || at > rules.settledBefore) return undefined;
  return { kind: 'created', key: listed.key, listed };
}

function knownOnly(known: ListedState | DeliveredState, rules: DiffRules): Change | undefined {
  if (rules.mode === 'scan') return { kind: 'removed', key: known.key };
  const delivered = known as DeliveredState;
  if (delivered.removed || delivered.at > rules.settledBefore) return undefined;
  return { kind: 'removed', key: known.key };
}

function inBoth(listed: ListedState, known: ListedState | DeliveredState, rules: DiffRules): Change | undefined {
  if (rules.mode === 'scan') {
    const previous = known as ListedState;
    const same =
      previous.etag === listed.etag && previous.size === listed.size && previous.lastModified === listed.lastModified;
    return same ? undefined : { kind: 'changed', key: listed.key, listed, previousModified: previous.lastModified };
  }
  const delivered = known as DeliveredState;
  if (delivered.removed) return listedOnly(listed, rules);
  if (delivered.etag === listed.etag && delivered.size === listed.size) return undefined;
  const at = modifiedAt(listed);
  if (at < rules.baselineBefore || at > rules.settledBefore) return undefined;
  return { kind: 'changed', key: listed.key, listed };
}
