import { retryDelay, type BackoffPolicy, type RetryWait } from "./backoff";

/**
 * The three things the service tries again, each under its own named policy: a stage attempt (the run
 * driver), a request to a source (within one extract attempt), and an alert posted to a webhook. A
 * deployment tunes them apart (`retries.stage`, `retries.source`, `retries.alerts`; the flat
 * `retries.maxAttempts`… set all three), and each loop asks `nextTry` whether and when to go again.
 */
export const RETRY_POLICY_NAMES = ["stage", "source", "alerts"] as const;
export type RetryPolicyName = (typeof RETRY_POLICY_NAMES)[number];

export interface RetryPolicy extends BackoffPolicy {
  /** Tries in all, the first included. */
  maxAttempts: number;
}

export type RetryPolicies = Record<RetryPolicyName, RetryPolicy>;

export const DEFAULT_RETRY_POLICIES: RetryPolicies = {
  stage: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 10_000 },
  source: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 10_000 },
  // A webhook that rate-limits or restarts is often back within a minute; an alert waits for it longer.
  alerts: { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 30_000 },
};

/** What a failed try leads to: give up, or try again after `delayMs`. */
export type NextTry = { again: false } | { again: true; delayMs: number };

/**
 * After try `attempt` failed: another one only if the failure is worth it and tries are left, after the
 * policy's backoff (or what the other side asked for, within the policy and the time left).
 */
export function nextTry(policy: RetryPolicy, attempt: number, failure: { retryable: boolean } & RetryWait, random?: () => number): NextTry {
  if (!failure.retryable || attempt >= policy.maxAttempts) return { again: false };
  return { again: true, delayMs: retryDelay(attempt, policy, failure, random) };
}

/** Settings stored with runs started before the policies had names carried one policy for everything. */
export function upgradeRetryPolicies(stored: RetryPolicies | RetryPolicy | undefined): RetryPolicies {
  if (stored === undefined) return DEFAULT_RETRY_POLICIES;
  if ("maxAttempts" in stored) return { stage: stored, source: stored, alerts: stored };
  return stored;
}
