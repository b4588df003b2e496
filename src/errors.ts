// How a failure reads: one message per error (AggregateError's causes included), and promises bounded by
// a deadline that fails with a message naming what timed out.

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return err.errors.map(errorMessage).join('; ');
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** The message and its cause's, when that adds something: Temporal's "Failed to start Workflow" says nothing without "connect ECONNREFUSED ...". */
export function messageWithCause(err: unknown): string {
  const message = errorMessage(err);
  const cause = err instanceof Error && err.cause !== undefined ? errorMessage(err.cause) : undefined;
  return cause && !message.includes(cause) ? `${message}: ${cause}` : message;
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
