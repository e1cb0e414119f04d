/** Named retry policies: whether a failed try is tried again, when, and how settings from before names read. */
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICIES, nextTry, upgradeRetryPolicies } from "../../src/domain/retry-policy";

const policy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 };

describe("nextTry", () => {
  it("tries again while attempts are left and the failure is worth it, after the jittered backoff", () => {
    expect(nextTry(policy, 1, { retryable: true }, () => 0.5)).toEqual({ again: true, delayMs: 50 });
    expect(nextTry(policy, 2, { retryable: true }, () => 0.5)).toEqual({ again: true, delayMs: 100 });
    expect(nextTry(policy, 3, { retryable: true })).toEqual({ again: false });
    expect(nextTry(policy, 1, { retryable: false })).toEqual({ again: false });
  });

  it("waits what the other side asks, within the policy's longest wait and the time left", () => {
    expect(nextTry(policy, 1, { retryable: true, retryAfterMs: 800 }, () => 0)).toEqual({ again: true, delayMs: 800 });
    expect(nextTry(policy, 1, { retryable: true, retryAfterMs: 60_000 }, () => 0)).toEqual({ again: true, delayMs: 1_000 });
    expect(nextTry(policy, 1, { retryable: true, retryAfterMs: 800, remainingMs: 300 }, () => 0)).toEqual({ again: true, delayMs: 300 });
    expect(nextTry(policy, 1, { retryable: true, overloaded: true }, () => 0)).toEqual({ again: true, delayMs: 1_000 });
  });
});

describe("upgradeRetryPolicies", () => {
  it("reads the one policy of settings stored before policies had names as all three", () => {
    expect(upgradeRetryPolicies(policy)).toEqual({ stage: policy, source: policy, alerts: policy });
    expect(upgradeRetryPolicies(undefined)).toEqual(DEFAULT_RETRY_POLICIES);
    expect(upgradeRetryPolicies(DEFAULT_RETRY_POLICIES)).toBe(DEFAULT_RETRY_POLICIES);
  });
});
