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
