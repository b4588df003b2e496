// Kafka target: one idempotent producer per target, acks from all in-sync replicas, message key
// `<bucket>/<raw key>` (so one object's events stay in one partition, in order) and the envelope as value.
import { CompressionTypes, Kafka, logLevel, Partitioners, type Admin, type KafkaConfig as ClientConfig, type Producer, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config/targets';
import { configError, deliveryError, envelopeJson, EVENT_ID_HEADER, LazyConnection, probeHealth, readPemFile } from './common';
import type { Delivery, Target } from './target';

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
  const compression = compressionOf(arn, config.compression_codec);
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
  if (!config.brokers.length) throw configError(arn, 'brokers', 'required');
  if (!config.topic) throw configError(arn, 'topic', 'required');
  return {
    clientId: 'bucketflow',
    brokers: config.brokers,
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
    retry: { retries: 5 },
    logLevel: logLevel.NOTHING, // failures reach the caller as errors; kafkajs's own logs would be noise
    ssl: tlsOptions(arn, config),
    sasl: saslOptions(arn, config),
  };
}

function tlsOptions(arn: string, config: KafkaConfig): ClientConfig['ssl'] {
  if (!config.tls) return undefined;
  if (Boolean(config.client_tls_cert) !== Boolean(config.client_tls_key)) {
    throw configError(arn, config.client_tls_cert ? 'client_tls_key' : 'client_tls_cert', 'client_tls_cert and client_tls_key go together');
  }
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

function saslOptions(arn: string, config: KafkaConfig): SASLOptions | undefined {
  if (!config.sasl) return undefined;
  if (!config.sasl_username) throw configError(arn, 'sasl_username', 'required with sasl');
  const credentials = { username: config.sasl_username, password: config.sasl_password };
  switch (config.sasl_mechanism || 'plain') {
    case 'plain':
      return { mechanism: 'plain', ...credentials };
    case 'sha256':
      return { mechanism: 'scram-sha-256', ...credentials };
    case 'sha512':
      return { mechanism: 'scram-sha-512', ...credentials };
    default:
      throw configError(arn, 'sasl_mechanism', `must be plain, sha256 or sha512, got ${JSON.stringify(config.sasl_mechanism)}`);
  }
}

/** kafkajs ships gzip only; snappy, lz4 and zstd would need extra codec packages. */
function compressionOf(arn: string, codec: string): CompressionTypes {
  switch (codec.toLowerCase()) {
    case '':
    case 'none':
      return CompressionTypes.None;
    case 'gzip':
      return CompressionTypes.GZIP;
    default:
      throw configError(arn, 'compression_codec', `${JSON.stringify(codec)} is not supported (use none or gzip)`);
  }
}


/** Authentication, authorization and payload refusals cannot pass on retry. */
function isPermanent(err: unknown): boolean {
  for (let e = err as { name?: string; type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.name === 'KafkaJSSASLAuthenticationError' || (e.type && PERMANENT_ERROR_TYPES.has(e.type))) return true;
    if (e.cause === e) break;
  }
  return false;
}
