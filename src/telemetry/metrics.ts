// Prometheus metrics of this process (prom-client), served at http://<host>:$BUCKETFLOW_METRICS_PORT/metrics
// together with the Temporal SDK's own (the Runtime's Prometheus exporter, on the next port). Each metric
// is documented in docs/operations.md (Metrics); names are bucketflow_*, temporal_* (SDK), process_*/nodejs_*
// (defaults).
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { log } from './log';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const metrics = {
  eventsAccepted: new Counter({
    name: 'bucketflow_events_accepted_total',
    help: 'Events the ingest accepted (a delivery workflow started, or a duplicate of one)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  eventsRejected: new Counter({
    name: 'bucketflow_events_rejected_total',
    help: 'Ingest requests refused, by reason (bad_request, implausible_sequencer, unauthorized, forbidden, too_large, unavailable, overloaded, bad_gateway)',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  sourceRecords: new Counter({
    name: 'bucketflow_source_records_total',
    help: 'Records a consumed source (the Kafka source) read: accepted, or skipped as poison (never an event)',
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
  }),
  deliveries: new Counter({
    name: 'bucketflow_deliveries_total',
    help: 'Deliveries to a target that ended on this worker: delivered, or failed permanently',
    labelNames: ['target', 'outcome'] as const,
    registers: [registry],
  }),
  attempts: new Counter({
    name: 'bucketflow_delivery_attempts_total',
    help: 'Deliver activity attempts by target and result (success, retryable_error, permanent_error, held, already_sent)',
    labelNames: ['target', 'result'] as const,
    registers: [registry],
  }),
  attemptSeconds: new Histogram({
    name: 'bucketflow_delivery_attempt_seconds',
    help: 'Duration of each send to a target (held time excluded)',
    labelNames: ['target'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  }),
  inFlight: new Gauge({
    name: 'bucketflow_deliveries_in_flight',
    help: 'Deliver activities running now (sending or held), by target',
    labelNames: ['target'] as const,
    registers: [registry],
  }),
  circuitOpen: new Gauge({
    name: 'bucketflow_circuit_open',
    help: "1 while this worker's circuit breaker for the target is open, else 0",
    labelNames: ['target'] as const,
    registers: [registry],
  }),
  held: new Counter({
    name: 'bucketflow_held_total',
    help: 'Attempts that did not send because the target was paused, its circuit open, or its rate limit reached',
    labelNames: ['target', 'reason'] as const,
    registers: [registry],
  }),
  rateLimitWaits: new Counter({
    name: 'bucketflow_rate_limit_waits_total',
    help: 'Sends that waited for a max_rate slot',
    labelNames: ['target'] as const,
    registers: [registry],
  }),
  backfillObjects: new Counter({
    name: 'bucketflow_backfill_objects_total',
    help: 'Objects backfills handled on this worker, by stage: listed, skipped (before --since, delete marker, no rule), published (in a batch), delivered (every target in the batch), continued (a target failed: per-event retries), duplicate (published within the dedupe window)',
    labelNames: ['stage'] as const,
    registers: [registry],
  }),
  backfillsRunning: new Gauge({
    name: 'bucketflow_backfills_running',
    help: 'Backfill listing activities running on this worker now',
    registers: [registry],
  }),
  rateLimitWaitSeconds: new Counter({
    name: 'bucketflow_rate_limit_wait_seconds_total',
    help: 'Time sends spent waiting for a max_rate slot',
    labelNames: ['target'] as const,
    registers: [registry],
  }),
  scanObjectsListed: new Counter({
    name: 'bucketflow_scan_objects_listed_total',
    help: 'Objects a scan source or reconciliation listed (README "Scan sources")',
    labelNames: ['scan', 'mode'] as const,
    registers: [registry],
  }),
  scanChanges: new Counter({
    name: 'bucketflow_scan_changes_total',
    help: 'Changes a scan found (created, changed, removed); in mode reconcile, the objects whose latest state no target had seen',
    labelNames: ['scan', 'mode', 'change'] as const,
    registers: [registry],
  }),
  scanEventsPublished: new Counter({
    name: 'bucketflow_scan_events_published_total',
    help: 'Events a scan handed to delivery (its changes that match a target by the bucket rules); duplicates of a resumed page not counted',
    labelNames: ['scan', 'mode'] as const,
    registers: [registry],
  }),
  scanDurationSeconds: new Histogram({
    name: 'bucketflow_scan_duration_seconds',
    help: 'Duration of each completed scan run, from its start to its listing swapped in',
    labelNames: ['scan', 'mode'] as const,
    buckets: [0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600, 14400],
    registers: [registry],
  }),
  deliveredStatesRecorded: new Counter({
    name: 'bucketflow_delivered_states_recorded_total',
    help: 'Object states recorded as delivered for reconciliation (written in bulk), by outcome (recorded, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
};

/** Where /metrics is served (BUCKETFLOW_METRICS_*, parsed in src/settings). */
export interface MetricsSettings {
  host: string;
  /** Unset: no metrics endpoint. */
  port: number | undefined;
  /** Where the Temporal SDK's exporter listens (default: port + 1), appended to /metrics. */
  sdkAddress: string | undefined;
}

/** Serves /metrics; resolves with a close function (a no-op when no port is set). */
export async function serveMetrics(settings: MetricsSettings, { sdk = false } = {}): Promise<() => Promise<void>> {
  if (settings.port === undefined) return async () => {};
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end('see /metrics\n');
    void (async () => {
      let text = await registry.metrics();
      // The SDK's exporter answers on its own port; one scrape here gets both.
      if (sdk && settings.sdkAddress) {
        text += await fetch(`http://${settings.sdkAddress}/metrics`, { signal: AbortSignal.timeout(2_000) })
          .then((r) => r.text())
          .catch((err: Error) => `# temporal SDK metrics unavailable: ${err.message}\n`);
      }
      res.writeHead(200, { 'content-type': registry.contentType }).end(text);
    })().catch((err: Error) => res.writeHead(500).end(err.message));
  });
  await new Promise<void>((resolve, reject) =>
    server.once('error', reject).listen(settings.port, settings.host, resolve),
  );
  log('INFO', 'metrics listening', {
    url: `http://${settings.host}:${settings.port}/metrics`,
    sdk: sdk ? settings.sdkAddress : undefined,
  });
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
