// `bucketflow backfill <bucket>` (declared in src/operator/commands.ts): checks what it is given before anything
// starts (the target, the date, the endpoint, the bucket's rules, then one listing request with this machine's
// AWS_* settings, so wrong credentials or a missing bucket are one line naming the bucket and endpoint and nothing
// is delivered), starts the backfill workflow (workflows/backfill.ts) or attaches to the one running for the same
// bucket, prefix and target, and shows its progress (objects listed, published, delivered, rate, ETA) from the
// workflow's query until it ends. Ctrl-C asks whether to cancel it or leave it running; `--cancel` cancels it
// from anywhere. The workers list and deliver with their own AWS_* credentials (never sent through Temporal).
import { createInterface } from 'node:readline';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { CancelledFailure, type SearchAttributePair } from '@temporalio/common';
import { loadTargetsConfig } from '../config';
import { errorMessage } from '../errors';
import { loadS3Settings } from '../settings/s3';
import {
  BACKFILL_PROGRESS_QUERY,
  backfillWorkflowId,
  type BackfillCounts,
  type BackfillInput,
  type BackfillProgress,
  type BackfillRequest,
} from '../delivery/backfill';
import { searchKeys } from '../delivery/search-attributes';
import { BACKFILL } from '../delivery/workflow-types';
import { eventMatches } from '../events/names';
import { BucketflowClient } from '../publish/publisher';
import type { Settings } from '../settings';
import { openStateStore } from '../state';
import { checkSearchAttributes } from '../temporal/register-search-attributes';
import { OperationError } from './command-line';
import { ArgumentError, parseSince } from './deliveries/query';
import { uiUrl } from './deliveries/inspect';

export interface BackfillOptions {
  prefix?: string;
  target?: string;
  since?: string;
  versions?: boolean;
  endpoint?: string;
  cancel?: boolean;
  detach?: boolean;
}

/** What the command reads and writes (a test gives its own). */
export interface BackfillIo {
  env: NodeJS.ProcessEnv;
  /** Progress lines and prompts. */
  err: NodeJS.WriteStream | NodeJS.WritableStream;
  /** The outcome. */
  out: NodeJS.WritableStream;
  /** Where the answer to "Cancel?" is read. */
  in: NodeJS.ReadableStream;
  /** Whether `err` is a terminal: the progress line is rewritten in place every 2 s, else printed every 10 s. */
  tty: boolean;
}

const defaultIo = (): BackfillIo => ({
  env: process.env,
  err: process.stderr,
  out: process.stdout,
  in: process.stdin,
  tty: Boolean(process.stderr.isTTY),
});

const PUT = 's3:ObjectCreated:Put';
/** How often the progress is asked while watching (a query is a billable action on Temporal Cloud). */
const QUERY_EVERY_MS = 2_000;

/** `bucketflow backfill <bucket> ...` and `bucketflow backfill --cancel <bucket> ...`. */
export async function backfillCommand(
  bucket: string,
  values: BackfillOptions,
  settings: Settings,
  io: BackfillIo = defaultIo(),
): Promise<void> {
  if (values.cancel) {
    for (const flag of ['since', 'versions', 'endpoint', 'detach'] as const) {
      if (values[flag])
        throw new ArgumentError(
          `--${flag}`,
          'not with --cancel (a backfill is named by <bucket>, --prefix and --target)',
        );
    }
    return cancelCommand({ bucket, prefix: values.prefix ?? '', target: values.target }, settings, io);
  }
  const request = await checkedRequest(bucket, values, settings, io.env);
  const client = await BucketflowClient.connect(settings);
  try {
    await checkSearchAttributes(client.temporal.connection, settings.namespace);
    const handle = await startOrAttach(client, request, settings, io);
    if (values.detach) return;
    await watch(handle, request, io);
  } finally {
    await client.close();
  }
}

/**
 * The request, checked before anything starts: a valid bucket name, `--since` a date or a duration, `--target` an
 * enabled target, `--endpoint` (or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL) a URL without credentials, a bucket the
 * S3 API lists for these credentials, and (without --target) rules of the bucket that deliver its Put events.
 */
async function checkedRequest(
  bucket: string,
  values: BackfillOptions,
  settings: Settings,
  env: NodeJS.ProcessEnv,
): Promise<BackfillRequest> {
  if (!/^[a-z0-9][a-z0-9._-]{1,62}$/.test(bucket))
    throw new ArgumentError(
      '<bucket>',
      `"${bucket}" is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)`,
    );
  const since = values.since === undefined ? undefined : parseSince(values.since).toISOString();
  const targets = loadTargetsConfig({ file: settings.configFile })
    .targets.filter((t) => t.enabled)
    .map((t) => t.arn);
  if (values.target !== undefined && !targets.includes(values.target)) {
    throw new ArgumentError(
      '--target',
      `${values.target} is not an enabled target (enabled: ${targets.join(', ') || 'none'})`,
    );
  }
  const s3 = loadS3Settings(env, values.endpoint === undefined ? {} : { endpoint: values.endpoint });
  const request: BackfillRequest = {
    bucket,
    prefix: values.prefix ?? '',
    versions: values.versions ?? false,
    ...(values.target !== undefined ? { target: values.target } : {}),
    ...(since ? { since } : {}),
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
  };
  // One listing request with this machine's credentials: a bucket that cannot be listed never starts a backfill.
  const { openS3 } = await import('../s3/client');
  const access = openS3(s3, { maxAttempts: 2 });
  try {
    await access.listPage(bucket, { prefix: request.prefix, versions: request.versions, pageSize: 1 });
  } catch (err) {
    throw new OperationError(errorMessage(err));
  } finally {
    access.close();
  }
  if (request.target === undefined) {
    const store = openStateStore(settings);
    const rules = await store.get(bucket).finally(() => store.close());
    if (!rules.some((rule) => rule.events.some((pattern) => eventMatches(pattern, PUT)))) {
      throw new ArgumentError(
        '<bucket>',
        `no rule of bucket ${bucket} takes ${PUT} events, so nothing would be delivered: add one (bucketflow events add ${bucket} <arn>) or name a target with --target`,
      );
    }
  }
  return request;
}

export function describeRequest(request: BackfillRequest): string {
  const scope = [
    request.prefix && `prefix "${request.prefix}"`,
    request.target && `to ${request.target}`,
    request.since && `modified since ${request.since}`,
    request.versions && 'every version',
  ].filter(Boolean);
  return `backfill of bucket ${request.bucket}${scope.length ? ` (${scope.join(', ')})` : ''}`;
}

async function startOrAttach(
  client: BucketflowClient,
  request: BackfillRequest,
  settings: Settings,
  io: BackfillIo,
): Promise<WorkflowHandle> {
  const workflowId = backfillWorkflowId(request);
  const url = uiUrl({ temporalUiUrl: settings.temporalUiUrl, namespace: settings.namespace }, workflowId);
  const searchAttributes: SearchAttributePair[] = [
    { key: searchKeys.bucket, value: request.bucket },
    { key: searchKeys.source, value: 'backfill' },
    ...(request.target ? [{ key: searchKeys.targets, value: [request.target] }] : []),
  ];
  const input: BackfillInput = { request };
  try {
    const handle = await client.temporal.workflow.start(BACKFILL, {
      taskQueue: settings.taskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: searchAttributes,
      staticSummary: describeRequest(request),
      memo: { request },
    });
    io.err.write(
      `${describeRequest(request)}${request.endpoint ? ` at ${request.endpoint}` : ''} started: ${workflowId}\n  ${url}\n`,
    );
    return handle;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const handle = client.temporal.workflow.getHandle(workflowId);
    const running = await queried(handle).catch(() => undefined);
    io.err.write(
      `attached to the ${describeRequest(running?.request ?? request)} already running${running ? ` since ${running.startedAt}` : ''}: ${workflowId}\n  ${url}\n`,
    );
    return handle;
  }
}

/** Progress until the backfill ends; Ctrl-C asks whether to cancel it (yes) or leave it running (anything else). */
async function watch(handle: WorkflowHandle, request: BackfillRequest, io: BackfillIo): Promise<void> {
  let ended = false;
  const outcome = handle
    .result()
    .then(
      (result: BackfillProgress) => ({ result }),
      (error: unknown) => ({ error }),
    )
    .finally(() => void (ended = true));
  let cancelledHere = false;
  let detached = false;
  let asking = false;
  const onInterrupt = () => {
    if (asking) {
      detached = true; // a second Ctrl-C: leave it running
      return;
    }
    asking = true;
    void ask(io, `\nCancel the ${describeRequest(request)}? Otherwise it goes on without this terminal. [y/N] `).then(
      async (answer) => {
        asking = false;
        if (/^y(es)?$/i.test(answer ?? '')) {
          io.err.write('cancelling: the chunk in flight stops, what it published is delivered\n');
          cancelledHere = true;
          await handle.cancel();
        } else detached = true;
      },
    );
  };
  process.on('SIGINT', onInterrupt);
  try {
    let last: BackfillProgress | undefined;
    let printedAt = 0;
    while (!ended && !detached) {
      last = await queried(handle).catch(() => last);
      if (last && !asking && (io.tty || Date.now() - printedAt >= 10_000)) {
        io.err.write(io.tty ? `\r\x1b[K${progressLine(last)}` : `${progressLine(last)}\n`);
        printedAt = Date.now();
      }
      // The counts move once per chunk (about ten seconds); a query is a billable action on Temporal Cloud.
      await Promise.race([outcome, new Promise((resolve) => setTimeout(resolve, QUERY_EVERY_MS))]);
    }
    if (io.tty) io.err.write('\n');
    if (detached && !ended) {
      io.err.write(
        `left running: \`bucketflow backfill ${request.bucket}\` with the same --prefix/--target watches it again, \`bucketflow backfill --cancel ${request.bucket}\` cancels it\n`,
      );
      return;
    }
    const { result, error } = (await outcome) as { result?: BackfillProgress; error?: unknown };
    if (result) {
      io.out.write(`${describeRequest(request)} done: ${countsText(result.counts)}; ${durationText(result)}\n`);
      return;
    }
    const cause = error instanceof WorkflowFailedError ? error.cause : error;
    if (cause instanceof CancelledFailure) {
      const progress = await queried(handle).catch(() => last);
      throw new OperationError(
        `${describeRequest(request)} cancelled${progress ? `: ${countsText(progress.counts)}` : ''}`,
        cancelledHere ? 130 : 1,
      );
    }
    throw new OperationError(`${describeRequest(request)} failed: ${errorMessage(cause)}`);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** The progress query, given up after `timeoutMs` (no worker answers it while none polls the task queue). */
function queried(handle: WorkflowHandle, timeoutMs = 5_000): Promise<BackfillProgress> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error('no answer to the progress query')), timeoutMs)),
  );
  return Promise.race([handle.query<BackfillProgress>(BACKFILL_PROGRESS_QUERY), timeout]).finally(() =>
    clearTimeout(timer),
  );
}

/** One line from `in` (undefined when it ends first). */
function ask(io: BackfillIo, question: string): Promise<string | undefined> {
  io.err.write(question);
  return new Promise((resolve) => {
    const lines = createInterface({ input: io.in, terminal: false });
    let answered = false;
    lines.once('line', (line) => {
      answered = true;
      lines.close();
      resolve(line.trim());
    });
    lines.once('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}

async function cancelCommand(
  scope: Pick<BackfillRequest, 'bucket' | 'prefix' | 'target'>,
  settings: Settings,
  io: BackfillIo,
): Promise<void> {
  const workflowId = backfillWorkflowId(scope);
  const client = await BucketflowClient.connect(settings);
  try {
    const handle = client.temporal.workflow.getHandle(workflowId);
    const description = await handle.describe().catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });
    if (description?.status.name !== 'RUNNING') {
      throw new OperationError(
        `no backfill of bucket ${scope.bucket}${scope.prefix ? ` prefix "${scope.prefix}"` : ''}${scope.target ? ` to ${scope.target}` : ''} is running (${workflowId}: ${description ? description.status.name.toLowerCase() : 'never started'})`,
      );
    }
    await handle.cancel();
    await handle.result().catch(() => undefined);
    const progress = await queried(handle).catch(() => undefined);
    io.out.write(
      `cancelled ${progress ? `${describeRequest(progress.request)}: ${countsText(progress.counts)}` : workflowId}\n`,
    );
  } finally {
    await client.close();
  }
}

/** A backfill running now, as the status page lists it. */
export interface RunningBackfill {
  workflowId: string;
  url: string;
  /** Undefined when its worker did not answer the progress query in time. */
  progress: BackfillProgress | undefined;
}

/** The backfills running on the task queue (at most `limit`), each with its progress (the query, given up after 2 s).
 * */
export async function runningBackfills(
  ctx: { client: Client; taskQueue: string; namespace: string; temporalUiUrl: string },
  limit = 20,
): Promise<RunningBackfill[]> {
  const found: RunningBackfill[] = [];
  const query = `WorkflowType = '${BACKFILL}' AND ExecutionStatus = 'Running' AND TaskQueue = '${ctx.taskQueue.replace(/'/g, "\\'")}'`;
  for await (const info of ctx.client.workflow.list({ query, pageSize: limit })) {
    found.push({ workflowId: info.workflowId, url: uiUrl(ctx, info.workflowId), progress: undefined });
    if (found.length >= limit) break;
  }
  await Promise.all(
    found.map(async (row) => {
      row.progress = await queried(ctx.client.workflow.getHandle(row.workflowId), 2_000).catch(() => undefined);
    }),
  );
  return found;
}

const n = (value: number) => value.toLocaleString('en-US');

export function countsText(c: BackfillCounts): string {
  return [
    `${n(c.listed)} listed`,
    `${n(c.published)} published`,
    `${n(c.delivered)} delivered`,
    ...(c.continued ? [`${n(c.continued)} retrying per event`] : []),
    ...(c.duplicates ? [`${n(c.duplicates)} already published by this worker within its dedupe window`] : []),
    ...(c.skipped ? [`${n(c.skipped)} skipped (older than --since, delete markers, or no rule matches)`] : []),
  ].join(', ');
}

/** Objects listed per second since the start (the counts move once per chunk, about every ten seconds). */
export function rateOf(progress: BackfillProgress): number | undefined {
  const seconds = (Date.parse(progress.updatedAt) - Date.parse(progress.startedAt)) / 1000;
  return progress.counts.listed > 0 && seconds > 0 ? progress.counts.listed / seconds : undefined;
}

function durationText(progress: BackfillProgress): string {
  const seconds = (Date.parse(progress.updatedAt) - Date.parse(progress.startedAt)) / 1000;
  const rate = rateOf(progress);
  return `${seconds.toFixed(1)} s${rate ? `, ${n(Math.round(rate))} objects/s` : ''}`;
}

export function progressLine(progress: BackfillProgress): string {
  const { counts, total } = progress;
  const rate = rateOf(progress);
  const of = total ? ` of ${total.done ? '' : '>='}${n(Math.max(total.counted, counts.listed))}` : '';
  const left = total?.done ? Math.max(0, total.counted - counts.listed) : undefined;
  const eta = rate && left !== undefined ? `, ETA ${clock(left / rate)}` : '';
  return (
    `listed ${n(counts.listed)}${of}, published ${n(counts.published)}, delivered ${n(counts.delivered)}` +
    `${counts.continued ? `, retrying ${n(counts.continued)}` : ''}${counts.skipped ? `, skipped ${n(counts.skipped)}` : ''}` +
    `${rate ? `, ${n(Math.round(rate))} objects/s` : ''}${eta}`
  );
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
