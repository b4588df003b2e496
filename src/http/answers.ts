// What the ingest answers when it does not accept a body: one error type carrying the HTTP status, the text the
// sender sees (written for the sender: never an internal error's raw message, which goes to the log) and the
// reason counted in bucketflow_events_rejected_total; turned into a reply in one place.
import type { FastifyReply } from 'fastify';
import { metrics } from '../telemetry/metrics';

/** Seconds a sender is asked to wait after a 503. */
export const RETRY_AFTER_SECONDS = 1;

export type RefusalReason =
  | 'bad_request'
  | 'implausible_sequencer'
  | 'unauthorized'
  | 'forbidden'
  | 'too_large'
  | 'unavailable'
  | 'overloaded'
  | 'bad_gateway';

export class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: RefusalReason,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

// SNS and Ceph send the credentials written into their endpoint URL as basic auth, some only when challenged.
const CHALLENGE = { 'www-authenticate': 'Basic realm="bucketflow"' };
const RETRY_LATER = { 'retry-after': String(RETRY_AFTER_SECONDS) };

export const refuse = {
  badRequest: (message: string) => new Refusal(400, message, 'bad_request'),
  /** A MinIO sequencer far ahead of its event's time (a forged event would freeze its object's state): 400, counted
   * apart. */
  implausibleSequencer: (message: string) => new Refusal(400, message, 'implausible_sequencer'),
  unauthorized: (message = 'missing or wrong Authorization header') =>
    new Refusal(401, message, 'unauthorized', CHALLENGE),
  forbidden: (message: string) => new Refusal(403, message, 'forbidden'),
  tooLarge: (message: string) => new Refusal(413, message, 'too_large'),
  badGateway: (message: string) => new Refusal(502, message, 'bad_gateway'),
  /** Temporal cannot take the start now: the sender retries (MinIO with queue_dir, RGW persistent topics, SNS). */
  unavailable: (message: string) => new Refusal(503, message, 'unavailable', RETRY_LATER),
  /** This worker holds as many deliveries as it may (admission control): the sender retries. */
  overloaded: (message: string) => new Refusal(503, message, 'overloaded', RETRY_LATER),
};

export function sendRefusal(reply: FastifyReply, refusal: Refusal): FastifyReply {
  metrics.eventsRejected.inc({ reason: refusal.reason });
  return reply.code(refusal.status).headers(refusal.headers).send({ error: refusal.message });
}
