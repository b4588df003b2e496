// Kafka target: one idempotent producer per target, acks from all in-sync replicas, message key
// `<bucket>/<raw key>` (so one object's events stay in one partition, in order) and the envelope as value.
import { CompressionTypes, Kafka, logLevel, Partitioners, type Admin, type KafkaConfig as ClientConfig, type Producer, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config/targets';
import { envelopeJson, EVENT_ID_HEADER, readPemFile } from './common';
import { LazyConnection, probeHealth } from './shared-connection';
import { deliveryError, type Delivery, type Target } from './target';

/** Broker answers a retry cannot fix (kafkajs marks some of them retriable, e.g. authorization). */
const PERMANENT_ERROR_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'INVALID_TOPIC_EXCEPTION',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
]);

export function create(arn: string, config: KafkaConfig): Target {
  const settings = clientConfig(arn, config);
  const client = new Kafka(settings);
  const probeClient = new Kafka({ ...settings, retry: { retries: 0 } }); // a health probe answers at once
  const compression = compressionOf(config.compression_codec);
  const where = `${arn}: kafka ${config.brokers.join(',')}`;
  const producers = new LazyConnection<Producer>(
    async () => {
      const producer = client.producer({
        idempotent: true,
        maxInFlightRequests: 1, // keeps the idempotent producer's sequence (and per-key order) intact
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 5 }, // bounded: the activity's own retry takes over after that
      });
      await producer.connect().catch(async (err) => {
        await producer.disconnect().catch(() => undefined);
        throw deliveryError(`${where}: connect`, err, isPermanent(err));
      });
      return producer;
    },
    (producer) => producer.disconnect(),
  );
  const admins = new LazyConnection<Admin>(
    async () => {
      const admin = probeClient.admin();
      await admin.connect();
      return admin;
    },
    (admin) => admin.disconnect(),
  );

  return {
    arn,
    async send(delivery: Delivery) {
      const producer = await producers.get();
      try {
        await producer.send({
          topic: config.topic,
          acks: -1,
          compression,
          messages: [{ key: delivery.envelope.Key, value: envelopeJson(delivery), headers: { [EVENT_ID_HEADER]: delivery.eventId } }],
        });
      } catch (err) {
        // A fresh producer (new producer id) after a failure keeps broker-side sequence checks from wedging.
        await producers.discard(producer);
        throw deliveryError(`${where}: produce to ${config.topic}`, err, isPermanent(err));
      }
    },
    health: () =>
      probeHealth(async () => {
        const admin = await admins.get();
        await admin.describeCluster().catch(async (err) => {
          await admins.discard(admin);
          throw err;
        });
      }, 15_000),
    async close() {
      await Promise.all([producers.close(), admins.close()]);
    },
  };
}

function clientConfig(arn: string, config: KafkaConfig): ClientConfig {
  return {
    clientId: 'bucketflow',
    brokers: config.brokers,
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
    retry: { retries: 5 },
    logLevel: logLevel.NOTHING, // failures reach the caller as errors; kafkajs's own logs would be noise
    ssl: tlsOptions(arn, config),
    sasl: saslOptions(config),
  };
}

function tlsOptions(arn: string, config: KafkaConfig): ClientConfig['ssl'] {
  if (!config.tls) return undefined;
  return {
    rejectUnauthorized: !config.tls_skip_verify,
    ...(config.client_tls_cert
      ? {
          cert: readPemFile(arn, 'client_tls_cert', config.client_tls_cert),
          key: readPemFile(arn, 'client_tls_key', config.client_tls_key),
        }
      : {}),
  };
}

/** MinIO's mechanism names -> kafkajs's. */
const SASL_MECHANISMS = { plain: 'plain', sha256: 'scram-sha-256', sha512: 'scram-sha-512' } as const;

function saslOptions(config: KafkaConfig): SASLOptions | undefined {
  if (!config.sasl) return undefined;
  return { mechanism: SASL_MECHANISMS[config.sasl_mechanism], username: config.sasl_username, password: config.sasl_password };
}

/** The loader accepts none (or empty) and gzip only. */
function compressionOf(codec: string): CompressionTypes {
  return codec.toLowerCase() === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
}

/** Authentication, authorization and payload refusals cannot pass on retry. */
function isPermanent(err: unknown): boolean {
  for (let e = err as { name?: string; type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.name === 'KafkaJSSASLAuthenticationError' || (e.type && PERMANENT_ERROR_TYPES.has(e.type))) return true;
    if (e.cause === e) break;
  }
  return false;
}
