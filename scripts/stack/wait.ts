// Polling helper: wait until a check passes (a deadline for one promise is src/errors.ts withTimeout).
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Stops waiting early with this error (e.g. the process exited). */
  abort?: () => Error | undefined;
}

/** Retries `check` until it resolves; rejects with the last error once the time is up. */
export async function waitFor<T>(check: () => Promise<T>, options: WaitOptions): Promise<T> {
  const until = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const aborted = options.abort?.();
    if (aborted) throw aborted;
    try {
      return await (options.abort ? unlessAborted(check(), options.abort) : check());
    } catch (error) {
      if (error instanceof AbortedError) throw error.reason;
      lastError = error;
    }
    if (Date.now() > until) throw lastError instanceof Error ? lastError : new Error(String(lastError));
    await sleep(options.intervalMs ?? 1000);
  }
}

class AbortedError extends Error {
  constructor(readonly reason: Error) {
    super(reason.message);
  }
}

/** Settles like `promise`, or rejects as soon as `abort` reports an error (a hung probe of a dead server). */
function unlessAborted<T>(promise: Promise<T>, abort: () => Error | undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const watcher = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const reason = abort();
      if (reason) reject(new AbortedError(reason));
    }, 250);
  });
  return Promise.race([promise, watcher]).finally(() => clearInterval(timer));
}
