// The operator commands of `bucketflow`: `deliveries list|show`, `redeliver` and `events test`, as tables
// (default) or JSON (`--json`), given the options src/operator/commands.ts declares and parses for them. Bad input
// throws
// ArgumentError (the CLI prints one line and exits 2, starting nothing). What an event carries (keys, bucket names,
// targets' error texts) is printed with its control characters escaped (src/delivery/printable.ts), JSON too.
import { loadTargetsConfig, retrySettingsByArn } from '../../config';
import { BucketflowClient } from '../../publish/publisher';
import { buildEvent } from '../../events';
import { checkSearchAttributes } from '../../temporal/register-search-attributes';
import type { Settings } from '../../settings';
import { printable, printableJson } from '../../delivery/printable';
import { formatTable } from '../table';
import { resolveDelivery, showDelivery, type DeliveryDetails, type DeliverySummary } from './inspect';
import { listAllDeliveries, showAnyDelivery } from './batches';
import { ArgumentError, parseOrigin, parseSince, parseStatuses, type DeliveryFilters } from './query';
import {
  planBulkRedelivery,
  planSingleRedelivery,
  startRedelivery,
  type RedeliverContext,
  type RedeliveryPlan,
} from './redeliver';

/** The options of `deliveries list`, `deliveries show` and `redeliver` (each takes those its usage shows). */
export interface OperatorOptions {
  bucket?: string;
  key?: string;
  prefix?: string;
  status?: string;
  target?: string;
  since?: string;
  limit?: string;
  json?: boolean;
  'dry-run'?: boolean;
  wait?: string;
  origin?: string;
}

/** Checks every argument before anything connects, so bad input never reaches the server. */
function checkedTarget(settings: Settings, arn: string | undefined): string | undefined {
  if (arn === undefined) return undefined;
  const known = loadTargetsConfig({ file: settings.configFile }).targets.map((t) => t.arn);
  if (!known.includes(arn))
    throw new ArgumentError('--target', `unknown ARN ${arn} (configured: ${known.join(', ') || 'none'})`);
  return arn;
}

function checkedLimit(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new ArgumentError('--limit', `expected a positive integer, got "${value}"`);
  return Number(value);
}

async function withContext<T>(settings: Settings, use: (ctx: RedeliverContext) => Promise<T>): Promise<T> {
  const client = await BucketflowClient.connect(settings);
  try {
    await checkSearchAttributes(client.temporal.connection, settings.namespace);
    const retries = retrySettingsByArn(loadTargetsConfig({ file: settings.configFile }).targets);
    return await use({
      client: client.temporal,
      taskQueue: settings.taskQueue,
      namespace: settings.namespace,
      temporalUiUrl: settings.temporalUiUrl,
      retryFor: (arn) => retries.get(arn),
    });
  } finally {
    await client.close();
  }
}

const time = (date: Date | undefined) =>
  date
    ? date
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '-';

function after(start: Date, at: Date | undefined): string {
  if (!at) return '-';
  const ms = at.getTime() - start.getTime();
  if (Math.abs(ms) < 1_000) return `+${ms}ms`;
  if (Math.abs(ms) < 120_000) return `+${(ms / 1000).toFixed(1)}s`;
  if (Math.abs(ms) < 7_200_000) return `+${(ms / 60_000).toFixed(1)}m`;
  return `+${(ms / 3_600_000).toFixed(1)}h`;
}

function listTable(rows: DeliverySummary[]): string {
  return formatTable(
    ['STARTED', 'STATUS', 'OBJECT', 'EVENT', 'TARGETS', 'FAILED', 'WORKFLOW ID'],
    rows.map((d) => [
      time(d.startedAt),
      `${d.status ?? '-'}${d.redeliveryOf ? ' (redelivery)' : ''}${d.eventId ? ' (batch)' : ''}`,
      `${d.bucket ?? '?'}/${d.key ?? '?'}`,
      d.event ?? '-',
      String(d.targets.length),
      d.failedTargets.join(',') || '-',
      d.workflowId,
    ]),
  );
}

export function showText(d: DeliveryDetails): string {
  const took = d.closedAt ? ` (${after(d.startedAt, d.closedAt).slice(1)})` : '';
  const header = [
    `delivery       ${d.workflowId}`,
    `event          ${d.event ?? '-'} ${d.bucket ?? '?'}/${d.key ?? '?'}`,
    `event id       ${d.eventId}`,
    `status         ${d.status ?? '-'} (workflow ${d.execution})`,
    `started        ${time(d.startedAt)}`,
    `closed         ${d.closedAt ? `${time(d.closedAt)}${took}` : '-'}`,
    ...(d.redeliveryOf ? [`redelivery of  ${d.redeliveryOf}`] : []),
    ...(d.batch ? [`${(d.workflowId === d.batch ? 'in batch' : 'continues').padEnd(15)}${d.batch}`] : []),
    ...(d.continuedIn ? [`continued in   ${d.continuedIn}`] : []),
    `web ui         ${d.url}`,
  ];
  const lines = [
    ...header.map(printable),
    '',
    formatTable(
      ['TARGET', 'STATUS', 'ATTEMPTS', 'PATH', 'FIRST ATTEMPT', 'LAST ATTEMPT', 'NEXT ATTEMPT', 'LAST ERROR'],
      d.outcomes.map((t) => [
        t.arn,
        t.state,
        t.attempts === undefined ? '-' : String(t.attempts),
        t.durable ? 'durable' : t.batch ? 'batch' : 'fast',
        after(d.startedAt, t.firstAttemptAt),
        after(d.startedAt, t.lastAttemptAt),
        after(d.startedAt, t.nextAttemptAt),
        t.error ?? '-',
      ]),
    ),
  ];
  const handedOff = d.outcomes.filter((t) => t.deadLetter);
  if (handedOff.length > 0) {
    lines.push(
      '',
      'dead letters (each failed target handed to its dead letter with its failure; the delivery stays failed):',
      formatTable(
        [
          'FAILED TARGET',
          'DEAD LETTER',
          'STATUS',
          'ATTEMPTS',
          'HANDED OFF',
          'LAST ATTEMPT',
          'NEXT ATTEMPT',
          'LAST ERROR',
        ],
        handedOff.map(({ arn, deadLetter: dl }) => [
          arn,
          dl!.arn,
          dl!.state,
          dl!.attempts === undefined ? '-' : String(dl!.attempts),
          after(d.startedAt, dl!.handedOffAt),
          after(d.startedAt, dl!.lastAttemptAt),
          after(d.startedAt, dl!.nextAttemptAt),
          dl!.error ?? '-',
        ]),
      ),
    );
  }
  if (d.redeliveries.length > 0) {
    lines.push(
      '',
      'redeliveries:',
      formatTable(
        ['STARTED', 'STATUS', 'TARGETS', 'FAILED', 'RUN ID'],
        d.redeliveries.map((r) => [
          time(r.startedAt),
          r.status ?? '-',
          r.targets.join(','),
          r.failedTargets.join(',') || '-',
          r.runId,
        ]),
      ),
    );
  }
  return lines.join('\n');
}

function plansTable(plans: Array<RedeliveryPlan & { action: string }>): string {
  return formatTable(
    ['ORIGINAL', 'TARGETS', 'ACTION'],
    plans.map((p) => [p.original, p.targets.join(',') || '-', p.action]),
  );
}

/** `bucketflow deliveries list`. */
export async function listCommand(values: OperatorOptions, settings: Settings): Promise<void> {
  const filters: DeliveryFilters = {
    bucket: values.bucket,
    key: values.key,
    prefix: values.prefix || undefined,
    statuses: values.status ? parseStatuses(values.status) : undefined,
    target: checkedTarget(settings, values.target),
    since: values.since ? parseSince(values.since) : undefined,
    source: values.origin ? parseOrigin(values.origin) : undefined,
  };
  const limit = checkedLimit(values.limit, 50);
  const rows = await withContext(settings, (ctx) => listAllDeliveries(ctx, filters, limit));
  console.log(values.json ? printableJson(JSON.stringify(rows, null, 2)) : listTable(rows));
}

/** `bucketflow deliveries show <ref>`. */
export async function showCommand(ref: string, values: OperatorOptions, settings: Settings): Promise<void> {
  const details = await withContext(settings, (ctx) => showAnyDelivery(ctx, ref));
  console.log(values.json ? printableJson(JSON.stringify(details, null, 2)) : showText(details));
}

/** Seconds `events test` waits for the delivery to end before it shows it anyway. */
const TEST_EVENT_WAIT_S = 30;

/**
 * `events test <bucket> <key>`: publishes an s3:ObjectCreated:Put event for the object, shaped as MinIO sends
 * it (as S3 sends a test event once notifications are set up), waits for its delivery to end (at most --wait
 * seconds), then shows it as `deliveries show` does, with a hint when no rule matched.
 */
export async function testEventCommand(
  bucket: string,
  key: string,
  values: OperatorOptions,
  settings: Settings,
): Promise<void> {
  if (values.wait !== undefined && !/^\d+$/.test(values.wait))
    throw new ArgumentError('--wait', `expected whole seconds, e.g. 30, got "${values.wait}"`);
  const waitS = values.wait === undefined ? TEST_EVENT_WAIT_S : Number(values.wait);
  const record = buildEvent({
    eventName: 's3:ObjectCreated:Put',
    bucket,
    key,
    size: 0,
    eTag: 'd41d8cd98f00b204e9800998ecf8427e',
    contentType: 'application/octet-stream',
    principalId: 'bucketflow-events-test',
  });
  const details = await withContext(settings, async (ctx) => {
    const [published] = await new BucketflowClient(ctx.client, {
      taskQueue: settings.taskQueue,
      fastPath: settings.fastPath,
    }).publish({ Records: [record] });
    console.error(
      `published s3:ObjectCreated:Put ${bucket}/${key} (event id ${published.eventId}) on task queue ${settings.taskQueue}`,
    );
    const ended = ctx.client.workflow
      .getHandle(published.workflowId)
      .result()
      .then(
        () => true,
        () => true,
      );
    const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), waitS * 1000).unref());
    if (!(await Promise.race([ended, timer])))
      console.error(`not finished after ${waitS} s (is a worker running on task queue ${settings.taskQueue}?)`);
    return showDelivery(ctx, published.workflowId);
  });
  console.log(values.json ? printableJson(JSON.stringify(details, null, 2)) : showText(details));
  if (details.status === 'no-targets') {
    console.error(
      `no rule of bucket ${bucket} matched: add one with \`bucketflow events add ${bucket} <arn>\` (\`bucketflow targets list\` shows the ARNs)`,
    );
  }
}

/** `bucketflow redeliver [<ref>]`: one delivery, or in bulk those --status chooses. */
export async function redeliverCommand(
  ref: string | undefined,
  values: OperatorOptions,
  settings: Settings,
): Promise<void> {
  const dryRun = values['dry-run'] ?? false;
  const target = checkedTarget(settings, values.target);
  let run: (ctx: RedeliverContext) => Promise<RedeliveryPlan[]>;
  if (ref) {
    for (const flag of ['status', 'since', 'bucket'] as const) {
      if (values[flag] !== undefined)
        throw new ArgumentError(`--${flag}`, 'only with bulk redeliver (no <delivery> argument)');
    }
    run = async (ctx) => [
      await planSingleRedelivery(ctx, await resolveDelivery(ctx, ref, ref), { target, argument: ref }),
    ];
  } else {
    if (!values.status)
      throw new ArgumentError(
        'redeliver',
        'name a delivery (<eventId>) or choose deliveries with --status failed|partial',
      );
    const statuses = parseStatuses(values.status);
    const bad = statuses.find((s) => s !== 'failed' && s !== 'partial');
    if (bad) throw new ArgumentError('--status', `redeliver takes failed or partial deliveries, not "${bad}"`);
    const filters: DeliveryFilters = {
      statuses,
      bucket: values.bucket,
      failedTarget: target,
      since: values.since ? parseSince(values.since) : undefined,
    };
    const limit = checkedLimit(values.limit, 1000);
    run = (ctx) => planBulkRedelivery(ctx, filters, limit);
  }
  const results = await withContext(settings, async (ctx) => {
    const plans = await run(ctx);
    const done: Array<RedeliveryPlan & { action: string }> = [];
    for (const plan of plans) {
      let action: string;
      if (plan.skipped) action = `skipped: ${plan.skipped}`;
      else if (dryRun) action = `would start ${plan.workflowId}`;
      else
        action = (await startRedelivery(ctx, plan))
          ? `started ${plan.workflowId}`
          : `skipped: ${plan.workflowId} was started by another redeliver meanwhile`;
      done.push({ ...plan, action });
    }
    return done;
  });
  if (values.json)
    console.log(
      printableJson(
        JSON.stringify(
          results.map(({ input: _input, ...plan }) => plan),
          null,
          2,
        ),
      ),
    );
  else console.log(plansTable(results));
}
