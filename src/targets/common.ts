// Plumbing shared by the target implementations: config errors, the message body, lazy connections,
// timeouts and never-throwing health probes.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { ConfigError } from '../config/params';
import { decodeObjectKey } from '../events/record';
import type { S3EventRecord } from '../events/types';
import { PermanentDeliveryError, type Delivery, type Health } from './target';

/** Header (HTTP, Kafka, MQTT 5 user property) carrying `delivery.eventId`, so receivers can drop the
 * duplicates an at-least-once retry may cause. AMQP uses messageId and NATS Nats-Msg-Id instead. */
export const EVENT_ID_HEADER = 'X-Bucketflow-Event-Id';

/** A config problem only I/O can find (an unreadable PEM file): names the ARN and the field. */
export function configError(arn: string, field: string, problem: string): ConfigError {
  return new ConfigError(field, problem, arn);
}

/** Reads a PEM file named by a config field now, so a bad path fails at worker start. */
export function readPemFile(arn: string, field: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw configError(arn, field, `cannot read ${file}: ${errorMessage(err)}`);
  }
}

/** The body message-style targets publish: the event envelope `{EventName, Key, Records:[record]}`. */
export function envelopeJson(delivery: Delivery): string {
  return JSON.stringify(delivery.envelope);
}

/** `<context>: <cause>`, as PermanentDeliveryError when no retry can help, else a retryable Error. */
export function deliveryError(context: string, err: unknown, permanent: boolean): Error {
  const message = `${context}: ${errorMessage(err)}`;
  return permanent ? new PermanentDeliveryError(message, { cause: err }) : new Error(message, { cause: err });
}

/** Drops `user:password@` from a URL shown in messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return err.errors.map(errorMessage).join('; ');
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** Rejects with `<what>: timed out after <ms> ms` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs a probe and reports its outcome as Health; never throws. */
export async function probeHealth(probe: () => Promise<unknown>, timeoutMs = 5_000): Promise<Health> {
  try {
    await withTimeout(probe(), timeoutMs, 'health probe');
    return { online: true };
  } catch (err) {
    return { online: false, detail: errorMessage(err) };
  }
}

/** Opens (and at once closes) a TCP connection to host:port: MinIO's liveness check for HTTP targets. */
export function dialTcp(host: string, port: number, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`dial ${host}:${port}: timed out after ${timeoutMs} ms`));
    });
    socket.once('error', (err) => reject(new Error(`dial ${host}:${port}: ${errorMessage(err)}`)));
  });
}

/**
 * One shared connection opened on first use. A failed open is forgotten so the next use retries;
 * `discard` forgets a connection that died so the next use reconnects.
 */
export class LazyConnection<T> {
  private current?: Promise<T>;

  constructor(
    private readonly open: () => Promise<T>,
    private readonly dispose: (connection: T) => Promise<unknown>,
  ) {}

  get(): Promise<T> {
    if (!this.current) {
      const opening = this.open();
      this.current = opening;
      opening.catch(() => {
        if (this.current === opening) this.current = undefined;
      });
    }
    return this.current;
  }

  /** Forgets (and disposes of) `connection` if it is still the current one. */
  async discard(connection: T): Promise<void> {
    const current = this.current;
    if (!current || (await current.catch(() => undefined)) !== connection) return;
    if (this.current === current) this.current = undefined;
    await this.dispose(connection).catch(() => undefined);
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    const connection = await current?.catch(() => undefined);
    if (connection !== undefined) await this.dispose(connection).catch(() => undefined);
  }
}

/** Runs `setup` (e.g. CREATE TABLE IF NOT EXISTS) until it succeeds once, then returns its result; a failure is forgotten so the next call retries. */
export function onceSucceeded<T>(setup: () => Promise<T>): () => Promise<T> {
  let done: Promise<T> | undefined;
  return () => {
    done ??= setup().catch((err) => {
      done = undefined;
      throw err;
    });
    return done;
  };
}

// Store targets (Elasticsearch, Redis, PostgreSQL, MySQL) keep MinIO's `{"Records":[record]}` per
// object (namespace format) or per event (access format).

/** What store targets write: `{"Records":[record]}`. */
export function storedValue(record: S3EventRecord): string {
  return JSON.stringify({ Records: [record] });
}

/** The namespace format's key: `<bucket>/<raw key>`. */
export function namespaceKey(record: S3EventRecord): string {
  return `${record.s3.bucket.name}/${decodeObjectKey(record.s3.object.key)}`;
}

/** Any `s3:ObjectRemoved:*` event removes the object's entry in the namespace format. */
export function isRemoval(record: S3EventRecord): boolean {
  return record.eventName.startsWith('s3:ObjectRemoved:');
}

const HEX = /^[0-9A-Fa-f]{1,32}$/;

/**
 * Orders the states of one object: its sequencer (uppercase hex of the modification time in ns), else
 * the event time in ns, as 32 hex digits so string order is numeric order.
 */
export function orderingKey(record: S3EventRecord): string {
  const sequencer = record.s3.object.sequencer;
  const hex = HEX.test(sequencer ?? '') ? sequencer : (BigInt(Date.parse(record.eventTime) || 0) * 1_000_000n).toString(16);
  return hex.toUpperCase().padStart(32, '0');
}
