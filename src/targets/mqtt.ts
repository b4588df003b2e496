// MQTT target: publishes the event envelope (or a CloudEvent per `format`: structured, or binary with the attributes
// as MQTT 5 user properties) to the topic with the configured QoS; send resolves on
// PUBACK (QoS 1), PUBCOMP (QoS 2) or once written (QoS 0). Speaks MQTT 5 so the event id can travel as
// a user property; MQTT 3.1.1 subscribers still receive the same payload. A batch keeps its publishes in
// flight together, up to the broker's Receive Maximum.
import { randomUUID } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { MqttConfig } from '../config/targets';
import { redactCredentials } from '../config/connection-strings';
import { errorMessage, withTimeout } from '../errors';
import { EVENT_ID_HEADER } from './common';
import { attributeHeaders, encodeMessage } from './message-format';
import { LazyConnection, probeHealth } from './shared-connection';
import { bulkTarget, DELIVERED, failed, forEachBounded } from './send';
import { deliveryError, type BatchSendResult, type Delivery, type Target } from './target';

const CONNECT_TIMEOUT_MS = 10_000;
const PUBLISH_TIMEOUT_MS = 30_000;
/** MQTT 5's Receive Maximum when the broker sets none. */
const MAX_IN_FLIGHT = 65_535;
/** MQTT 3.1.1 CONNACK 4/5 and MQTT 5 reason codes a retry cannot fix. */
const PERMANENT_CODES = new Set([4, 5, 134, 135, 144, 149, 153]);

interface Session {
  client: MqttClient;
  lastError?: Error;
  /** QoS 1/2 publishes the broker takes at once: its last CONNACK's Receive Maximum (MQTT 5's default when unset). */
  receiveMaximum: number;
}

export function create(arn: string, config: MqttConfig): Target {
  const options = clientOptions(config);
  const where = `${arn}: mqtt ${redactCredentials(config.broker)}`;
  const sessions: LazyConnection<Session> = new LazyConnection(
    () =>
      openSession(config.broker, options, (dead) => void sessions.discard(dead)).catch((err) => {
        throw deliveryError(`${where}: connect`, err, isPermanent(err));
      }),
    (session) => session.client.endAsync(true),
  );

  const publishError = (err: unknown) => deliveryError(`${where}: publish to ${config.topic}`, err, isPermanent(err));
  const publish = (session: Session, delivery: Delivery) => {
    const { body, contentType, binary } = encodeMessage(delivery, config.format);
    // The MQTT binding's binary mode (MQTT 5): each attribute as a user property of its own name, datacontenttype
    // too (also the Content Type), as the CloudEvents SDK's MQTT binding writes and reads it. Its receivers take
    // every user property for an attribute, so the event id travels as `id` alone (X-Bucketflow-Event-Id is no
    // valid attribute name).
    const userProperties = binary
      ? attributeHeaders(binary, '', { withContentType: true })
      : { [EVENT_ID_HEADER]: delivery.eventId };
    return withTimeout(
      session.client.publishAsync(config.topic, body, {
        qos: config.qos as 0 | 1 | 2, // one of these, checked by the loader
        properties: { contentType, userProperties },
      }),
      PUBLISH_TIMEOUT_MS,
      `QoS ${config.qos} publish`,
    );
  };

  return bulkTarget({
    arn,
    // Publishes in flight together, in send order, as many at once as the broker's Receive Maximum allows;
    // each gets its own PUBACK/PUBCOMP (and reason code).
    async sendOrdered(ordered) {
      const session = await sessions.get();
      try {
        await untilConnected(session);
      } catch (err) {
        throw publishError(err);
      }
      const results: BatchSendResult[] = new Array(ordered.length);
      await forEachBounded([...ordered.keys()], session.receiveMaximum, async (index) => {
        results[index] = await publish(session, ordered[index]).then(
          () => DELIVERED,
          (err) => failed(publishError(err)),
        );
      });
      return results;
    },
    health: () => probeHealth(async () => untilConnected(await sessions.get()), CONNECT_TIMEOUT_MS),
    close: () => sessions.close(),
  });
}

function clientOptions(config: MqttConfig): IClientOptions {
  return {
    protocolVersion: 5,
    clientId: `bucketflow-${randomUUID().slice(0, 8)}`,
    clean: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    keepalive: config.keep_alive_interval_ms > 0 ? Math.ceil(config.keep_alive_interval_ms / 1000) : 60,
    reconnectPeriod: config.reconnect_interval_ms > 0 ? config.reconnect_interval_ms : 1_000,
    ...(config.username ? { username: config.username, password: config.password } : {}),
  };
}

/** Connects; after the first CONNACK the client reconnects by itself until the broker refuses it. */
async function openSession(
  broker: string,
  options: IClientOptions,
  onDeath: (session: Session) => void,
): Promise<Session> {
  const client = connect(broker, options);
  const session: Session = { client, receiveMaximum: MAX_IN_FLIGHT };
  client.on('connect', (connack) => (session.receiveMaximum = connack.properties?.receiveMaximum ?? MAX_IN_FLIGHT));
  client.on('error', (err) => {
    session.lastError = err;
    if (isPermanent(err)) onDeath(session); // a refused CONNACK stops mqtt.js reconnecting
  });
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      }),
      CONNECT_TIMEOUT_MS,
      'connect',
    );
    return session;
  } catch (err) {
    await client.endAsync(true).catch(() => undefined);
    throw err;
  }
}

async function untilConnected(session: Session): Promise<void> {
  if (session.client.connected) return;
  let onConnect = () => {};
  const connected = new Promise<void>((resolve) => session.client.once('connect', (onConnect = () => resolve())));
  await withTimeout(connected, CONNECT_TIMEOUT_MS, 'reconnect').catch((err) => {
    session.client.off('connect', onConnect);
    throw new Error(`not connected (${errorMessage(session.lastError ?? err)})`);
  });
}

function isPermanent(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' && PERMANENT_CODES.has(code);
}
