// What every driver sends and reads besides its connection: the message body, the event-id header, and
// the files a config names (PEM), read at creation so a bad path fails when the worker starts.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/params';
import { errorMessage } from '../errors';
import type { Delivery } from './target';

/** Header (HTTP, Kafka, MQTT 5 user property) carrying `delivery.eventId`, so receivers can drop the
 * duplicates an at-least-once retry may cause. AMQP uses messageId and NATS Nats-Msg-Id instead. */
export const EVENT_ID_HEADER = 'X-Bucketflow-Event-Id';

/**
 * The body message-style targets publish: the event envelope `{EventName, Key, Records:[record]}`, or for a dead
 * letter `{"deadLetter": {failure}, "event": envelope}` (docs/targets.md#dead-letters).
 */
export function envelopeJson(delivery: Delivery): string {
  if (delivery.deadLetter) return JSON.stringify({ deadLetter: delivery.deadLetter, event: delivery.envelope });
  return JSON.stringify(delivery.envelope);
}

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
