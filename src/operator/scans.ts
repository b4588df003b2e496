// `bucketflow scan add|list|remove|run`: the scan sources. A scan's definition is kept in the state store
// beside the bucket rules (src/state/scans.ts); its Temporal Schedule (id deterministic per bucket, prefix and task
// queue: scheduleIdFor) starts a run (workflows/scan.ts) every interval, never two at once (overlap: skip), the first
// at once. `add`
// writes the definition, then creates the schedule or updates it to match (and runs it now); `remove` deletes the
// schedule, then the
// definition and what the scan kept; `run` starts a run now. Loaded only for these commands (the Temporal client).
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { loadS3Settings } from '../settings/s3';
import type { ScanWorkflowInput } from '../delivery/scan-types';
import { searchKeys } from '../delivery/search-attributes';
import { SCAN_BUCKET } from '../delivery/workflow-types';
import { BucketflowClient } from '../publish/publisher';
import type { Settings } from '../settings';
import {
  formatInterval,
  scanDefinition,
  scanIdFor,
  scheduleIdFor,
  type ScanDefinition,
  type ScanRunSummary,
  type StateStore,
} from '../state';
import { checkSearchAttributes } from '../temporal/register-search-attributes';
import { causeChain, errorMessage } from '../errors';
import type { scanBucket } from '../../workflows/scan';
import { formatTable } from './table';
import { UsageError } from './command-line';

export interface ScanValues {
  every?: string;
  prefix?: string;
  endpoint?: string;
  metadata?: boolean;
  reconcile?: boolean;
  settle?: string;
  json?: boolean;
}

type Action = ScheduleOptionsStartWorkflowAction<typeof scanBucket>;

async function withTemporal<T>(settings: Settings, use: (client: BucketflowClient) => Promise<T>): Promise<T> {
  const client = await BucketflowClient.connect(settings);
  try {
    await checkSearchAttributes(client.temporal.connection, settings.namespace);
    return await use(client);
  } finally {
    await client.close();
  }
}

/** What the schedule starts: a run of the scan on the task queue, findable by its bucket. */
function actionOf(scan: ScanDefinition, settings: Settings): Action {
  return {
    type: 'startWorkflow',
    workflowType: SCAN_BUCKET,
    args: [{ scanId: scan.id } satisfies ScanWorkflowInput],
    taskQueue: settings.taskQueue,
    workflowId: scheduleIdFor(scan.id, settings.taskQueue),
    typedSearchAttributes: [{ key: searchKeys.bucket, value: scan.bucket }],
  };
}

function scheduleOf(scan: ScanDefinition, settings: Settings) {
  return {
    spec: { intervals: [{ every: scan.everyMs }] },
    action: actionOf(scan, settings),
    // One run at a time; a run missed while Temporal was down is made up once it is back (within a day).
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 86_400_000 },
  };
}

/** `scan add <bucket> --every D [--prefix P] [--endpoint URL] [--metadata] [--reconcile [--settle D]]`. */
export async function scanAddCommand(
  bucket: string,
  values: ScanValues,
  settings: Settings,
  store: StateStore,
): Promise<void> {
  if (values.every === undefined)
    throw new UsageError('scan add: --every is required (e.g. --every 5m; see bucketflow scan add --help)');
  const fresh = scanDefinition(bucket, { ...values, every: values.every });
  // The endpoint is checked as the worker will read it (an http(s) URL without credentials); the AWS_* variables are
  // the worker's.
  if (fresh.endpoint) fresh.endpoint = loadS3Settings({}, { endpoint: fresh.endpoint }).endpoint;
  const scans = store.scans();
  const known = await scans.get(fresh.id);
  // Changing a scan keeps its baseline: objects modified before it was first added stay unchanged.
  const scan = known ? { ...fresh, createdAt: known.createdAt } : fresh;
  await scans.put(scan);
  const scheduleId = scheduleIdFor(scan.id, settings.taskQueue);
  await withTemporal(settings, async (client) => {
    const handle = client.temporal.schedule.getHandle(scheduleId);
    const exists = await handle.describe().then(
      () => true,
      (err: unknown) => {
        if (err instanceof ScheduleNotFoundError) return false;
        throw err;
      },
    );
    if (exists) {
      // Changed: runs as it now says, the first at once (unless one is under way).
      await handle.update((previous) => ({
        ...previous,
        ...scheduleOf(scan, settings),
        state: { ...previous.state, paused: false },
      }));
      await handle.trigger(ScheduleOverlapPolicy.SKIP);
    } else {
      await client.temporal.schedule.create<typeof scanBucket>({
        scheduleId,
        ...scheduleOf(scan, settings),
        state: { triggerImmediately: true },
      });
    }
  });
  const what = scan.reconcile ? 'Reconciliation' : 'Scan';
  console.log(
    `${what} of ${scan.bucket}${scan.prefix ? `/${scan.prefix}` : ''} every ${formatInterval(scan.everyMs)} ${known ? 'updated' : 'added'} (schedule ${scheduleId})`,
  );
}

/** `scan remove <bucket> [--prefix P]`. */
export async function scanRemoveCommand(
  bucket: string,
  values: ScanValues,
  settings: Settings,
  store: StateStore,
): Promise<void> {
  const id = scanIdFor(bucket, values.prefix ?? '');
  const scheduleId = scheduleIdFor(id, settings.taskQueue);
  const scan = await store.scans().get(id);
  await withTemporal(settings, async (client) => {
    await client.temporal.schedule
      .getHandle(scheduleId)
      .delete()
      .catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      });
  });
  if (!scan)
    throw new UsageError(
      `scan remove: no scan of bucket ${bucket}${values.prefix ? ` with prefix "${values.prefix}"` : ''} (see bucketflow scan list)`,
    );
  await store.scans().remove(id);
  console.log(`Scan of ${bucket}${scan.prefix ? `/${scan.prefix}` : ''} removed (schedule ${scheduleId} deleted)`);
}

/** `scan run <bucket> [--prefix P]`: a run now (skipped if one is running). */
export async function scanRunCommand(
  bucket: string,
  values: ScanValues,
  settings: Settings,
  store: StateStore,
): Promise<void> {
  const id = scanIdFor(bucket, values.prefix ?? '');
  if (!(await store.scans().get(id)))
    throw new UsageError(
      `scan run: no scan of bucket ${bucket}${values.prefix ? ` with prefix "${values.prefix}"` : ''} (see bucketflow scan list)`,
    );
  const scheduleId = scheduleIdFor(id, settings.taskQueue);
  await withTemporal(settings, (client) =>
    client.temporal.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP),
  );
  console.log(`Scan of ${bucket} triggered (schedule ${scheduleId})`);
}

export interface ScanListRow {
  id: string;
  bucket: string;
  prefix: string;
  mode: 'scan' | 'reconcile';
  every: string;
  endpoint: string | undefined;
  metadata: boolean;
  /** The schedule's next run; undefined when the schedule is missing (or Temporal unreachable: `schedule` says so). */
  nextRun: string | undefined;
  schedule: 'active' | 'paused' | 'missing' | 'unknown';
  /** The last run that completed. */
  lastRun: ScanRunSummary | undefined;
  /** The latest run failed: its one line (e.g. no such bucket, credentials refused, naming the bucket and endpoint). */
  lastError?: string;
  /** A run is under way and its listing failed and is being retried: the attempt and its last failure. */
  retrying?: string;
}

/** What the schedule's latest run says beyond the store: it failed, or it is retrying a failed round. */
async function runState(
  client: BucketflowClient,
  schedule: ScheduleDescription,
): Promise<Pick<ScanListRow, 'lastError' | 'retrying'>> {
  const latest =
    schedule.info.runningActions[0]?.workflow.workflowId ??
    schedule.info.recentActions[schedule.info.recentActions.length - 1]?.action.workflow.workflowId;
  if (!latest) return {};
  const handle = client.temporal.workflow.getHandle(latest);
  const { status, raw } = await handle.describe();
  if (status.name === 'RUNNING') {
    const activity = raw.pendingActivities?.[0];
    const failure = activity?.lastFailure?.message;
    return failure ? { retrying: `attempt ${activity?.attempt ?? '?'}: ${oneLine(failure)}` } : {};
  }
  if (status.name !== 'FAILED' && status.name !== 'TIMED_OUT' && status.name !== 'TERMINATED') return {};
  // The run's failure, under the activity's: the one line the activity threw.
  const error = await handle.result().then(
    () => undefined,
    (err: Error) =>
      [...causeChain(err)]
        .map((link) => errorMessage(link))
        .filter(Boolean)
        .pop(),
  );
  return { lastError: error ? oneLine(error) : status.name.toLowerCase() };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** `scan list [--json]`: every scan, its schedule's next run and its last run. */
export async function scanListCommand(values: ScanValues, settings: Settings, store: StateStore): Promise<void> {
  const scans = await store.scans().list();
  const lastRuns = await store.scans().lastRuns();
  const schedules = new Map<string, ScheduleDescription | undefined>();
  const states = new Map<string, Pick<ScanListRow, 'lastError' | 'retrying'>>();
  let reachable = true;
  if (scans.length > 0) {
    await withTemporal(settings, async (client) => {
      for (const scan of scans) {
        const schedule = await client.temporal.schedule
          .getHandle(scheduleIdFor(scan.id, settings.taskQueue))
          .describe()
          .catch((err: unknown) => {
            if (err instanceof ScheduleNotFoundError) return undefined;
            throw err;
          });
        schedules.set(scan.id, schedule);
        if (schedule) states.set(scan.id, await runState(client, schedule));
      }
    }).catch(() => {
      reachable = false;
    });
  }
  const rows = scans.map((scan): ScanListRow => {
    const schedule = schedules.get(scan.id);
    return {
      id: scan.id,
      bucket: scan.bucket,
      prefix: scan.prefix,
      mode: scan.reconcile ? 'reconcile' : 'scan',
      every: formatInterval(scan.everyMs),
      endpoint: scan.endpoint,
      metadata: scan.metadata,
      nextRun: schedule?.info.nextActionTimes[0]?.toISOString(),
      schedule: !reachable ? 'unknown' : !schedule ? 'missing' : schedule.state.paused ? 'paused' : 'active',
      lastRun: lastRuns[scan.id],
      ...states.get(scan.id),
    };
  });
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    console.log('no scans (add one with bucketflow scan add <bucket> --every 5m)');
    return;
  }
  const table = formatTable(
    [
      'BUCKET',
      'PREFIX',
      'MODE',
      'EVERY',
      'ENDPOINT',
      'SCHEDULE',
      'NEXT RUN',
      'LAST RUN',
      'LISTED',
      'CHANGES',
      'PUBLISHED',
    ],
    rows.map((row) => [
      row.bucket,
      row.prefix || '-',
      row.mode + (row.metadata ? '+metadata' : ''),
      row.every,
      row.endpoint ?? '(AWS_ENDPOINT_URL)',
      row.schedule,
      row.nextRun ?? '-',
      row.lastRun?.finishedAt ?? '-',
      String(row.lastRun?.listed ?? '-'),
      row.lastRun
        ? String(row.lastRun.created + row.lastRun.changed + row.lastRun.removed) +
          (row.lastRun.baseline ? ' (baseline)' : '')
        : '-',
      String(row.lastRun?.published ?? '-'),
    ]),
  );
  console.log(table);
  for (const row of rows) {
    if (row.lastError)
      console.log(`${row.bucket}${row.prefix ? `/${row.prefix}` : ''}: the latest run failed: ${row.lastError}`);
    if (row.retrying) console.log(`${row.bucket}${row.prefix ? `/${row.prefix}` : ''}: retrying, ${row.retrying}`);
  }
  if (!reachable) console.error("bucketflow: Temporal is unreachable: the schedules' state is unknown");
}
