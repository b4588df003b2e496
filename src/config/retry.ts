// How hard a target is tried: the fast path's few in-worker attempts, then the durable retry schedule; and whether
// one object's events reach it in order (order: key), which changes the workflow that delivers them.
// One home for these settings: the config declares the parameters, the workflow only reads this shape.
import { normalize } from './params';
import { COMMON_PARAMS, type CommonConfig } from './targets';

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
