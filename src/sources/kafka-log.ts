// What the Kafka source's log says about kafkajs's own lines, as src/temporal/outage-log.ts does for the Temporal
// SDK's. kafkajs logs every failed connection attempt, every retry and every consumer restart at ERROR: a 20 s
// broker stop was ~27 ERROR lines for something the source survives without losing a record. Here an outage is
// one WARN line when it begins, with its cause, and one INFO line when the source reaches Kafka again (a consumer
// connected, joined its group or fetched), with how long it lasted and how many kafkajs lines it replaced. A
// protocol error kafkajs logs on its way to the caller ("Response Metadata(key: 3, version: 6)") is DEBUG: the
// caller (the source, or kafkajs's own retry) decides what it means. Anything else kafkajs warns about is a WARN
// through the log's repeat limiter. Nothing from kafkajs is ever written as ERROR: a fatal error stops the source
// and is reported as itself by whoever ran it.
import { log } from '../telemetry/log';

/** A line or error text saying a broker could not be reached (or a consumer restarting because of it). */
const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection error|Connection timeout|[Cc]losed connection|[Cc]onnection closed|timed out|Failed to connect|[Bb]roker not found|coordinator is not available|Restarting the consumer/;
/** Unreachable lines right after Kafka answered again are the tail of the outage, not a new one. */
const SETTLE_MS = 5_000;

/** kafkajs's log levels (its `logLevel` enum): ERROR 1, WARN 2, INFO 4, DEBUG 5. */
const KAFKAJS_WARN = 2;

export interface KafkajsEntry {
  namespace: string;
  level: number;
  log: { message: string; error?: unknown; [field: string]: unknown };
}

export class KafkaOutageLog {
  private since: number | undefined;
  private lines = 0;
  private settledAt = 0;

  constructor(private readonly fields: { topic: string; brokers: string[] }) {}

  /** Whether an outage is open (Kafka unreachable since its first line). */
  get unreachable(): boolean {
    return this.since !== undefined;
  }

  /** Takes one of kafkajs's log entries (its logCreator's argument). */
  observe({ namespace, level, log: entry }: KafkajsEntry): void {
    if (level > KAFKAJS_WARN) return;
    const error = typeof entry.error === 'string' ? entry.error : '';
    if (namespace === 'Connection' && entry.message.startsWith('Response ')) {
      log('DEBUG', `kafka source: ${entry.message}`, { ...this.fields, error });
    } else if (UNREACHABLE.test(`${entry.message} ${error}`)) {
      this.failed(entry.message);
    } else {
      log('WARN', `kafka source: ${entry.message}`, { ...this.fields, ...(error ? { error } : {}) });
    }
  }

  /** A call that could not reach Kafka (a kafkajs line, or an error the source caught): counted, the first one written.
   * */
  failed(cause: string): void {
    this.lines++;
    if (this.since !== undefined || Date.now() < this.settledAt) return;
    this.since = Date.now();
    this.lines = 1;
    log('WARN', 'Kafka unreachable', { ...this.fields, cause: cause.slice(0, 300) });
  }

  /** Kafka answered (a consumer connected, joined or fetched): ends an open outage with one line. */
  reachable(): void {
    if (this.since === undefined) return;
    log('INFO', 'Kafka reachable again', {
      ...this.fields,
      downSeconds: Math.round((Date.now() - this.since) / 100) / 10,
      kafkaLines: this.lines,
    });
    this.since = undefined;
    this.settledAt = Date.now() + SETTLE_MS;
  }
}

/** Whether kafkajs itself would retry after this error (its consumer's own rule for restarting after a crash). */
export function isTransientKafkaError(err: unknown): boolean {
  if ((err as { name?: unknown } | undefined)?.name === 'KafkaJSNumberOfRetriesExceeded') return true;
  let cause = err as { cause?: unknown; retriable?: unknown } | undefined;
  while (cause?.cause) cause = cause.cause as typeof cause;
  return cause?.retriable === true;
}
