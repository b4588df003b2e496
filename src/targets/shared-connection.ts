// A driver's connection lifecycle: one shared connection opened on first use, set-up run until it succeeds
// once, and health probes that report instead of throwing.
import net from 'node:net';
import { errorMessage, withTimeout } from '../errors';
import type { Health } from './target';

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

/** Runs `setup` (e.g. CREATE TABLE IF NOT EXISTS) until it succeeds once, then returns its result; a failure is
 * forgotten so the next call retries. */
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
