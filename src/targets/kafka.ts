// Kafka target: one idempotent producer per target, acks from all in-sync replicas, message key
// `<bucket>/<raw key>` (so one object's events stay in one partition, in order) and the envelope as value (or a
// CloudEvent per `format`: structured, or binary with ce_* headers, the Kafka binding).
// A batch is one producer send with many messages (split only past MAX_SEND_BYTES).
import {
  CompressionTypes,
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type KafkaConfig as ClientConfig,
  type Message,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { KafkaConfig } from '../config/targets';
import { EVENT_ID_HEADER, readPemFile } from './common';
import { attributeHeaders, encodeMessage } from './message-format';
import { LazyConnection, probeHealth } from './shared-connection';
import { causeChain } from '../errors';
import { bulkTarget, DELIVERED, failed } from './send';
import { deliveryError, type BatchSendResult, type Delivery, type Target } from './target';

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
const TOO_LARGE_ERROR_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
/** Bytes of message values per producer send of a batch: half the broker's default message.max.bytes (1 MiB), which
 * bounds a record batch. */
const MAX_SEND_BYTES = 512 * 1024;

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

  return bulkTarget({
    arn,
    // One producer send per chunk of MAX_SEND_BYTES, in send order. A send is all or nothing (the broker
    // takes or refuses a partition's record batch whole): a failed chunk fails its events and the ones
    // after it, which were not sent.
    async sendOrdered(ordered) {
      const producer = await producers.get();
      const results: BatchSendResult[] = [];
      for (const chunk of chunksOf(ordered.map((delivery) => messageOf(delivery, config.format)))) {
        try {
          await producer.send({ topic: config.topic, acks: -1, compression, messages: chunk });
          for (let n = 0; n < chunk.length; n++) results.push(DELIVERED);
        } catch (err) {
          // A fresh producer (new producer id) after a failure keeps broker-side sequence checks from wedging.
          await producers.discard(producer);
          // Too large for the broker as a whole may pass split up: permanent only for a message on its own.
          const permanent = isPermanent(err) && !(chunk.length > 1 && hasErrorType(err, TOO_LARGE_ERROR_TYPES));
          const failure = failed(deliveryError(`${where}: produce to ${config.topic}`, err, permanent));
          while (results.length < ordered.length) results.push(failure);
          break;
        }
      }
      return results;
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
  });
}

/**
 * Key `<bucket>/<raw key>`, the event id as a header, the envelope as value (`minio`: no other header, as before).
 * CloudEvents (the Kafka binding): a content-type header, and in binary mode each attribute as a ce_ header.
 */
function messageOf(delivery: Delivery, format: KafkaConfig['format']): Message {
  const { body, cloudEvent, contentType, binary } = encodeMessage(delivery, format);
  return {
    key: delivery.envelope.Key,
    value: body,
    headers: {
      [EVENT_ID_HEADER]: delivery.eventId,
      ...(cloudEvent ? { 'content-type': contentType } : {}),
      ...(binary ? attributeHeaders(binary, 'ce_') : {}),
    },
  };
}

/** Consecutive runs of messages whose values add up to at most MAX_SEND_BYTES (a larger message alone). */
function chunksOf(messages: Message[]): Message[][] {
  const chunks: Message[][] = [];
  let bytes = Infinity;
  for (const message of messages) {
    const size = Buffer.byteLength(message.value as string);
    if (bytes + size > MAX_SEND_BYTES) {
      chunks.push([]);
      bytes = 0;
    }
    chunks[chunks.length - 1].push(message);
    bytes += size;
  }
  return chunks;
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
  return {
    mechanism: SASL_MECHANISMS[config.sasl_mechanism],
    username: config.sasl_username,
    password: config.sasl_password,
  };
}

/** The loader accepts none (or empty) and gzip only. */
function compressionOf(codec: string): CompressionTypes {
  return codec.toLowerCase() === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
}

/** Authentication, authorization and payload refusals cannot pass on retry. */
function isPermanent(err: unknown): boolean {
  return hasErrorType(err, PERMANENT_ERROR_TYPES, 'KafkaJSSASLAuthenticationError');
}

/** Whether `err` or one of its causes has a broker error type in `types` (or the error name `name`). */
function hasErrorType(err: unknown, types: Set<string>, name?: string): boolean {
  return [...causeChain(err)].some(
    (e) => (name !== undefined && e.name === name) || (typeof e.type === 'string' && types.has(e.type)),
  );
}
