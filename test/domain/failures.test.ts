/** Which failures are retried (transient) and which fail a stage at once (permanent), and the backoff between tries. */
import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../src/domain/backoff";
import { classifyErrorMessage, classifyHttpStatus } from "../../src/domain/failures";

describe("classifyHttpStatus", () => {
  it.each([408, 429, 500, 502, 503, 504, 599])("retries HTTP %d", (status) => {
    expect(classifyHttpStatus(status)).toBe("transient");
  });
  it.each([400, 401, 403, 404, 410, 422])("does not retry HTTP %d", (status) => {
    expect(classifyHttpStatus(status)).toBe("permanent");
  });
});

describe("classifyErrorMessage", () => {
  it.each([
    "Network connection lost.",
    "D1_ERROR: D1 DB is overloaded. Requests queued for too long.",
    "SQLITE_BUSY: database is locked",
    "D1_ERROR: Database is busy, try again",
    "The operation timed out",
    "Durable Object reset because its code was updated.",
    "connection reset by peer",
    "Internal error; reference = 5u9ta4v",
  ])("retries %j", (message) => {
    expect(classifyErrorMessage(message)).toBe("transient");
  });
  it.each(["D1_ERROR: no such table: metrics", "SQLITE_CONSTRAINT: NOT NULL constraint failed", "staged chunk runs/x is missing", "Unexpected token < in JSON"])(
    "does not retry %j",
    (message) => {
      expect(classifyErrorMessage(message)).toBe("permanent");
    },
  );
});

describe("backoffDelay (full jitter)", () => {
  const policy = { baseDelayMs: 500, maxDelayMs: 10_000 };
  it("doubles the ceiling per attempt", () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, policy, () => 0.999999))).toEqual([499, 999, 1999, 3999]);
  });
  it("never exceeds the maximum", () => {
    expect(backoffDelay(20, policy, () => 0.999999)).toBe(9_999);
  });
  it("is a random fraction of the ceiling", () => {
    expect(backoffDelay(3, policy, () => 0.5)).toBe(1_000);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });
});
