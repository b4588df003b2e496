// The worker's targets: one instance (one connection/pool) per enabled ARN, shared by all activities.
// Whatever a driver reports (a send's error, a health detail) leaves the pool redacted: nothing a client
// library writes about its connection (a URL with userinfo, a DSN, a token) reaches a history, log or page.
import { redactorFor } from '../config/redact';
import { retrySettingsByArn, type RetrySettings } from '../config/retry';
import type { TargetEntry } from '../config/targets';
import { errorMessage } from '../errors';
import { createTarget } from './registry';
import { SendDedupe } from './send-dedupe';
import { PermanentDeliveryError } from '../delivery/failure';
import type { Health, Target } from './target';

export class TargetPool {
  private readonly targets = new Map<string, { target: Target; retry: RetrySettings }>();
  /** The sends this worker made, asked before every send so none is made twice for one delivery. */
  readonly sent = new SendDedupe();

  /** Creates every enabled target; a bad config throws here, at worker start, naming the ARN and field. */
  constructor(entries: TargetEntry[]) {
    const retries = retrySettingsByArn(entries);
    for (const entry of entries) {
      if (!entry.enabled) continue;
      this.targets.set(entry.arn, {
        target: redacting(createTarget(entry), redactorFor(entry)),
        retry: retries.get(entry.arn)!,
      });
    }
  }

  get(arn: string): Target | undefined {
    return this.targets.get(arn)?.target;
  }

  /** Undefined for an ARN this worker does not have (disabled or unknown); with its dead letter, if it has one. */
  retryFor(arn: string): RetrySettings | undefined {
    return this.targets.get(arn)?.retry;
  }

  async health(): Promise<Record<string, Health>> {
    const entries = await Promise.all(
      [...this.targets].map(async ([arn, { target }]) => [arn, await target.health()] as const),
    );
    return Object.fromEntries(entries);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.sent.close(), ...[...this.targets.values()].map(({ target }) => target.close())]);
  }
}

/** The target as the engine sees it: its errors and health details pass through the one redaction. */
function redacting(target: Target, redact: (text: string) => string): Target {
  return {
    arn: target.arn,
    send: (delivery) =>
      target.send(delivery).catch((err: unknown) => {
        throw redactedError(err, redact);
      }),
    sendBatch: async (deliveries) =>
      (await target.sendBatch(deliveries)).map((result) =>
        result.ok ? result : { ...result, error: redactedError(result.error, redact) },
      ),
    async health() {
      const health = await target
        .health()
        .catch((err: unknown): Health => ({ online: false, detail: errorMessage(err) }));
      return health.detail === undefined ? health : { ...health, detail: redact(health.detail) };
    },
    close: () => target.close(),
  };
}

/** The same kind of error (permanent or not) with its message redacted, and without the driver's own error as its
 * cause. */
function redactedError(err: unknown, redact: (text: string) => string): Error {
  const message = redact(errorMessage(err));
  return err instanceof PermanentDeliveryError ? new PermanentDeliveryError(message) : new Error(message);
}
