// NATS target: core publish + flush, or (jetstream=true) a JetStream publish that waits for the PubAck; a
// batch publishes everything, then flushes once or awaits the PubAcks together.
// Either way the message carries the event id in the Nats-Msg-Id header, which JetStream dedupes on. A CloudEvent
// (`format`) follows the NATS binding: structured with a Content-Type header, binary with percent-encoded ce-*
// headers; a server without headers (before 2.2) gets structured mode.
import {
  connect,
  ErrorCode,
  headers,
  NatsError,
  type ConnectionOptions,
  type MsgHdrs,
  type NatsConnection,
} from 'nats';
import type { MessageFormat, NatsConfig } from '../config/targets';
import { withTimeout } from '../errors';
import { attributeHeaders, encodeMessage, percentEncodeHeaderValue, withoutHeaders } from './message-format';
import { LazyConnection, probeHealth } from './shared-connection';
import { bulkTarget, DELIVERED, settleEach } from './send';
import { deliveryError, type Delivery, type Target } from './target';

const CONNECT_TIMEOUT_MS = 10_000;
const PUBLISH_TIMEOUT_MS = 10_000;
const MSG_ID_HEADER = 'Nats-Msg-Id';
const PERMANENT_CODES = new Set<string>([ErrorCode.AuthorizationViolation, ErrorCode.PermissionsViolation]);

export function create(arn: string, config: NatsConfig): Target {
  const options = connectionOptions(arn, config);
  const where = `${arn}: nats ${config.address}`;
  const connections: LazyConnection<NatsConnection> = new LazyConnection(
    async () => {
      const connection = await connect(options).catch((err) => {
        throw deliveryError(`${where}: connect`, err, isPermanent(err));
      });
      void connection.closed().then(() => connections.discard(connection));
      return connection;
    },
    (connection) => connection.close(),
  );

  const publishError = (err: unknown) => deliveryError(`${where}: publish to ${config.subject}`, err, isPermanent(err));

  return bulkTarget({
    arn,
    // JetStream: every publish in flight at once, each awaiting its own PubAck. Core: all published, then
    // one flush for the lot (core NATS has no per-message answer).
    async sendOrdered(ordered) {
      const connection = await connections.get();
      if (config.jetstream)
        return settleEach(
          ordered.map((delivery) => publishJetStream(connection, config.subject, delivery, config.format)),
          publishError,
        );
      try {
        await publishCore(connection, config.subject, ordered, config.format);
      } catch (err) {
        throw publishError(err);
      }
      return ordered.map(() => DELIVERED);
    },
    health: () => probeHealth(async () => (await connections.get()).rtt(), CONNECT_TIMEOUT_MS),
    close: () => connections.close(),
  });
}

function connectionOptions(arn: string, config: NatsConfig): ConnectionOptions {
  const tls = tlsOptions(config);
  return {
    servers: config.address,
    name: `bucketflow ${arn}`,
    timeout: CONNECT_TIMEOUT_MS,
    reconnect: true,
    maxReconnectAttempts: -1,
    ...(config.username ? { user: config.username, pass: config.password } : {}),
    ...(config.token ? { token: config.token } : {}),
    // MinIO's ping_interval is in seconds; 0 keeps the client default.
    ...(config.ping_interval > 0 ? { pingInterval: config.ping_interval * 1000 } : {}),
    ...(tls ? { tls } : {}),
  };
}

function tlsOptions(config: NatsConfig): ConnectionOptions['tls'] {
  if (!config.tls && !config.tls_skip_verify && !config.cert_authority && !config.client_cert) return undefined;
  return {
    ...(config.cert_authority ? { caFile: config.cert_authority } : {}),
    ...(config.client_cert ? { certFile: config.client_cert, keyFile: config.client_key } : {}),
    // Passed through to tls.connect by the node transport.
    ...(config.tls_skip_verify ? { rejectUnauthorized: false } : {}),
  };
}

/**
 * The body and headers of one event: the event id as Nats-Msg-Id (core NATS; JetStream sets it from msgID), and a
 * CloudEvent's headers. A server before 2.2 takes no headers: the body alone, binary mode falling back to structured.
 */
function natsMessage(
  connection: NatsConnection,
  delivery: Delivery,
  format: MessageFormat,
  { msgIdHeader }: { msgIdHeader: boolean },
): { body: string; headers?: MsgHdrs } {
  const headersSupported = Boolean(connection.info?.headers);
  const message = encodeMessage(delivery, headersSupported ? format : withoutHeaders(format));
  if (!headersSupported || (!msgIdHeader && !message.cloudEvent)) return { body: message.body };
  const h = headers();
  if (msgIdHeader) h.set(MSG_ID_HEADER, delivery.eventId);
  if (message.binary) {
    // Binary mode: every attribute, datacontenttype too, as a ce- header (the binding's own example).
    const ce = attributeHeaders(message.binary, 'ce-', { withContentType: true, encode: percentEncodeHeaderValue });
    for (const [name, value] of Object.entries(ce)) h.set(name, value);
  } else if (message.cloudEvent) h.set('Content-Type', message.contentType);
  return { body: message.body, headers: h };
}

async function publishCore(
  connection: NatsConnection,
  subject: string,
  deliveries: Delivery[],
  format: MessageFormat,
): Promise<void> {
  for (const delivery of deliveries) {
    const { body, headers } = natsMessage(connection, delivery, format, { msgIdHeader: true });
    connection.publish(subject, body, { headers });
  }
  // The PONG after our PING proves the server has read the messages.
  await withTimeout(connection.flush(), PUBLISH_TIMEOUT_MS, 'flush');
}

async function publishJetStream(
  connection: NatsConnection,
  subject: string,
  delivery: Delivery,
  format: MessageFormat,
): Promise<void> {
  const { body, headers } = natsMessage(connection, delivery, format, { msgIdHeader: false });
  try {
    await connection.jetstream().publish(subject, body, {
      msgID: delivery.eventId,
      timeout: PUBLISH_TIMEOUT_MS,
      ...(headers ? { headers } : {}),
    });
  } catch (err) {
    if (err instanceof NatsError && err.code === ErrorCode.NoResponders) {
      throw new Error(
        `no JetStream stream captures subject ${subject} (create one, e.g. nats stream add --subjects ${subject})`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** Refused credentials and permissions cannot pass on retry; everything else may. */
function isPermanent(err: unknown): boolean {
  return err instanceof NatsError && PERMANENT_CODES.has(err.code);
}
