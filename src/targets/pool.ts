// The worker's targets: one instance (one connection/pool) per enabled ARN, shared by all activities.
import type { TargetEntry } from '../config/targets';
import type { RetrySettings } from '../../workflows/types';
import { createTarget } from './registry';
import type { Health, Target } from './target';

const DEFAULT_RETRY: RetrySettings = {
  initialIntervalMs: 1_000,
  maxIntervalMs: 300_000,
  backoff: 2,
  maxDurationMs: 86_400_000,
};

export class TargetPool {
  private readonly targets = new Map<string, { target: Target; retry: RetrySettings }>();

  /** Creates every enabled target; a bad config throws here, at worker start, naming the ARN and field. */
  constructor(entries: TargetEntry[]) {
    for (const entry of entries) {
      if (!entry.enabled) continue;
      this.targets.set(entry.arn, { target: createTarget(entry), retry: retryOf(entry) });
    }
  }

  get arns(): string[] {
    return [...this.targets.keys()];
  }

  get(arn: string): Target | undefined {
    return this.targets.get(arn)?.target;
  }

  retryFor(arn: string): RetrySettings {
    return this.targets.get(arn)?.retry ?? DEFAULT_RETRY;
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

function retryOf({ config }: TargetEntry): RetrySettings {
  return {
    initialIntervalMs: config.retry_initial_interval_ms,
    maxIntervalMs: config.retry_max_interval_ms,
    backoff: config.retry_backoff,
    maxDurationMs: config.retry_max_duration_ms,
  };
}
