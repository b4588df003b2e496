// How a failure reads: one message per error (AggregateError's causes included), the message with its
// cause, an error's chain of causes for code that looks for one (a gRPC status, a driver's error type), and
// promises bounded by a deadline that fails with a message naming what timed out, and the one error every
// publishing path shares for a record too large to become a delivery. Code that reports an error builds its
// text here, not by hand.

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return err.errors.map(errorMessage).join('; ');
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** The message and its cause's, when that adds something: Temporal's "Failed to start Workflow" says nothing without
 * "connect ECONNREFUSED ...". */
export function messageWithCause(err: unknown): string {
  const message = errorMessage(err);
  const cause = err instanceof Error && err.cause !== undefined ? errorMessage(err.cause) : undefined;
  return cause && !message.includes(cause) ? `${message}: ${cause}` : message;
}

/** What a failed system call says in a word (ENOENT, EACCES), else the error's message: "cannot read x.pem (ENOENT)".
 * */
export function systemErrorText(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : errorMessage(err);
}

/** The fields code reads along an error's chain of causes (gRPC errors carry a numeric code and details). */
export interface ErrorLink {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  details?: unknown;
  message?: unknown;
}

/** The error, then its cause, its cause's cause, ... (stopping at a cycle). */
export function* causeChain(err: unknown): Generator<ErrorLink> {
  const seen = new Set<unknown>();
  for (
    let current = err;
    typeof current === 'object' && current !== null && !seen.has(current);
    current = (current as { cause?: unknown }).cause
  ) {
    seen.add(current);
    yield current as ErrorLink;
  }
}

/** Rejects with `<what>: timed out after <ms> ms` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Text an operator must copy as it is (commands to run), carried by an error beside its log line. */
export function operatorTextOf(err: unknown): string | undefined {
  const text = (err as { operatorText?: unknown } | undefined)?.operatorText;
  return typeof text === 'string' ? text : undefined;
}

/**
 * A record too large to travel as a workflow input, refused by the publisher (src/publish/publisher.ts) before anything
 * of
 * its publish starts: the ingest answers 413 with this message, the Kafka source skips its record as poison, a
 * library caller gets it thrown. `field` names the record in what was published (`Records[1]`).
 */
export class RecordTooLargeError extends Error {
  constructor(
    readonly field: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `${field}: ${bytes} bytes once encoded; a record may carry at most ${limit} to become a delivery (Temporal's payload limit)`,
    );
    this.name = 'RecordTooLargeError';
  }
}
