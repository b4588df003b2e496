// How hard a target is tried: the fast path's few in-worker attempts, then the durable retry schedule, where a
// delivery that still fails goes (its dead letter, with that target's own schedule), and whether one object's events
// reach it in order (order: key), which changes the workflow that delivers them.
// One home for these settings: the config declares the parameters, the workflow only reads this shape.
import { normalize } from './params';
import { COMMON_PARAMS, type CommonConfig, type TargetEntry } from './targets';

export interface RetrySettings {
  /** Attempts made as local activities in the event's first workflow task; 0 skips the fast path. */
  fastAttempts: number;
  /** Wait before the second fast attempt; later waits grow by `backoff`. */
  fastIntervalMs: number;
  /** The durable schedule (a regular activity) that takes over when the fast attempts failed. */
  initialIntervalMs: number;
  maxIntervalMs: number;
  backoff: number;
  maxDurationMs: number;
  /**
   * Set only for a target with `order: key`: its events go to the per-(target, object) workflow
   * (workflows/key-order.ts), each held `windowMs` for an older event of the object still on its way.
   */
  keyOrder?: { windowMs: number };
  /**
   * The target a delivery that failed for good is handed to, with its failure (the `dead_letter` parameter), and how
   * hard that target is tried. Absent: none (and in every delivery started before dead letters existed).
   */
  deadLetter?: DeadLetterRoute;
}

export interface DeadLetterRoute {
  arn: string;
  /** The dead-letter target's own durable schedule (its own dead letter is not followed: no hand-off is passed on). */
  retry: RetrySettings;
}

export function retrySettingsOf(config: CommonConfig): RetrySettings {
  return {
    fastAttempts: config.fast_attempts,
    fastIntervalMs: config.fast_retry_interval_ms,
    initialIntervalMs: config.retry_initial_interval_ms,
    maxIntervalMs: config.retry_max_interval_ms,
    backoff: config.retry_backoff,
    maxDurationMs: config.retry_max_duration_ms,
    ...(config.order === 'key' ? { keyOrder: { windowMs: config.order_window_ms } } : {}),
  };
}

/** The declared defaults, for an ARN the rules name but this process has no config for. */
export const DEFAULT_RETRY: RetrySettings = retrySettingsOf(normalize(COMMON_PARAMS, {}, 'defaults'));

/** Each target's settings by ARN, with its dead letter when both are enabled (the loader checked the rest). */
export function retrySettingsByArn(entries: readonly TargetEntry[]): Map<string, RetrySettings> {
  const enabled = new Map(entries.filter((entry) => entry.enabled).map((entry) => [entry.arn, entry]));
  const settings = new Map<string, RetrySettings>();
  for (const entry of entries) {
    const to = entry.enabled ? enabled.get(entry.config.dead_letter) : undefined;
    const deadLetter = to && { arn: to.arn, retry: retrySettingsOf(to.config) };
    settings.set(entry.arn, { ...retrySettingsOf(entry.config), ...(deadLetter ? { deadLetter } : {}) });
  }
  return settings;
}
