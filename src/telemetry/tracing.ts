// OpenTelemetry tracing: one trace per event, from the ingest's HTTP request (continuing a `traceparent` the
// sender sent) through the workflow start, the workflow and its activities (@temporalio/interceptors-opentelemetry)
// to a span per send to a target with its ARN and outcome. On when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, exported over OTLP/HTTP (the standard OTEL_* variables apply:
// OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_SCHEDULE_DELAY, ...); off otherwise, at no cost: only
// the API is loaded, its calls are no-ops, and workers run the workflow bundle without the tracing interceptors.
import * as otel from '@opentelemetry/api';
import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import { errorMessage } from '../errors';

interface Tracing {
  workerOptions: Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  clientInterceptors: ClientInterceptors;
  shutdown(): Promise<void>;
}

let started: Tracing | undefined;

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT) &&
    env.OTEL_SDK_DISABLED !== 'true'
  );
}

/** The process's tracing, started on first use when enabled (a tracer provider, W3C propagation, OTLP export). */
function tracing(): Tracing | undefined {
  if (started || !tracingEnabled()) return started;
  // Loaded only when tracing is on: the SDK and exporter are not needed otherwise.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { AsyncLocalStorageContextManager } =
    require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { Resource } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BasicTracerProvider, BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const temporal =
    require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const resource = new Resource({ 'service.name': process.env.OTEL_SERVICE_NAME || 'bucketflow' });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new BasicTracerProvider({ resource });
  provider.addSpanProcessor(spanProcessor);
  provider.register({
    contextManager: new AsyncLocalStorageContextManager().enable(),
    propagator: new W3CTraceContextPropagator(),
  });
  started = {
    workerOptions: {
      interceptors: {
        activity: [
          (ctx) => ({
            inbound: new temporal.OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new temporal.OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      // Spans made inside the workflow sandbox leave it through this sink.
      sinks: { exporter: temporal.makeWorkflowExporter(spanProcessor, resource) },
    },
    clientInterceptors: { workflow: [new temporal.OpenTelemetryWorkflowClientInterceptor()] },
    shutdown: () => provider.shutdown(),
  };
  return started;
}

/** Worker options adding the activity interceptors and the workflow span sink; {} when tracing is off. */
export function workerTracingOptions(): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return tracing()?.workerOptions ?? {};
}

/** Client interceptors that start each workflow in the active trace (a span, and its context in the headers). */
export function clientTracingInterceptors(): ClientInterceptors | undefined {
  return tracing()?.clientInterceptors;
}

/** Exports the spans still buffered (at exit). */
export async function shutdownTracing(): Promise<void> {
  await started?.shutdown();
}

const tracer = () => otel.trace.getTracer('bucketflow');

/** Runs `fn` in a server span for an HTTP request, continuing the sender's trace from its `traceparent` header. */
export function inRequestSpan<T>(
  name: string,
  headers: Record<string, unknown>,
  fn: (span: otel.Span) => Promise<T>,
): Promise<T> {
  const parent = otel.propagation.extract(otel.ROOT_CONTEXT, headers);
  return tracer().startActiveSpan(name, { kind: otel.SpanKind.SERVER }, parent, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

/** `held`: the target is paused, its circuit open or over its rate (src/targets/gate.ts): not sent. */
export type SendOutcome = 'delivered' | 'failed' | 'permanent' | 'held';

/** Runs one send to one target in a span naming the target, the event and the attempt, with its outcome. */
export function inSendSpan<T>(
  attributes: { arn: string; eventId: string; attempt: number },
  fn: () => Promise<T>,
  outcomeOf: (err: unknown) => SendOutcome,
): Promise<T> {
  return tracer().startActiveSpan(
    `send ${attributes.arn}`,
    {
      kind: otel.SpanKind.CLIENT,
      attributes: {
        'bucketflow.target.arn': attributes.arn,
        'bucketflow.event.id': attributes.eventId,
        'bucketflow.attempt': attributes.attempt,
      },
    },
    async (span) => {
      try {
        const result = await fn();
        span.setAttribute('bucketflow.outcome', 'delivered');
        return result;
      } catch (err) {
        span.setAttribute('bucketflow.outcome', outcomeOf(err));
        span.setStatus({ code: otel.SpanStatusCode.ERROR, message: errorMessage(err) });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
