/** How the Worker's variables become a pipeline's settings, and the errors a bad configuration gives. */
import { describe, expect, it } from "vitest";
import { readSettings } from "../../src/config/settings";

const base = { PIPELINE_CRON: "0 3 * * *", PIPELINE_SOURCE_URL: "", D1_DATABASE_NAME: "scheduled-pipeline" };

describe("readSettings", () => {
  it("uses the built-in sample when PIPELINE_SOURCE_URL is empty", () => {
    const result = readSettings(base, "default");
    expect(result).toMatchObject({
      ok: true,
      settings: {
        pipeline: "default",
        schedule: { cron: "0 3 * * *", timezone: "UTC" },
        source: { kind: "sample" },
        thresholds: { medium: 100, high: 200 },
        destination: "d1://scheduled-pipeline/metrics",
      },
    });
  });

  it("reads an http(s) source with a timeout", () => {
    const result = readSettings({ ...base, PIPELINE_SOURCE_URL: "https://api.example.com/records" }, "default");
    expect(result.ok && result.settings.source).toEqual({ kind: "http", url: "https://api.example.com/records", timeoutMs: 10_000 });
  });

  it.each([
    [{ PIPELINE_SOURCE_URL: "ftp://example.com/x" }, "PIPELINE_SOURCE_URL must be empty (built-in sample) or an http(s) URL"],
    [{ PIPELINE_SOURCE_URL: "not a url" }, "PIPELINE_SOURCE_URL must be empty (built-in sample) or an http(s) URL"],
    [{ PIPELINE_CRON: "" }, 'PIPELINE_CRON is empty; set a 5-field cron expression such as "0 3 * * *"'],
  ])("refuses %j", (override, message) => {
    expect(readSettings({ ...base, ...override }, "default")).toEqual({ ok: false, errors: [message] });
  });

  it("refuses a cron expression croner cannot read, naming the variable", () => {
    const result = readSettings({ ...base, PIPELINE_CRON: "99 3 * * *" }, "default");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toMatch(/^PIPELINE_CRON: invalid cron "99 3 \* \* \*"/);
  });
});

describe("PIPELINE_CONFIG", () => {
  it("defaults every knob", () => {
    const result = readSettings(base, "default");
    expect(result.ok && result.settings).toMatchObject({
      chunkRecords: 5_000,
      retry: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 10_000 },
      stageTimeoutMs: 600_000,
      stall: { stallTimeoutMs: 120_000, maxResumes: 3 },
      watchdogIntervalMs: 30_000,
      historyLimit: 1_000,
    });
  });

  it("accepts an object or JSON text", () => {
    for (const config of [{ retries: { maxAttempts: 5 }, history: { maxRuns: 10 } }, '{"retries":{"maxAttempts":5},"history":{"maxRuns":10}}']) {
      const result = readSettings({ ...base, PIPELINE_CONFIG: config }, "default");
      expect(result.ok && [result.settings.retry.maxAttempts, result.settings.historyLimit]).toEqual([5, 10]);
    }
  });

  it.each([
    ["{not json", /^PIPELINE_CONFIG is not valid JSON: /],
    [{ retries: { maxAttempts: 0 } }, /^PIPELINE_CONFIG\.retries\.maxAttempts: Too small/],
    [{ retries: { tries: 2 } }, /^PIPELINE_CONFIG\.retries: Unrecognized key: "tries"/],
    [{ histroy: {} }, /^PIPELINE_CONFIG: Unrecognized key: "histroy"/],
    [{ timeouts: { stageMs: "10s" } }, /^PIPELINE_CONFIG\.timeouts\.stageMs: Invalid input: expected number/],
  ])("refuses %j naming the key", (config, message) => {
    const result = readSettings({ ...base, PIPELINE_CONFIG: config }, "default");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toMatch(message);
  });
});
