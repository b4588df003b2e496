// `GET /status` on the ingest: a small HTML page for operators: deliveries per minute over the last hour by
// status (a server-side SVG chart); targets with health, pause and circuit state, their deliveries' success
// rate over the hour and, where the page runs inside a worker, that worker's in-flight sends and p50/p95 send
// time; the backfills in progress (their progress query); a search (event id, workflow id or bucket/key -> the delivery
// as `deliveries show` prints it); bucket rules; the scan sources (running now or not, what their last run found); the
// latest failed deliveries with links into the Temporal Web UI and a redeliver button. It reloads
// itself every 30 s (a meta refresh: no JavaScript anywhere). Protected by the ingest's global token (a browser sends
// it as basic auth; open only while no token at all is set), its forms by a same-origin check and a CSRF token
// (form-guard.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BucketflowClient } from '../publish/publisher';
import { loadTargetsConfig, retrySettingsByArn, type TargetEntry } from '../config';
import { showText } from '../operator/deliveries/commands';
import {
  listDeliveries,
  resolveDelivery,
  showDelivery,
  uiUrl,
  type DeliveryContext,
  type DeliverySummary,
} from '../operator/deliveries/inspect';
import { CsrfTokens, PAGE_SECURITY_HEADERS, crossOriginProblem } from './form-guard';
import { ArgumentError, DELIVERY_STATUSES, buildQuery } from '../operator/deliveries/query';
import { batchQuery } from '../operator/deliveries/batches';
import { planSingleRedelivery, startRedelivery, type RedeliverContext } from '../operator/deliveries/redeliver';
import { formatInterval, scheduleIdFor, type StateStore } from '../state';
import { SCAN_BUCKET } from '../delivery/workflow-types';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Settings } from '../settings';
import type { TargetGate } from '../targets/gate';
import { TargetPool } from '../targets/pool';
import type { Health } from '../targets/target';
import { metrics } from '../telemetry/metrics';
import type { RecentSends } from '../telemetry/recent-sends';
import { countPerMinute, deliveriesChart } from './status-chart';
import { describeRequest, progressLine, runningBackfills } from '../operator/backfill';

export interface StatusSource {
  settings: Settings;
  state: StateStore;
  /** The worker's targets and gate when the ingest runs inside a worker; else health is probed per page view. */
  targets?: TargetPool;
  gate?: TargetGate;
  /** The worker's last hour of sends, when the ingest runs inside a worker. */
  sends?: RecentSends;
}

const HEALTH_TIMEOUT_MS = 3_000;
/** The chart counts at most this many of the hour's deliveries (the newest). */
const CHART_LIMIT = 5_000;
const REFRESH_SECONDS = 30;
const CLOSED = ['delivered', 'partial', 'failed'] as const;

function esc(text: unknown): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function healthOf(source: StatusSource, entries: TargetEntry[]): Promise<Record<string, Health>> {
  const pool = source.targets ?? new TargetPool(entries);
  try {
    const timeout = new Promise<Record<string, Health>>((resolve) =>
      setTimeout(() => resolve({}), HEALTH_TIMEOUT_MS).unref(),
    );
    return await Promise.race([pool.health(), timeout]);
  } finally {
    if (!source.targets) await pool.close();
  }
}

/** Each target's deliveries over the hour that ended (cluster-wide, from visibility) and how many failed it. */
async function targetOutcomes(
  ctx: DeliveryContext,
  arns: string[],
  since: Date,
): Promise<Record<string, { closed: number; failed: number }>> {
  const count = async (query: string) => (await ctx.client.workflow.count(query)).count;
  return Object.fromEntries(
    await Promise.all(
      arns.map(
        async (arn) =>
          [
            arn,
            {
              closed: await count(buildQuery(ctx.taskQueue, { target: arn, statuses: [...CLOSED], since })),
              failed: await count(buildQuery(ctx.taskQueue, { failedTarget: arn, statuses: [...CLOSED], since })),
            },
          ] as const,
      ),
    ),
  );
}

/** The search box's answer: the delivery as `deliveries show` prints it, or why none was found. */
async function searchResult(ctx: DeliveryContext, q: string): Promise<string> {
  try {
    const details = await showDelivery(ctx, await resolveDelivery(ctx, q, 'search'), 'search');
    return `<div id="search-result" data-workflow-id="${esc(details.workflowId)}"><p><a href="${esc(details.url)}">${esc(details.workflowId)} in the Temporal Web UI</a></p><pre>${esc(showText(details))}</pre></div>`;
  } catch (err) {
    if (!(err instanceof ArgumentError)) throw err;
    return `<p id="search-error">${esc(err.message)}</p>`;
  }
}

const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)} ms`);

/** Temporal's own search attribute on a workflow a schedule started: the schedule's id. */
const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

/** The scan sources as rows: running now (from visibility), their last completed run (from the state store). */
async function scanRows(ctx: DeliveryContext, source: StatusSource): Promise<string[]> {
  const [scans, lastRuns] = await Promise.all([source.state.scans().list(), source.state.scans().lastRuns()]);
  if (scans.length === 0) return [];
  const running = new Set<string>();
  const query = `WorkflowType = '${SCAN_BUCKET}' AND TaskQueue = '${ctx.taskQueue.replace(/'/g, "\\'")}' AND ExecutionStatus = 'Running'`;
  for await (const info of ctx.client.workflow.list({ query })) {
    const scheduledBy = info.typedSearchAttributes.get(SCHEDULED_BY);
    if (scheduledBy) running.add(scheduledBy);
  }
  return scans.map((scan) => {
    const now = running.has(scheduleIdFor(scan.id, ctx.taskQueue)) ? 'running' : '-';
    const run = lastRuns[scan.id];
    const changes = run ? `${run.created}, ${run.changed}, ${run.removed}${run.baseline ? ' (baseline)' : ''}` : '-';
    return `<tr data-scan-id="${esc(scan.id)}"><td>${esc(scan.bucket)}</td><td>${esc(scan.prefix || '-')}</td><td class="mode">${scan.reconcile ? 'reconcile' : 'scan'}</td>
      <td>${esc(formatInterval(scan.everyMs))}</td><td class="now">${now}</td><td>${esc(run?.finishedAt ?? '-')}</td>
      <td class="listed">${run?.listed ?? '-'}</td><td class="changes">${esc(changes)}</td><td class="published">${run?.published ?? '-'}</td></tr>`;
  });
}

async function render(
  publisher: BucketflowClient,
  source: StatusSource,
  message: string | undefined,
  q: string | undefined,
  csrf: string,
): Promise<string> {
  const { settings } = source;
  const ctx: DeliveryContext = {
    client: publisher.temporal,
    taskQueue: settings.taskQueue,
    namespace: settings.namespace,
    temporalUiUrl: settings.temporalUiUrl,
  };
  const entries = loadTargetsConfig({ file: settings.configFile }).targets;
  const now = new Date();
  const since = new Date(now.getTime() - 3_600_000);
  const inFlight = Object.fromEntries(
    (await metrics.inFlight.get()).values.map((v) => [String(v.labels.target), v.value]),
  );
  const [health, states, buckets, counts, batches, failed, redeliveries, hour, outcomes, search, backfills, scans] =
    await Promise.all([
      healthOf(
        source,
        entries.filter((t) => t.enabled),
      ),
      source.state.targetStates(),
      source.state
        .buckets()
        .then((names) => Promise.all(names.map(async (name) => [name, await source.state.get(name)] as const))),
      Promise.all(
        DELIVERY_STATUSES.map(
          async (status) =>
            [
              status,
              (await publisher.temporal.workflow.count(buildQuery(settings.taskQueue, { statuses: [status], since })))
                .count,
            ] as const,
        ),
      ),
      // Batches (the high-volume mode): their events that failed somewhere are per-event deliveries, counted above.
      Promise.all(
        (['pending', 'delivered'] as const).map(
          async (status) =>
            [
              status,
              (await publisher.temporal.workflow.count(batchQuery(settings.taskQueue, { statuses: [status], since })!))
                .count,
            ] as const,
        ),
      ),
      listDeliveries(ctx, { statuses: ['failed', 'partial'] }, 20),
      listDeliveries(ctx, { redeliveryPrefix: 'bucketflow-' }, 10),
      listDeliveries(ctx, { since }, CHART_LIMIT),
      targetOutcomes(
        ctx,
        entries.filter((t) => t.enabled).map((t) => t.arn),
        since,
      ),
      q ? searchResult(ctx, q) : Promise.resolve(''),
      runningBackfills(ctx),
      scanRows(ctx, source),
    ]);
  const link = (d: DeliverySummary) => `<a href="${esc(uiUrl(ctx, d.workflowId))}">${esc(d.workflowId)}</a>`;
  const targetRows = entries.map((t) => {
    const h = health[t.arn];
    const state = states[t.arn];
    const circuits = [
      ...(source.gate?.circuitOf(t.arn) ? [`${source.gate.circuitOf(t.arn)!.state} (this worker)`] : []),
      ...Object.entries(state?.circuits ?? {})
        .filter(([w]) => w !== source.gate?.worker)
        .map(([w, c]) => `${c.state} (${w})`),
    ];
    const outcome = outcomes[t.arn];
    const sends = source.sends?.summary(t.arn);
    const rate = outcome?.closed
      ? `${Math.round((100 * (outcome.closed - outcome.failed)) / outcome.closed)}% of ${outcome.closed}`
      : '-';
    return `<tr data-arn="${esc(t.arn)}"><td>${esc(t.arn)}</td><td>${t.enabled ? 'enabled' : 'disabled'}</td>
      <td class="health">${!t.enabled ? '-' : h ? `${h.online ? 'online' : 'offline'}${h.detail ? ` (${esc(h.detail)})` : ''}` : 'no answer'}</td>
      <td class="paused">${state?.paused ? `paused since ${esc(state.paused.since)}` : '-'}</td>
      <td class="circuit">${esc(circuits.join(', ') || 'closed')}</td>
      <td class="success" data-closed="${outcome?.closed ?? 0}" data-failed="${outcome?.failed ?? 0}">${rate}</td>
      <td class="in-flight">${source.sends ? (inFlight[t.arn] ?? 0) : '-'}</td>
      <td class="sends" data-sends="${sends?.sends ?? ''}" data-failed="${sends?.failed ?? ''}">${sends ? `${sends.sends - sends.failed}/${sends.sends}` : '-'}</td>
      <td class="p50">${ms(sends?.p50Ms)}</td><td class="p95">${ms(sends?.p95Ms)}</td></tr>`;
  });
  const ruleRows = buckets.flatMap(([bucket, rules]) =>
    rules.map(
      (r) =>
        `<tr><td>${esc(bucket)}</td><td>${esc(r.arn)}</td><td>${esc(r.events.join(', '))}</td><td>${esc(r.prefix)}</td><td>${esc(r.suffix)}</td></tr>`,
    ),
  );
  const failedRows = failed.map(
    (
      d,
    ) => `<tr data-workflow-id="${esc(d.workflowId)}"><td>${esc(d.startedAt.toISOString())}</td><td>${esc(d.status)}</td>
      <td>${esc(`${d.bucket}/${d.key}`)}</td><td>${esc(d.failedTargets.join(', '))}</td><td>${link(d)}${d.redeliveryOf ? ' (redelivery)' : ''}</td>
      <td><form method="post" action="/status/redeliver"><input type="hidden" name="csrf" value="${esc(csrf)}"><input type="hidden" name="workflowId" value="${esc(d.workflowId)}"><button type="submit">redeliver</button></form></td></tr>`,
  );
  const backfillRows = backfills.map(
    (
      b,
    ) => `<tr data-workflow-id="${esc(b.workflowId)}"><td>${esc(b.progress ? describeRequest(b.progress.request) : '-')}</td>
      <td>${esc(b.progress?.startedAt ?? '-')}</td><td class="progress">${esc(b.progress ? progressLine(b.progress) : 'no answer from a worker')}</td>
      <td><a href="${esc(b.url)}">${esc(b.workflowId)}</a></td></tr>`,
  );
  const redeliveryRows = redeliveries.map(
    (d) => `<tr data-workflow-id="${esc(d.workflowId)}"><td>${esc(d.startedAt.toISOString())}</td>
      <td class="status">${esc(d.status)}</td><td>${esc(d.targets.join(', '))}</td><td>${link(d)}</td><td>${esc(d.redeliveryOf)}</td></tr>`,
  );
  const table = (id: string, header: string[], rows: string[]) =>
    `<table id="${id}"><thead><tr>${header.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('\n') || `<tr><td colspan="${header.length}">none</td></tr>`}</tbody></table>`;
  const capped = hour.length >= CHART_LIMIT ? ` (the newest ${CHART_LIMIT} of them)` : '';
  // Reload on its own, except while showing a search result or a message the operator is reading.
  const refresh = q || message ? '' : `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>bucketflow status</title>${refresh}
<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}#message{background:#ffd;padding:.5em}pre{background:#f6f6f6;padding:.5em;overflow:auto}</style></head>
<body><h1>bucketflow</h1>
${message ? `<p id="message">${esc(message)}</p>` : ''}
<p>Task queue <code>${esc(settings.taskQueue)}</code>, namespace <code>${esc(settings.namespace)}</code>, <a href="${esc(settings.temporalUiUrl)}">Temporal Web UI</a>.${refresh ? ` This page reloads every ${REFRESH_SECONDS} s.` : ' <a href="/status">Back to the live page</a>.'}</p>
<form id="search" method="get" action="/status"><label>Find a delivery: <input name="q" size="60" value="${esc(q ?? '')}" placeholder="event id, workflow id or bucket/key"></label> <button type="submit">search</button></form>
${search}
<h2>Deliveries per minute, last hour</h2>
<p>By status now, started in that minute${capped}.</p>
${deliveriesChart(countPerMinute(hour, now))}
${backfills.length ? `<h2>Backfills in progress</h2>\n<p>Stop one with <code>bucketflow backfill --cancel &lt;bucket&gt;</code> (and its --prefix, --target).</p>\n${table('backfills', ['backfill', 'started', 'progress', 'workflow'], backfillRows)}` : ''}
<h2>Targets</h2>
<p>Delivered: of this hour's finished deliveries to the target (all workers), the share it did not fail.${source.sends ? " In flight, sends ok and send times: this worker's, over the hour." : ' In flight and send times are shown by a status page served inside a worker (BUCKETFLOW_INGEST=on, npm start).'}</p>
${table('targets', ['ARN', 'config', 'health', 'pause', 'circuit', 'delivered (1h)', 'in flight', 'sends ok', 'send p50', 'send p95'], targetRows)}
<h2>Bucket rules</h2>${table('rules', ['bucket', 'ARN', 'events', 'prefix', 'suffix'], ruleRows)}
${scans.length ? `<h2>Scan sources</h2>\n<p>Buckets listed on a schedule (<code>bucketflow scan list</code>); changes: created, changed, removed.</p>\n${table('scans', ['bucket', 'prefix', 'mode', 'every', 'now', 'last run', 'listed', 'changes', 'published'], scans)}` : ''}
<h2>Last hour</h2>${table('counts', DELIVERY_STATUSES.map(esc), [`<tr>${counts.map(([status, n]) => `<td data-status="${status}">${n}</td>`).join('')}</tr>`])}
<p>Batch workflows (many events each, see <code>bucketflow deliveries list</code>): ${batches.map(([status, n]) => `<span data-batches="${status}">${n}</span> ${status === 'pending' ? 'running' : 'completed'}`).join(', ')}.</p>
<h2>Latest failed deliveries</h2>${table('failed', ['started', 'status', 'object', 'failed targets', 'workflow', ''], failedRows)}
<h2>Recent redeliveries</h2>${table('redeliveries', ['started', 'status', 'targets', 'workflow', 'redelivery of'], redeliveryRows)}
</body></html>`;
}

/** Who may see the page: the ingest's rule (src/http/auth.ts): open only while no token is set, else the global token.
 * */
export interface OperatorAuth {
  operator(authorization: string | undefined): boolean;
}

/** Adds `GET /status` and `POST /status/redeliver` (form: workflowId) to the ingest server. */
export function registerStatusPage(
  app: FastifyInstance,
  publisher: BucketflowClient,
  source: StatusSource,
  auth: OperatorAuth,
): void {
  const csrf = new CsrfTokens();
  // Checked before the body is read; every answer (refusals included) may not be framed or sniffed.
  const onRequest = async (req: FastifyRequest, reply: FastifyReply) => {
    void reply.headers(PAGE_SECURITY_HEADERS);
    if (auth.operator(req.headers.authorization)) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Basic realm="bucketflow"')
      .send({ error: 'missing or wrong Authorization header' });
  };

  app.get('/status', { onRequest }, async (req, reply) => {
    const { message, q } = req.query as { message?: unknown; q?: unknown };
    const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
    return reply
      .type('text/html; charset=utf-8')
      .send(await render(publisher, source, text(message), text(q), csrf.tokenFor(req.headers.authorization)));
  });

  app.post('/status/redeliver', { onRequest }, async (req, reply) => {
    // A form posted from another site would carry the browser's saved credentials: only our own page may.
    const problem = crossOriginProblem(req.headers);
    if (problem) return reply.code(403).send({ error: `cross-origin request refused (${problem})` });
    const form = new URLSearchParams(typeof req.body === 'string' ? req.body : '');
    if (!csrf.matches(form.get('csrf'), req.headers.authorization))
      return reply.code(403).send({ error: 'csrf: missing or stale form token (reload the status page)' });
    const workflowId = form.get('workflowId') ?? '';
    const { settings } = source;
    const retries = retrySettingsByArn(loadTargetsConfig({ file: settings.configFile }).targets);
    const ctx: RedeliverContext = {
      client: publisher.temporal,
      taskQueue: settings.taskQueue,
      namespace: settings.namespace,
      temporalUiUrl: settings.temporalUiUrl,
      retryFor: (arn) => retries.get(arn),
    };
    let message: string;
    try {
      // The redelivery of the run the row shows, and only that one: the form posted twice starts it once.
      const plan = await planSingleRedelivery(ctx, workflowId, { argument: workflowId || 'workflowId', after: true });
      message = (await startRedelivery(ctx, plan))
        ? `started ${plan.workflowId} for ${plan.targets.join(', ')}`
        : `${plan.workflowId} was started by another redeliver meanwhile`;
    } catch (err) {
      if (!(err instanceof ArgumentError)) throw err;
      message = err.message;
    }
    return reply.redirect(`/status?message=${encodeURIComponent(message)}`, 303);
  });
}
