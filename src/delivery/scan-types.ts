// Inputs and outputs of a scan source's workflow (workflows/scan.ts) and its activity (activities/scan.ts), shared
// with the CLI that schedules it (src/operator/scans.ts). Sandbox-safe: types only.
import type { ListContinuation } from '../s3/client';

/** What a schedule starts a run with: the scan's id (its definition is read from the state store at each round). */
export interface ScanWorkflowInput {
  scanId: string;
  /** Set by the run itself when it continues as new: its start (removals' event time) and where it is. */
  startedAt?: string;
  cursor?: ScanCursor;
}

/** Counts of a run so far. */
export interface ScanTotals {
  pages: number;
  listed: number;
  created: number;
  changed: number;
  removed: number;
  /** Events handed to delivery (changes that match a target), duplicates of a page published again excluded. */
  published: number;
}

/** Where a run stands after a page: heartbeated after each page, returned at the end of each round. */
export interface ScanCursor {
  /** The next page of the listing; undefined once the last page is done. */
  continuation?: ListContinuation;
  /** The last key of the pages done. */
  lastKey?: string;
  /** The listing is complete: what remains is the rest of the previous entries, then the swap. */
  listed: boolean;
  /** The state store's position in what the run compares with and in the listing it writes (opaque, JSON). */
  position: unknown;
  totals: ScanTotals;
}

export interface ScanPagesInput {
  scanId: string;
  /** ISO: the run's start, the same for every round and retry (removals' event time and sequencer). */
  startedAt: string;
  cursor?: ScanCursor;
}

export type ScanPagesResult = { done: false; cursor: ScanCursor } | { done: true; summary: ScanRunSummary };

/** What one run of a scan came to (`scan list`, the status page). */
export interface ScanRunSummary {
  /** Its workflow id. */
  workflowId: string;
  startedAt: string;
  finishedAt: string;
  listed: number;
  created: number;
  changed: number;
  removed: number;
  /** Events handed to delivery (changes whose bucket rules match a target). */
  published: number;
  /** The first run of a scan only records its baseline. */
  baseline: boolean;
}
