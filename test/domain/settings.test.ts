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
        schedule: { cron: "0 3 * * *", intervalMs: null, timezone: "UTC", enabled: true, missedRuns: "latest", maxCatchUp: 10 },
        sources: [{ kind: "sample", name: "primary" }],
        thresholds: { medium: 100, high: 200 },
        destination: "d1://scheduled-pipeline/metrics",
      },
    });
  });

  it("reads an http(s) source with a timeout", () => {
    const result = readSettings({ ...base, PIPELINE_SOURCE_URL: "https://api.example.com/records" }, "default");
    expect(result.ok && result.settings.sources).toEqual([
      {
        kind: "http",
        name: "primary",
        url: "https://api.example.com/records",
        format: "json",
        recordsPath: "",
        headers: {},
        pagination: { type: "none" },
        maxPages: 100,
        timeoutMs: 10_000,
        csvDelimiter: ",",
      },
    ]);
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
      chunkRecords: 20_000,
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

describe("PIPELINE_CONFIG sources and rules", () => {
  const withConfig = (config: unknown) => readSettings({ ...base, PIPELINE_CONFIG: config }, "default");

  it("reads an ordered list of sources with formats, pagination, headers and fallbacks", () => {
    const result = withConfig({
      sources: [
        { type: "http", name: "api", url: "https://api.example.com/v1/readings", format: "json", recordsPath: "data", pagination: { type: "cursor-field", field: "next_cursor", param: "cursor" }, headers: { Authorization: "Bearer {{SOURCE_TOKEN}}" }, maxPages: 50 },
        { type: "http", url: "https://mirror.example.com/readings.csv", format: "csv", pagination: { type: "link-header" }, timeoutMs: 30_000 },
        { type: "sample" },
      ],
      fields: { id: "sensor_id", value: "reading" },
      thresholds: { medium: 10, high: 20 },
      validation: { value: { min: 0 }, allowedTypes: ["temp"], requiredFields: ["site"] },
      watermark: { param: "since" },
      parallelism: { transform: 2, load: 4 },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { sources, fields, thresholds, rules, watermark, parallelism } = result.settings;
    expect(sources.map((source) => [source.name, source.kind, source.kind === "http" ? source.format : null])).toEqual([
      ["api", "http", "json"],
      ["fallback-1", "http", "csv"],
      ["fallback-2", "sample", null],
    ]);
    expect(sources[0]).toMatchObject({ headers: { Authorization: "Bearer {{SOURCE_TOKEN}}" }, maxPages: 50, timeoutMs: 10_000 });
    expect(sources[1]).toMatchObject({ timeoutMs: 30_000, pagination: { type: "link-header" } });
    expect(fields).toEqual({ id: "sensor_id", value: "reading", timestamp: "timestamp", type: "metadata.type" });
    expect(thresholds).toEqual({ medium: 10, high: 20 });
    expect(rules).toMatchObject({ value: { min: 0 }, allowedTypes: ["temp"], requiredFields: ["site"], rejectDuplicates: true });
    expect(watermark).toEqual({ param: "since", format: "iso" });
    expect(parallelism).toEqual({ transform: 2, load: 4 });
  });

  it.each([
    [{ sources: [] }, "PIPELINE_CONFIG.sources: needs at least one source"],
    [{ sources: [{ type: "http", url: "ftp://x" }] }, "PIPELINE_CONFIG.sources[0].url: must be an http(s) URL"],
    [{ sources: [{ type: "http", url: "https://x.example", format: "xml" }] }, "PIPELINE_CONFIG.sources[0].format: Invalid option"],
    [{ sources: [{ type: "http", url: "https://x.example", format: "csv", pagination: { type: "next-url-field", field: "next" } }] }, 'PIPELINE_CONFIG.sources[0].pagination: next-url-field pagination needs format "json"'],
    [{ sources: [{ type: "http", url: "https://x.example", pagination: { type: "cursor-field", field: "c", param: "c" } }] }, "PIPELINE_CONFIG.sources[0].recordsPath: cursor-field pagination needs recordsPath"],
    [{ sources: [{ type: "ftp" }] }, "PIPELINE_CONFIG.sources[0].type: Invalid discriminator value"],
    [{ thresholds: { medium: 300, high: 200 } }, "PIPELINE_CONFIG.thresholds: medium must not be above high"],
    [{ validation: { value: { min: 5, max: 1 } } }, "PIPELINE_CONFIG.validation.value: min must not be above max"],
    [{ parallelism: { load: 0 } }, "PIPELINE_CONFIG.parallelism.load: Too small"],
    [{ fields: { identifier: "x" } }, 'PIPELINE_CONFIG.fields: Unrecognized key: "identifier"'],
  ])("refuses %j naming the key", (config, message) => {
    const result = withConfig(config);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.join("\n")).toContain(message);
  });

  it("refuses PIPELINE_SOURCE_URL together with configured sources", () => {
    const result = readSettings({ ...base, PIPELINE_SOURCE_URL: "https://a.example", PIPELINE_CONFIG: { sources: [{ type: "sample" }] } }, "default");
    expect(result).toEqual({ ok: false, errors: ["set either PIPELINE_SOURCE_URL or PIPELINE_CONFIG.sources, not both"] });
  });
});
