export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter: a random delay between 0 and min(max, base * 2^(attempt-1)).
 * Full jitter spreads retries of many clients best (AWS Architecture Blog, "Exponential Backoff And
 * Jitter", 2015). `random` is a parameter so the maths can be tested.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryWait {
  /** Asked for by the other side (`Retry-After`), in ms. */
  retryAfterMs?: number | null;
  /** Cloudflare reported an overload: wait the longest backoff rather than a random part of it. */
  overloaded?: boolean;
  /** Time left before the attempt's deadline; the wait never runs past it. */
  remainingMs?: number;
}

/**
 * How long to wait before the next try: the jittered backoff, or what the other side asked for if that is
 * longer, never more than `maxDelayMs` and never past the deadline.
 */
export function retryDelay(attempt: number, policy: BackoffPolicy, wait: RetryWait = {}, random: () => number = Math.random): number {
  let delay = wait.overloaded ? policy.maxDelayMs : backoffDelay(attempt, policy, random);
  if (wait.retryAfterMs !== undefined && wait.retryAfterMs !== null) delay = Math.max(delay, wait.retryAfterMs);
  delay = Math.min(delay, policy.maxDelayMs);
  if (wait.remainingMs !== undefined) delay = Math.min(delay, Math.max(0, wait.remainingMs));
  return delay;
}
