// HTTP ingest: the endpoint an unmodified MinIO uses as its webhook target. A 2xx is sent only once the
// workflow start is durable, so an accepted event is never lost; MinIO retries anything else.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { BucketflowClient } from './client';
import { EventValidationError, parseIncomingJson } from './events';
import { checkSearchAttributes } from './ensure-search-attributes';
import { exitOnStartError } from './fatal';
import { log } from './log';
import { metrics, serveMetrics } from './metrics';
import { loadSettings } from './settings';

export interface IngestOptions {
  publisher: BucketflowClient;
  /** MinIO's `auth_token`: one word is expected as `Bearer <token>`, two words verbatim. Unset = no auth. */
  authToken?: string;
  bodyLimitBytes?: number;
}

export function buildIngestServer(options: IngestOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyLimitBytes ?? 10 * 1024 * 1024 });
  // Parse every body ourselves so bad JSON and bad events get the same clear 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const expected = options.authToken ? authorizationFor(options.authToken) : undefined;

  app.get('/health', async (_req, reply) => {
    try {
      await options.publisher.temporal.workflowService.getSystemInfo({});
      return { status: 'ok' };
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', error: messageOf(err) });
    }
  });

  // MinIO posts to whatever path its endpoint names; probes may HEAD it.
  app.head('/*', async (_req, reply) => reply.code(200).send());
  app.post('/*', async (req, reply) => {
    if (expected && req.headers.authorization !== expected) {
      metrics.eventsRejected.inc({ reason: 'unauthorized' });
      return reply.code(401).send({ error: 'missing or wrong Authorization header' });
    }
    let events: unknown;
    try {
      events = parseIncomingJson(typeof req.body === 'string' ? req.body : '');
    } catch (err) {
      return badRequest(reply, err);
    }
    try {
      const accepted = await options.publisher.publish(events);
      for (const event of accepted) metrics.eventsAccepted.inc({ result: event.duplicate ? 'duplicate' : 'started' });
      return reply.code(202).send({ accepted });
    } catch (err) {
      if (err instanceof EventValidationError) return badRequest(reply, err);
      log('ERROR', 'could not start delivery', { error: messageOf(err) });
      metrics.eventsRejected.inc({ reason: 'unavailable' });
      return reply.code(503).send({ error: `could not start delivery: ${messageOf(err)}` });
    }
  });
  return app;
}

function authorizationFor(token: string): string {
  return token.trim().split(/\s+/).length > 1 ? token.trim() : `Bearer ${token.trim()}`;
}

function badRequest(reply: FastifyReply, err: unknown) {
  metrics.eventsRejected.inc({ reason: 'bad_request' });
  return reply.code(400).send({ error: messageOf(err) });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface IngestSettings {
  host: string;
  port: number;
  authToken?: string;
}

export function ingestSettings(env: NodeJS.ProcessEnv = process.env): IngestSettings {
  return {
    host: env.BUCKETFLOW_INGEST_HOST || '127.0.0.1',
    port: Number.parseInt(env.BUCKETFLOW_INGEST_PORT || '9400', 10),
    authToken: env.BUCKETFLOW_INGEST_AUTH_TOKEN || undefined,
  };
}

/** Starts the ingest server on its configured address; resolves with the server once listening. */
export async function runIngest(publisher: BucketflowClient, settings = ingestSettings()): Promise<FastifyInstance> {
  const app = buildIngestServer({ publisher, authToken: settings.authToken });
  await app.listen({ host: settings.host, port: settings.port });
  log('INFO', 'ingest listening', { url: `http://${settings.host}:${settings.port}/`, auth: Boolean(settings.authToken) });
  return app;
}

if (require.main === module) {
  (async () => {
    const publisher = await BucketflowClient.connect();
    await checkSearchAttributes(publisher.temporal.connection, loadSettings().namespace);
    const app = await runIngest(publisher);
    const closeMetrics = await serveMetrics();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => void app.close().then(closeMetrics).then(() => publisher.close()));
    }
  })().catch(exitOnStartError('ingest'));
}
