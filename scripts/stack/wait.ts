// Polling helpers: wait until a check passes, and bound any promise by a deadline.
import { setTimeout as sleep } from 'node:timers/promises';

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

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
    try {
      return await check();
    } catch (error) {
      lastError = error;
    }
    const aborted = options.abort?.();
    if (aborted) throw aborted;
    if (Date.now() > until) throw lastError instanceof Error ? lastError : new Error(String(lastError));
    await sleep(options.intervalMs ?? 1000);
  }
}
