// `npm run ingest`: the HTTP ingest on a connection of its own (no worker in this process), so the workflow
// matches the bucket rules itself and no start is eager. It starts even while Temporal is down, answering 503
// until Temporal is back.
import { Client, Connection } from '@temporalio/client';
import { BucketflowClient } from '../client';
import { messageWithCause, withTimeout } from '../errors';
import { exitOnStartError } from '../fatal';
import { openRulesStore } from '../rules';
import { loadSettings, type Settings } from '../settings';
import { connectionOptions } from '../temporal/connection';
import { FAST_RECONNECT_CHANNEL_ARGS } from '../temporal/reachability';
import { SearchAttributesError, checkSearchAttributes } from '../temporal/register-search-attributes';
import { log, setLogLevel } from '../telemetry/log';
import { serveMetrics } from '../telemetry/metrics';
import { clientTracingInterceptors, shutdownTracing } from '../telemetry/tracing';
import { DeliveryAdmission } from './admission';
import { runIngest } from './server';

/**
 * A publisher whose connection notices Temporal's return within a second and that starts even while Temporal
 * is down (the ingest then answers 503 until it is back).
 */
export function ingestPublisher(settings: Settings): BucketflowClient {
  const connection = Connection.lazy({ ...connectionOptions(settings), channelArgs: FAST_RECONNECT_CHANNEL_ARGS });
  return new BucketflowClient(new Client({ connection, namespace: settings.namespace, interceptors: clientTracingInterceptors() }), { taskQueue: settings.taskQueue, fastPath: settings.fastPath, batch: settings.batch }, connection);
}

if (require.main === module) {
  (async () => {
    const settings = loadSettings();
    setLogLevel(settings.logLevel);
    const publisher = ingestPublisher(settings);
    // Any Temporal server: add bucketflow's search attributes if missing. The ingest also starts while
    // Temporal is down (answering 503): then the check is left to the worker.
    await withTimeout(checkSearchAttributes(publisher.temporal.connection, settings.namespace), 5_000, 'search attribute check').catch((err: unknown) => {
      if (err instanceof SearchAttributesError) throw err;
      log('WARN', 'could not check the search attributes (Temporal unreachable?)', { error: messageWithCause(err) });
    });
    const rules = openRulesStore(settings);
    // No worker here to report deliveries back: only the starts under way count against the bound.
    const app = await runIngest(publisher, settings.ingest, { settings, rules }, new DeliveryAdmission(settings.maxInFlightDeliveries, false));
    const closeMetrics = await serveMetrics(settings.metrics);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => void app.close().then(closeMetrics).then(() => rules.close()).then(() => publisher.close()).then(shutdownTracing));
    }
  })().catch(exitOnStartError('ingest'));
}
