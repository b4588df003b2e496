// AMQP 0-9-1 target (RabbitMQ): declares the exchange as configured, then publishes the event envelope (or a
// CloudEvent per `format`: structured, or binary with cloudEvents_* headers) on a confirm channel, as MinIO's amqp
// target does, resolving only on the broker's ack (a batch: all published at once, their confirms awaited together).
import * as amqplib from 'amqplib';
import type { AmqpConfig } from '../config/targets';
import { redactCredentials } from '../config/connection-strings';
import { errorMessage, withTimeout } from '../errors';
import { attributeHeaders, encodeMessage } from './message-format';
import { LazyConnection, probeHealth } from './shared-connection';
import { bulkTarget, settleEach } from './send';
import { deliveryError, type Delivery, type Target } from './target';

const CONNECT_TIMEOUT_MS = 10_000;
const CONFIRM_TIMEOUT_MS = 30_000;
/** Reply codes a retry cannot fix: access refused, inequivalent exchange, not allowed, not implemented. */
const PERMANENT_REPLY_CODES = new Set([403, 406, 530, 540]);

interface Session {
  connection: amqplib.ChannelModel;
  channel: amqplib.ConfirmChannel;
  /** messageIds the broker handed back with basic.return (mandatory and unroutable). */
  returned: Set<string>;
}

export function create(arn: string, config: AmqpConfig): Target {
  const where = `${arn}: ${redactCredentials(config.url)}`;
  const sessions: LazyConnection<Session> = new LazyConnection(
    () =>
      openSession(config, (dead) => void sessions.discard(dead)).catch((err) => {
        throw deliveryError(`${where}: connect`, err, isPermanent(err));
      }),
    (session) => session.connection.close(),
  );

  return bulkTarget({
    arn,
    // Every message published at once on the one confirm channel (so in send order); the confirms are
    // awaited together, and each message gets its own ack, nack or return.
    async sendOrdered(ordered) {
      const session = await sessions.get();
      return settleEach(
        ordered.map((delivery) => publish(session, config, delivery)),
        (err) =>
          deliveryError(`${where}: publish to exchange ${JSON.stringify(config.exchange)}`, err, isPermanent(err)),
      );
    },
    health: () => probeHealth(() => sessions.get(), CONNECT_TIMEOUT_MS),
    close: () => sessions.close(),
  });
}

async function openSession(config: AmqpConfig, onDeath: (session: Session) => void): Promise<Session> {
  const connection = await amqplib.connect(config.url, { timeout: CONNECT_TIMEOUT_MS });
  try {
    const channel = await connection.createConfirmChannel();
    const session: Session = { connection, channel, returned: new Set() };
    channel.on('return', (message: amqplib.Message) => {
      if (message.properties.messageId) session.returned.add(String(message.properties.messageId));
    });
    // Errors are followed by 'close'; listening keeps them from crashing the process.
    connection.on('error', () => undefined);
    channel.on('error', () => undefined);
    connection.on('close', () => onDeath(session));
    channel.on('close', () => onDeath(session));
    // The default exchange ("") cannot be declared; any other is declared once per channel.
    if (config.exchange) {
      await channel.assertExchange(config.exchange, config.exchange_type, {
        durable: config.durable,
        internal: config.internal,
        autoDelete: config.auto_deleted,
      });
    }
    return session;
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw err;
  }
}

function publish(session: Session, config: AmqpConfig, delivery: Delivery): Promise<void> {
  const { eventId, record } = delivery;
  const { body, contentType, binary } = encodeMessage(delivery, config.format);
  const options: amqplib.Options.Publish = {
    contentType,
    messageId: eventId,
    headers: {
      'minio-bucket': record.s3.bucket.name,
      'minio-event': record.eventName,
      // The AMQP binding's binary mode: each attribute but datacontenttype (the content type) as an application
      // property; `cloudEvents_` rather than `cloudEvents:`, as the binding prefers for JMS clients.
      ...(binary ? attributeHeaders(binary, 'cloudEvents_') : {}),
    },
    mandatory: config.mandatory,
    ...(config.delivery_mode ? { deliveryMode: config.delivery_mode } : {}),
  };
  const confirmed = new Promise<void>((resolve, reject) => {
    session.channel.publish(config.exchange, config.routing_key, Buffer.from(body), options, (err) => {
      if (err) return reject(err instanceof Error ? err : new Error(`broker nacked the message: ${errorMessage(err)}`));
      // The broker sends basic.return before the ack of the message it could not route.
      if (session.returned.delete(eventId)) {
        return reject(
          new Error(`unroutable (mandatory): no queue bound for routing key ${JSON.stringify(config.routing_key)}`),
        );
      }
      resolve();
    });
  });
  return withTimeout(confirmed, CONFIRM_TIMEOUT_MS, 'publisher confirm');
}

/** Refusals a retry cannot fix (access refused, inequivalent exchange, ...); the rest stays retryable. */
function isPermanent(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'number' && PERMANENT_REPLY_CODES.has(code)) return true;
  return /\b(403|530)\b.*(ACCESS|NOT).(REFUSED|ALLOWED)/.test(errorMessage(err)); // handshake refusals
}
