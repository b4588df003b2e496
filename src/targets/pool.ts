// The worker's targets: one instance (one connection/pool) per enabled ARN, shared by all activities.
import { retrySettingsOf, type RetrySettings } from '../config/retry';
import type { TargetEntry } from '../config/targets';
import { createTarget } from './registry';
import type { Health, Target } from './target';

export class TargetPool {
  private readonly targets = new Map<string, { target: Target; retry: RetrySettings }>();

  /** Creates every enabled target; a bad config throws here, at worker start, naming the ARN and field. */
  constructor(entries: TargetEntry[]) {
    for (const entry of entries) {
      if (!entry.enabled) continue;
      this.targets.set(entry.arn, { target: createTarget(entry), retry: retrySettingsOf(entry.config) });
    }
  }

  get(arn: string): Target | undefined {
    return this.targets.get(arn)?.target;
  }

  /** Undefined for an ARN this worker does not have (disabled or unknown). */
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
    await Promise.allSettled([...this.targets.values()].map(({ target }) => target.close()));
  }
}
