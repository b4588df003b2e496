// HTTP ingest: the endpoint storage servers post their notifications to (MinIO's webhook target, a Ceph RGW
// topic's push-endpoint, an SNS HTTP(S) subscription, an EventBridge API destination). A 2xx is sent only once
// the workflow starts are durable, so an accepted event is never lost; senders retry anything else.
import { readFileSync } from 'node:fs';
import type { Connection } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { BucketflowClient, checkRecordSizes, type PublishedEvent } from '../publish/publisher';
import {
  EventValidationError,
  ImplausibleSequencerError,
  TooManyRecordsError,
  detectSource,
  parseJson,
  parseSourceBody,
  type EventSource,
  type ParsedBody,
} from '../events';
import { log } from '../telemetry/log';
import { metrics } from '../telemetry/metrics';
import { RecordTooLargeError, messageWithCause } from '../errors';
import {
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_RECORDS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  isLoopbackHost,
  loadSettings,
  type IngestSettings,
} from '../settings';
import { registerStatusPage, type StatusSource } from './status-page';
import { DeliveryAdmission } from '../publish/admission';
import { Refusal, refuse, sendRefusal } from './answers';
import { IngestAuth, type IngestAuthOptions } from './auth';
import { browserPostProblem } from './browser-guard';
import { SnsEndpoint, type SnsOptions } from './sns';
import { TemporalReachability, TemporalUnreachableError, invalidArgumentOf } from '../temporal/reachability';
import { inRequestSpan } from '../telemetry/tracing';

export interface IngestOptions {
  publisher: BucketflowClient;
  /** MinIO's `auth_token` rule (see src/config/auth-token.ts), for every source without a token of its own, and the
   * status page. Unset (and no source token) = no auth. */
  authToken?: string;
  /** A token per source, so one leaked token does not open every source. */
  sourceTokens?: Partial<Record<EventSource, string>>;
  /** Sources accepted without a token while tokens are set (BUCKETFLOW_INGEST_OPEN_SOURCES); others are refused. */
  openSources?: EventSource[];
  /** Bucket patterns per source (BUCKETFLOW_INGEST_BUCKETS[_<SOURCE>]): an event for another bucket is refused (403).
   * */
  buckets?: IngestAuthOptions['buckets'];
  bodyLimitBytes?: number;
  /** Slow clients: the request line and headers, and the whole request with its body, must arrive within these (408 and
   * closed otherwise). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Connections held at once; one more is closed as it arrives. */
  maxConnections?: number;
  maxRecords?: number;
  /** PEM certificate chain and key: the server speaks HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  sns?: SnsOptions;
  /** The Temporal frontend's `host:port` the publisher uses (probed when a start hangs); read from its connection when
   * unset. */
  temporalAddress?: string;
  /** How long a start may run before the frontend is probed (default 1 s). */
  watchdogMs?: number;
  /** Serve the operators' status page (`GET /status`, src/http/status-page.ts) from these. */
  status?: StatusSource;
  /** Admission control (the worker's, when the ingest runs inside one); default: the starts under way only, unbounded.
   * */
  admission?: DeliveryAdmission;
}

export function buildIngestServer(options: IngestOptions): FastifyInstance {
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Node checks these timeouts on a timer (every 30 s by default): every second, so a stalled upload is closed on time.
  const slowClients = {
    headersTimeout: Math.min(options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, requestTimeout),
    connectionsCheckingInterval: 1_000,
  };
  const app = Fastify({
    bodyLimit,
    requestTimeout,
    ...(options.tls
      ? { https: { cert: options.tls.cert, key: options.tls.key, ...slowClients } }
      : { http: slowClients }),
  }) as unknown as FastifyInstance;
  app.server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  app.server.on('drop', logDroppedConnections(app.server.maxConnections));
  // Parse every body ourselves so bad JSON and bad events get the same clear 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendRefusal(
        reply,
        refuse.tooLarge(`body larger than the limit of ${bodyLimit} bytes (BUCKETFLOW_INGEST_MAX_BODY_BYTES)`),
      );
    }
    const status = err.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: err.message }); // fastify's own text about the request
    log('ERROR', 'ingest request failed', {
      method: req.method,
      path: req.url.split('?')[0],
      error: messageWithCause(err),
    });
    return reply.code(status).send({ error: 'internal error (details in the ingest log)' });
  });

  const auth = new IngestAuth(options);
  const admission = options.admission ?? new DeliveryAdmission(0, false);
  const sns = new SnsEndpoint({ ...options.sns, maxRecords });
  const reachability = new TemporalReachability(options.publisher.temporal.connection, {
    address: options.temporalAddress ?? addressOf(options.publisher),
    watchdogMs: options.watchdogMs,
  });
  app.addHook('onClose', async () => reachability.close());

  if (options.status) registerStatusPage(app, options.publisher, options.status, auth);

  // Unauthenticated callers (load balancers) learn only ok/unavailable; the operator's token adds the cause.
  app.get('/health', async (req, reply) => {
    const problem = await reachability.check();
    if (!problem) return { status: 'ok' };
    metrics.eventsRejected.inc({ reason: 'unavailable' });
    const body = auth.operator(req.headers.authorization)
      ? { status: 'unavailable', error: unreachableText(problem) }
      : { status: 'unavailable' };
    return reply.code(503).header('retry-after', '1').send(body);
  });

  // Senders post to whatever path their endpoint names; probes may HEAD it.
  app.head('/*', async (_req, reply) => reply.code(200).send());

  /** The body's deliveries started (admission, then the starts, bounded by Temporal's reachability); throws a Refusal.
   * */
  const publish = async (parsed: ParsedBody): Promise<PublishedEvent[]> => {
    let accepted: PublishedEvent[] | undefined;
    try {
      accepted = await admission.publish(parsed.events, () =>
        reachability.run(() => options.publisher.publishParsed(parsed.events)),
      );
    } catch (err) {
      if (err instanceof EventValidationError || err instanceof RecordTooLargeError) throw err;
      // Temporal refuses the start itself (a payload over its limits): a resend would be refused again, so 4xx.
      const invalid = invalidArgumentOf(err);
      if (invalid)
        throw refuse.badRequest(
          `body: Temporal refused the delivery's start as invalid (${invalid}); nothing of this body was started`,
        );
      const cause =
        err instanceof TemporalUnreachableError ? err.message : `could not start delivery: ${messageWithCause(err)}`;
      log('ERROR', 'could not start delivery', { error: cause, source: parsed.source, records: parsed.events.length });
      throw refuse.unavailable(
        err instanceof TemporalUnreachableError
          ? unreachableText(err.reason)
          : 'could not start the delivery; retry later (details in the ingest log)',
      );
    }
    if (!accepted)
      throw refuse.overloaded(
        `this worker holds ${admission.count} deliveries, its limit (BUCKETFLOW_MAX_IN_FLIGHT_DELIVERIES); retry later`,
      );
    return accepted;
  };

  /** The handler: auth (before the body: `authenticate`) -> parse, the source detected once -> the SNS protocol ->
   * publish -> answer. */
  const accept = async (req: FastifyRequest, reply: FastifyReply) => {
    const body = parseJson(typeof req.body === 'string' ? req.body : '', 'body');
    const source = detectSource(body);
    if (source && !auth.allows(source, req.headers.authorization))
      throw refuse.unauthorized(`missing or wrong Authorization header for source ${source}`);
    const received =
      source === 'aws-sns' ? await sns.receive(body) : { events: parseSourceBody(source, body, maxRecords) };
    if ('answer' in received) return reply.code(200).send(received.answer);
    const parsed = received.events;
    const outside = auth.bucketProblem(parsed.source, parsed.events);
    if (outside) throw refuse.forbidden(outside);
    checkLimits(parsed);
    if (parsed.events.length === 0)
      return reply.code(200).send({ accepted: [], source: parsed.source, note: parsed.nothingToDeliver });
    const accepted = await publish(parsed);
    for (const event of accepted) metrics.eventsAccepted.inc({ result: event.duplicate ? 'duplicate' : 'started' });
    return reply.code(202).send({ accepted, source: parsed.source });
  };

  // A browser's POST (another site's form or fetch, carrying the operator's saved credentials) and then the
  // token are checked before the body is read: an unauthenticated 9 MiB body is refused unread.
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const browser = browserPostProblem(req.headers);
    if (browser) return sendRefusal(reply, refuse.forbidden(browser));
    if (!auth.mayPost(req.headers.authorization)) return sendRefusal(reply, refuse.unauthorized());
  };
  // The trace of each event starts here (or continues the sender's traceparent) when tracing is on.
  app.post('/*', { onRequest: authenticate }, (req, reply) =>
    inRequestSpan('POST', req.headers, async (span) => {
      span.setAttribute('url.path', req.url.split('?')[0]);
      const sent = await accept(req, reply).catch((err: unknown) => {
        if (err instanceof Refusal) return sendRefusal(reply, err);
        if (err instanceof ImplausibleSequencerError)
          return sendRefusal(reply, refuse.implausibleSequencer(err.message));
        if (err instanceof EventValidationError) return sendRefusal(reply, refuse.badRequest(err.message));
        if (err instanceof RecordTooLargeError || err instanceof TooManyRecordsError)
          return sendRefusal(reply, refuse.tooLarge(err.message));
        throw err;
      });
      span.setAttribute('http.response.status_code', reply.statusCode);
      return sent;
    }),
  );
  return app;
}

/**
 * What can never become a delivery is refused whole before anything starts: too many records (counted by the
 * parser before it reads any: TooManyRecordsError), or a record too large (the publisher's own check, which
 * refuses it on every path; asked here first so that a permanent 413 is answered before admission control or an
 * unreachable Temporal could answer 503).
 */
function checkLimits(parsed: ParsedBody): void {
  checkRecordSizes(parsed.events);
}

/** A WARN when the connection cap first closes a connection, then one line a minute with how many more it closed. */
function logDroppedConnections(cap: number): () => void {
  let dropped = 0;
  return () => {
    if (dropped++ > 0) return;
    log('WARN', 'ingest connection cap reached: new connections are closed', {
      maxConnections: cap,
      setting: 'BUCKETFLOW_INGEST_MAX_CONNECTIONS',
    });
    setTimeout(() => {
      if (dropped > 1)
        log('WARN', 'ingest connection cap: connections closed in the last minute', {
          closed: dropped,
          maxConnections: cap,
        });
      dropped = 0;
    }, 60_000).unref();
  };
}

/** What a sender is told about Temporal being unreachable: the kind of failure, never an address or raw error text. */
export function unreachableText(cause: string): string {
  const kind = /ECONNREFUSED/i.test(cause)
    ? 'connection refused'
    : /timed? ?out|ETIMEDOUT|deadline/i.test(cause)
      ? 'timed out'
      : /ENOTFOUND|EAI_AGAIN/i.test(cause)
        ? 'address not resolved'
        : 'not answering';
  return `Temporal unreachable (${kind}); retry later`;
}

function addressOf(publisher: BucketflowClient): string {
  const connection = publisher.temporal.connection as Partial<Connection>;
  return connection.options?.address ?? loadSettings().temporalAddress;
}

function readPem(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${name}: cannot read ${file} (${messageWithCause(err)})`);
  }
}

/** Starts the ingest server on its configured address; resolves with the server once listening. */
export async function runIngest(
  publisher: BucketflowClient,
  settings: IngestSettings,
  status?: StatusSource,
  admission?: DeliveryAdmission,
): Promise<FastifyInstance> {
  const tls =
    settings.tlsCertFile && settings.tlsKeyFile
      ? {
          cert: readPem('BUCKETFLOW_INGEST_TLS_CERT', settings.tlsCertFile),
          key: readPem('BUCKETFLOW_INGEST_TLS_KEY', settings.tlsKeyFile),
        }
      : undefined;
  const app = buildIngestServer({
    publisher,
    status,
    authToken: settings.authToken,
    sourceTokens: settings.sourceTokens,
    openSources: settings.openSources,
    buckets: settings.buckets,
    bodyLimitBytes: settings.bodyLimitBytes,
    headersTimeoutMs: settings.headersTimeoutMs,
    requestTimeoutMs: settings.requestTimeoutMs,
    maxConnections: settings.maxConnections,
    maxRecords: settings.maxRecords,
    tls,
    sns: settings.sns,
    admission,
  });
  await app.listen({ host: settings.host, port: settings.port });
  if (settings.allowOpen && !new IngestAuth(settings).enabled && !isLoopbackHost(settings.host)) {
    log(
      'WARN',
      'ingest open without a token on an address other machines reach (BUCKETFLOW_INGEST_ALLOW_OPEN): anyone who reaches it can post events',
      { host: settings.host },
    );
  }
  log('INFO', 'ingest listening', {
    url: `${tls ? 'https' : 'http'}://${settings.host}:${settings.port}/`,
    sources: new IngestAuth(settings).describe(),
  });
  return app;
}
