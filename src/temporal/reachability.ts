// Whether Temporal answers, known fast. gRPC calls to an unreachable server are retried by the client until
// their deadline (~20 s), so on its own a start holds the sender that long and reports no cause. Here a start
// that has not finished within a second triggers a TCP probe of the frontend: refused or timed out -> the call is
// aborted and reported unreachable with the cause; reachable -> the start keeps waiting, because a server that
// is merely slow (load) will answer, and a 503 then would only make the sender retry. While unreachable, calls
// fail at once and a probe loop (TCP, then a gRPC call) notices the server's return within a fraction of a second.
import net from 'node:net';
import type { ConnectionLike } from '@temporalio/client';
import { causeChain, messageWithCause } from '../errors';

/** gRPC reconnect backoff for clients that must notice Temporal's return quickly (grpc-js grows it to 2 min). */
export const FAST_RECONNECT_CHANNEL_ARGS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
} as const;

export class TemporalUnreachableError extends Error {
  constructor(readonly reason: string) {
    super(`Temporal unreachable: ${reason}`);
    this.name = 'TemporalUnreachableError';
  }
}

export interface ReachabilityOptions {
  /** `host:port` of the frontend (what the client connects to). */
  address: string;
  /** How long a call runs before the frontend is probed (default 1 s). */
  watchdogMs?: number;
  /** Probe interval while unreachable (default 250 ms). */
  recheckMs?: number;
}

export class TemporalReachability {
  private cause: string | undefined;
  private recovering: Promise<void> | undefined;
  private probing: Promise<string | undefined> | undefined;
  private closed = false;
  private readonly watchdogMs: number;
  private readonly recheckMs: number;

  constructor(
    private readonly connection: ConnectionLike,
    private readonly options: ReachabilityOptions,
  ) {
    this.watchdogMs = options.watchdogMs ?? 1_000;
    this.recheckMs = options.recheckMs ?? 250;
  }

  /** The reason Temporal is known to be unreachable right now, else undefined. */
  get unreachable(): string | undefined {
    return this.cause;
  }

  /**
   * Runs `call` (gRPC calls on this connection) unless Temporal is known unreachable; aborts it and throws
   * TemporalUnreachableError as soon as a probe finds the frontend unreachable, however long the call would wait.
   */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.cause) throw new TemporalUnreachableError(this.cause);
    const abort = new AbortController();
    const result = this.connection.withAbortSignal(abort.signal, call);
    result.catch(() => undefined);
    for (;;) {
      const tick = sleep(this.watchdogMs);
      const finished = await Promise.race([
        result.then(
          () => true,
          () => true,
        ),
        tick.promise.then(() => false),
      ]);
      tick.cancel();
      if (finished) break;
      const cause = await this.probeTcp();
      if (cause) {
        this.markUnreachable(cause);
        abort.abort(new TemporalUnreachableError(cause));
        throw new TemporalUnreachableError(cause);
      }
    }
    try {
      return await result;
    } catch (err) {
      const cause = unreachableCause(err);
      if (cause) {
        this.markUnreachable(cause);
        throw new TemporalUnreachableError(cause);
      }
      throw err;
    }
  }

  /** For health checks: a gRPC round trip within `timeoutMs`; returns the problem, or undefined when it answered. */
  async check(timeoutMs = 1_500): Promise<string | undefined> {
    if (this.cause) return this.cause;
    const problem = await this.probeGrpc(timeoutMs);
    if (problem) this.markUnreachable((await this.probeTcp()) ?? problem);
    return this.cause;
  }

  close(): void {
    this.closed = true;
  }

  private markUnreachable(cause: string): void {
    this.cause = cause;
    this.recovering ??= this.recover().finally(() => (this.recovering = undefined));
  }

  private async recover(): Promise<void> {
    while (!this.closed) {
      await sleep(this.recheckMs).promise;
      const cause = (await this.probeTcp()) ?? (await this.probeGrpc(1_000));
      if (!cause) {
        this.cause = undefined;
        return;
      }
      this.cause = cause;
    }
  }

  private probeGrpc(timeoutMs: number): Promise<string | undefined> {
    return this.connection
      .withDeadline(Date.now() + timeoutMs, () => this.connection.workflowService.getSystemInfo({}))
      .then(
        () => undefined,
        (err: unknown) => unreachableCause(err) ?? messageWithCause(err),
      );
  }

  /** One TCP dial at a time, shared by every waiting call. */
  private probeTcp(): Promise<string | undefined> {
    this.probing ??= dial(this.options.address, Math.min(this.watchdogMs, 1_000)).finally(
      () => (this.probing = undefined),
    );
    return this.probing;
  }
}

/** Resolves with the dial error (e.g. `connect ECONNREFUSED 127.0.0.1:7233`), or undefined once connected. */
export function dial(address: string, timeoutMs: number): Promise<string | undefined> {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!match) return Promise.resolve(undefined); // not host:port (a unix socket, ...): leave it to gRPC
  return new Promise((resolve) => {
    const socket = net.connect({ host: match[1], port: Number(match[2]) });
    const done = (cause: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(cause);
    };
    const timer = setTimeout(() => done(`connect to ${address} timed out after ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (err) => done(err.message));
  });
}

/** The underlying cause of a gRPC failure that means "cannot reach the server" (UNAVAILABLE, DEADLINE_EXCEEDED). */
export function unreachableCause(err: unknown): string | undefined {
  return grpcDetailsOf(err, [14, 4]);
}

/** Temporal's reason for refusing a call as invalid (INVALID_ARGUMENT, e.g. a payload over its size limit): retrying
 * cannot help. */
export function invalidArgumentOf(err: unknown): string | undefined {
  return grpcDetailsOf(err, [3]);
}

/** The details of the first gRPC error with one of these status codes in the error's cause chain. */
function grpcDetailsOf(err: unknown, codes: number[]): string | undefined {
  for (const current of causeChain(err)) {
    if (typeof current.code === 'number' && codes.includes(current.code))
      return String(current.details || current.message);
  }
  return undefined;
}

function sleep(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
