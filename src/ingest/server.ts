// HTTP ingest: the endpoint storage servers post their notifications to (MinIO's webhook target, a Ceph RGW
// topic's push-endpoint, an SNS HTTP(S) subscription, an EventBridge API destination). A 2xx is sent only once
// the workflow starts are durable, so an accepted event is never lost; senders retry anything else.
import { readFileSync } from 'node:fs';
import type { Connection } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { authorizationMatches } from '../config/auth-token';
import { BucketflowClient } from '../client';
import { EVENT_SOURCES, EventValidationError, detectSource, parseEventBody, parseSnsPayload, type EventSource, type ParsedBody } from '../events';
import { parseSnsMessage } from '../events/sources/sns';
import { log } from '../telemetry/log';
import { metrics } from '../telemetry/metrics';
import { messageWithCause } from '../errors';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_MAX_RECORDS, loadSettings, type IngestSettings } from '../settings';
import { registerStatusPage, type StatusSource } from '../operator/status-page';
import { SnsGate, SnsRefusedError, type SnsGateOptions } from './sns';
import { TemporalReachability, TemporalUnreachableError } from '../temporal/reachability';
import { inRequestSpan } from '../telemetry/tracing';

/** Seconds a sender is asked to wait after a 503. */
const RETRY_AFTER_SECONDS = 1;

export interface IngestOptions {
  publisher: BucketflowClient;
  /** MinIO's `auth_token` rule (see src/config/auth-token.ts), for every source without a token of its own. Unset = no auth. */
  authToken?: string;
  /** A token per source, so one leaked token does not open every source. */
  sourceTokens?: Partial<Record<EventSource, string>>;
  bodyLimitBytes?: number;
  maxRecords?: number;
  /** PEM certificate chain and key: the server speaks HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  sns?: SnsGateOptions;
  /** The Temporal frontend's `host:port` the publisher uses (probed when a start hangs); read from its connection when unset. */
  temporalAddress?: string;
  /** How long a start may run before the frontend is probed (default 1 s). */
  watchdogMs?: number;
  /** Serve the operators' status page (`GET /status`, src/operator/status-page.ts) from these. */
  status?: StatusSource;
}

export function buildIngestServer(options: IngestOptions): FastifyInstance {
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
  const app = Fastify({ bodyLimit, ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}) }) as unknown as FastifyInstance;
  // Parse every body ourselves so bad JSON and bad events get the same clear 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ error: `body larger than the limit of ${bodyLimit} bytes (BUCKETFLOW_INGEST_MAX_BODY_BYTES)` });
    }
    return reply.code(err.statusCode ?? 500).send({ error: err.message });
  });

  const tokenOf = (source: EventSource) => options.sourceTokens?.[source] || options.authToken;
  const everySourceNeedsToken = EVENT_SOURCES.every((source) => tokenOf(source));
  const sns = new SnsGate(options.sns);
  const reachability = new TemporalReachability(options.publisher.temporal.connection, {
    address: options.temporalAddress ?? addressOf(options.publisher),
    watchdogMs: options.watchdogMs,
  });
  app.addHook('onClose', async () => reachability.close());

  if (options.status) registerStatusPage(app, options.publisher, options.status, options.authToken);

  app.get('/health', async (_req, reply) => {
    const problem = await reachability.check();
    if (!problem) return { status: 'ok' };
    return unavailable(reply, { status: 'unavailable', error: `Temporal unreachable: ${problem}` });
  });

  // Senders post to whatever path their endpoint names; probes may HEAD it.
  app.head('/*', async (_req, reply) => reply.code(200).send());
  const accept = async (req: FastifyRequest, reply: FastifyReply) => {
    const authorization = req.headers.authorization;
    // When every source needs a token, a request carrying none of them is refused before its body is read.
    if (everySourceNeedsToken && !EVENT_SOURCES.some((source) => authorizationMatches(authorization, tokenOf(source)!))) {
      return unauthorized(reply, 'missing or wrong Authorization header');
    }
    let body: unknown;
    try {
      body = JSON.parse(typeof req.body === 'string' ? req.body : '');
    } catch (err) {
      return badRequest(reply, new EventValidationError('body', `not valid JSON (${messageWithCause(err)})`));
    }
    const source = detectSource(body);
    const token = source && tokenOf(source);
    if (token && !authorizationMatches(authorization, token)) {
      return unauthorized(reply, `missing or wrong Authorization header for source ${source}`);
    }

    let parsed: ParsedBody;
    try {
      if (source === 'aws-sns') {
        const message = parseSnsMessage(body);
        await sns.verify(message);
        if (message.Type === 'SubscriptionConfirmation') {
          await sns.confirm(message);
          log('INFO', 'SNS subscription confirmed', { topic: message.TopicArn });
          return reply.code(200).send({ confirmed: message.TopicArn });
        }
        if (message.Type === 'UnsubscribeConfirmation') {
          log('INFO', 'SNS subscription ended', { topic: message.TopicArn });
          return reply.code(200).send({ unsubscribed: message.TopicArn });
        }
        parsed = parseSnsPayload(message.Message);
      } else {
        parsed = parseEventBody(body);
      }
    } catch (err) {
      if (err instanceof EventValidationError) return badRequest(reply, err);
      if (err instanceof SnsRefusedError) {
        log('WARN', 'SNS message refused', { error: err.message });
        return reply.code(403).send({ error: err.message });
      }
      // Fetching the signing certificate or the SubscribeURL failed: SNS retries on 5xx.
      log('ERROR', 'SNS message not handled', { error: messageWithCause(err) });
      return reply.code(502).send({ error: messageWithCause(err) });
    }

    if (parsed.events.length > maxRecords) {
      return reply.code(413).send({ error: `${parsed.events.length} records in one body; the limit is ${maxRecords} (BUCKETFLOW_INGEST_MAX_RECORDS)` });
    }
    if (parsed.events.length === 0) return reply.code(200).send({ accepted: [], source: parsed.source, note: parsed.nothingToDeliver });
    try {
      const accepted = await reachability.run(() => options.publisher.publishParsed(parsed.events));
      for (const event of accepted) metrics.eventsAccepted.inc({ result: event.duplicate ? 'duplicate' : 'started' });
      return reply.code(202).send({ accepted, source: parsed.source });
    } catch (err) {
      if (err instanceof EventValidationError) return badRequest(reply, err);
      const error = err instanceof TemporalUnreachableError ? err.message : `could not start delivery: ${messageWithCause(err)}`;
      log('ERROR', 'could not start delivery', { error, source: parsed.source, records: parsed.events.length });
      return unavailable(reply, { error });
    }
  };
  // The trace of each event starts here (or continues the sender's traceparent) when tracing is on.
  app.post('/*', (req, reply) =>
    inRequestSpan('POST', req.headers, async (span) => {
      span.setAttribute('url.path', req.url.split('?')[0]);
      const sent = await accept(req, reply);
      span.setAttribute('http.response.status_code', reply.statusCode);
      return sent;
    }),
  );
  return app;
}

function addressOf(publisher: BucketflowClient): string {
  const connection = publisher.temporal.connection as Partial<Connection>;
  return connection.options?.address ?? loadSettings().temporalAddress;
}

function unauthorized(reply: FastifyReply, error: string) {
  metrics.eventsRejected.inc({ reason: 'unauthorized' });
  // SNS and Ceph send the credentials written into their endpoint URL as basic auth, some only when challenged.
  return reply.code(401).header('www-authenticate', 'Basic realm="bucketflow"').send({ error });
}

function unavailable(reply: FastifyReply, body: Record<string, string>) {
  metrics.eventsRejected.inc({ reason: 'unavailable' });
  return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send(body);
}

function badRequest(reply: FastifyReply, err: unknown) {
  metrics.eventsRejected.inc({ reason: 'bad_request' });
  return reply.code(400).send({ error: messageWithCause(err) });
}

function readPem(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${name}: cannot read ${file} (${messageWithCause(err)})`);
  }
}

/** Starts the ingest server on its configured address; resolves with the server once listening. */
export async function runIngest(publisher: BucketflowClient, settings: IngestSettings, status?: StatusSource): Promise<FastifyInstance> {
  const tls =
    settings.tlsCertFile && settings.tlsKeyFile
      ? { cert: readPem('BUCKETFLOW_INGEST_TLS_CERT', settings.tlsCertFile), key: readPem('BUCKETFLOW_INGEST_TLS_KEY', settings.tlsKeyFile) }
      : undefined;
  const app = buildIngestServer({
    publisher,
    status,
    authToken: settings.authToken,
    sourceTokens: settings.sourceTokens,
    bodyLimitBytes: settings.bodyLimitBytes,
    maxRecords: settings.maxRecords,
    tls,
    sns: settings.sns,
  });
  await app.listen({ host: settings.host, port: settings.port });
  log('INFO', 'ingest listening', {
    url: `${tls ? 'https' : 'http'}://${settings.host}:${settings.port}/`,
    auth: Boolean(settings.authToken),
    sourceTokens: Object.keys(settings.sourceTokens),
  });
  return app;
}
