/** Which failures are retried (transient) and which fail a stage at once (permanent), and how long to wait between tries. */
import { describe, expect, it } from "vitest";
import { backoffDelay, retryDelay } from "../../src/domain/backoff";
import { classifyError, classifyErrorMessage, classifyHttpStatus, parseRetryAfter, StageFailure } from "../../src/domain/failures";

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
  it.each([
    "D1_ERROR: no such table: metrics",
    "SQLITE_CONSTRAINT: NOT NULL constraint failed",
    "staged chunk runs/x is missing",
    "Unexpected token < in JSON",
    "Durable Object's isolate exceeded its memory limit and was reset.",
    "Worker exceeded memory limit.",
  ])("does not retry %j", (message) => {
    expect(classifyErrorMessage(message)).toBe("permanent");
  });
});

describe("classifyError reads the error's properties before its message", () => {
  const withProperties = (message: string, properties: Record<string, unknown>) => Object.assign(new Error(message), properties);

  it("retries an error Cloudflare marks retryable, whatever it says", () => {
    expect(classifyError(withProperties("something odd happened", { retryable: true }))).toMatchObject({ kind: "transient", overloaded: false });
  });
  it("retries an overloaded one, but only after the longest backoff", () => {
    expect(classifyError(withProperties("Durable Object is overloaded", { overloaded: true }))).toMatchObject({ kind: "transient", overloaded: true });
  });
  it("uses an HTTP status when there is one", () => {
    expect(classifyError(withProperties("whatever", { status: 503 })).kind).toBe("transient");
    expect(classifyError(withProperties("network timeout", { status: 404 })).kind).toBe("permanent");
  });
  it("never retries running out of memory, even when marked retryable", () => {
    expect(classifyError(withProperties("Durable Object's isolate exceeded its memory limit and was reset.", { retryable: true }))).toMatchObject({ kind: "permanent", memory: true });
  });
  it("keeps a StageFailure's own verdict", () => {
    expect(classifyError(new StageFailure("timed out", "permanent")).kind).toBe("permanent");
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-28T12:00:00Z");
  it.each([
    ["3", 3_000],
    [" 120 ", 120_000],
    ["Sat, 28 Nov 2026 12:00:05 GMT", 5_000],
    ["Sat, 28 Nov 2026 11:00:00 GMT", 0],
    ["soon", null],
    [null, null],
  ])("%j → %j ms", (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms);
  });
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

describe("retryDelay", () => {
  const policy = { baseDelayMs: 500, maxDelayMs: 10_000 };
  const half = () => 0.5;
  it("waits as long as Retry-After asks when that is longer than the backoff", () => {
    expect(retryDelay(1, policy, { retryAfterMs: 4_000 }, half)).toBe(4_000);
    expect(retryDelay(1, policy, { retryAfterMs: 10 }, half)).toBe(250);
  });
  it("never waits longer than maxDelayMs, nor past the deadline", () => {
    expect(retryDelay(1, policy, { retryAfterMs: 3_600_000 }, half)).toBe(10_000);
    expect(retryDelay(1, policy, { retryAfterMs: 3_600_000, remainingMs: 1_500 }, half)).toBe(1_500);
    expect(retryDelay(1, policy, { remainingMs: -5 }, half)).toBe(0);
  });
  it("waits the longest backoff for an overloaded service", () => {
    expect(retryDelay(1, policy, { overloaded: true }, half)).toBe(10_000);
  });
});
