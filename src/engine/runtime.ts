// The Temporal SDK's process-wide Runtime, installed once by each entry point before any connection: the SDK's
// lines, its native core's included, through our logger (while Temporal is unreachable its retry warnings become
// two lines, the outage and its end: TemporalOutageLog), and its Prometheus exporter when
// metrics are on (BUCKETFLOW_METRICS_PORT; the SDK port is BUCKETFLOW_SDK_METRICS_PORT, by default the next one),
// scraped together with ours on /metrics (src/telemetry/metrics.ts).
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { Settings } from '../settings';
import { childLogger, log, setLogLevel } from '../telemetry/log';
import { TemporalOutageLog } from '../temporal/outage-log';

export function installRuntimeLogger(settings: Pick<Settings, 'metrics' | 'logLevel' | 'temporalAddress'>): void {
  setLogLevel(settings.logLevel);
  const { sdkAddress } = settings.metrics;
  const sdkLog = childLogger({ source: 'temporal' });
  const outage = new TemporalOutageLog(settings.temporalAddress, sdkLog);
  Runtime.install({
    logger: new DefaultLogger(settings.logLevel, (entry) => {
      if (!outage.observe(entry)) log(entry.level, entry.message, entry.meta, sdkLog);
    }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
      ...(sdkAddress ? { metrics: { prometheus: { bindAddress: sdkAddress } } } : {}),
    },
  });
}
