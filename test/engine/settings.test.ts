/**
 * How a pipeline's definition and the Worker's variables become its settings, and the errors a bad
 * configuration gives. The default pipeline reads PIPELINE_CRON, PIPELINE_SOURCE_URL and PIPELINE_CONFIG
 * as the seed's single pipeline always did.
 */
import { describe, expect, it } from "vitest";
import { declaredSchedule, resolveSettings } from "../../src/engine/settings";
import type { ReadingsConfig } from "../../src/pipelines/default/config";
import defaultPipeline from "../../src/pipelines/default/pipeline";

const readSettings = (env: Record<string, unknown>, _name: string) => resolveSettings(defaultPipeline, env);

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
        config: { thresholds: { medium: 100, high: 200 } },
        destination: { uri: "d1://scheduled-pipeline/metrics", table: "metrics", key: ["pipeline", "id"], duplicates: "reject" },
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
        secrets: [],
        crossOrigin: "strip-headers",
        pagination: { type: "none" },
        maxPages: 100,
        timeoutMs: 10_000,
        csvDelimiter: ",",
        csvQuoteErrors: "fail",
        csvMaxRecordLines: 1,
      },
    ]);
  });

  it.each([
    [{ PIPELINE_SOURCE_URL: "ftp://example.com/x" }, "PIPELINE_SOURCE_URL must be empty (to use the pipeline's declared sources) or an http(s) URL"],
    [{ PIPELINE_SOURCE_URL: "not a url" }, "PIPELINE_SOURCE_URL must be empty (to use the pipeline's declared sources) or an http(s) URL"],
    [{ PIPELINE_CRON: "" }, 'PIPELINE_CRON is empty; set a 5-field cron expression such as "0 3 * * *"'],
  ])("refuses %j", (override, message) => {
    expect(readSettings({ ...base, ...override }, "default")).toEqual({ ok: false, errors: [message] });
  });

  it("refuses a cron expression croner cannot read, naming the variable", () => {
    const result = readSettings({ ...base, PIPELINE_CRON: "99 3 * * *" }, "default");
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toBe('PIPELINE_CRON: cron "99 3 * * *": the minute field 99 is out of range 0-59');
  });
});

describe("PIPELINE_CONFIG", () => {
  it("defaults every knob", () => {
    const result = readSettings(base, "default");
    expect(result.ok && result.settings).toMatchObject({
      chunkRecords: 20_000,
      retry: { stage: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 10_000 }, source: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 10_000 }, alerts: { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 30_000 } },
      stageTimeoutMs: 600_000,
      stall: { stallTimeoutMs: 120_000, maxResumes: 3 },
      watchdogIntervalMs: 30_000,
      historyLimit: 1_000,
    });
  });

  it("reads named retry policies: the flat keys set all three, a named one changes only itself", () => {
    const result = readSettings({ ...base, PIPELINE_CONFIG: { retries: { maxAttempts: 4, source: { maxAttempts: 6, maxDelayMs: 100 } } } }, "default");
    expect(result.ok && result.settings.retry).toEqual({
      stage: { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 10_000 },
      source: { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 100 },
      alerts: { maxAttempts: 4, baseDelayMs: 1_000, maxDelayMs: 30_000 },
    });
    const unknown = readSettings({ ...base, PIPELINE_CONFIG: { retries: { webhook: { maxAttempts: 2 } } } }, "default");
    expect(!unknown.ok && unknown.errors[0]).toMatch(/retries/);
  });

  it("accepts an object or JSON text", () => {
    for (const config of [{ retries: { maxAttempts: 5 }, history: { maxRuns: 10 } }, '{"retries":{"maxAttempts":5},"history":{"maxRuns":10}}']) {
      const result = readSettings({ ...base, PIPELINE_CONFIG: config }, "default");
      expect(result.ok && [result.settings.retry.stage.maxAttempts, result.settings.retry.alerts.maxAttempts, result.settings.historyLimit]).toEqual([5, 5, 10]);
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
        { type: "http", name: "api", url: "https://api.example.com/v1/readings", format: "json", recordsPath: "data", pagination: { type: "cursor-field", field: "next_cursor", param: "cursor" }, headers: { Authorization: "Bearer {{SOURCE_TOKEN}}" }, secrets: ["SOURCE_TOKEN"], maxPages: 50 },
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
    const { sources, watermark, parallelism, csvColumns } = result.settings;
    const { fields, thresholds, validation: rules } = result.settings.config as ReadingsConfig;
    expect(sources.map((source) => [source.name, source.kind, (source as { format?: string }).format ?? null])).toEqual([
      ["api", "http", "json"],
      ["fallback-1", "http", "csv"],
      ["fallback-2", "sample", null],
    ]);
    expect(sources[0]).toMatchObject({ headers: { Authorization: "Bearer {{SOURCE_TOKEN}}" }, maxPages: 50, timeoutMs: 10_000 });
    expect(sources[1]).toMatchObject({ timeoutMs: 30_000, pagination: { type: "link-header" } });
    expect(fields).toEqual({ id: "sensor_id", value: "reading", timestamp: "timestamp", type: "metadata.type" });
    expect(thresholds).toEqual({ medium: 10, high: 20 });
    expect(rules).toMatchObject({ value: { min: 0 }, allowedTypes: ["temp"], requiredFields: ["site"], rejectDuplicates: true });
    expect(watermark).toEqual({ column: "timestamp", param: "since", format: "iso" });
    expect(parallelism).toEqual({ transform: 2, load: 4 });
    expect(csvColumns).toEqual(["sensor_id", "reading", "timestamp"]);
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
    [{ sources: [{ type: "http", url: "https://x.example", format: "csv", csvDelimiter: "::" }] }, "PIPELINE_CONFIG.sources[0].csvDelimiter: must be one character"],
    [{ sources: [{ type: "http", url: "https://x.example", csvQuoteErrors: "guess" }] }, "PIPELINE_CONFIG.sources[0].csvQuoteErrors: Invalid option"],
    [{ maxRecordBytes: 10 }, "PIPELINE_CONFIG.maxRecordBytes: Too small"],
    [{ sources: [{ type: "http", url: "https://x.example", format: "csv", csvDelimiter: '"' }] }, "PIPELINE_CONFIG.sources[0].csvDelimiter: may not be a quote or a line break"],
    [{ sources: [{ type: "http", url: "https://x.example", format: "csv", csvDelimiter: "\n" }] }, "PIPELINE_CONFIG.sources[0].csvDelimiter: may not be a quote or a line break"],
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

describe("source secrets and URLs", () => {
  const withSource = (source: Record<string, unknown>) => readSettings({ ...base, PIPELINE_CONFIG: { sources: [{ type: "http", ...source }] } }, "default");
  const errors = (result: ReturnType<typeof withSource>) => (result.ok ? [] : result.errors);

  it("refuses user:password@ in a source URL, saying to use a header", () => {
    expect(errors(withSource({ url: "https://bob:hunter2@api.example.com/x" }))).toEqual([
      'PIPELINE_CONFIG.sources[0].url: must not carry credentials (user:password@); send them in a header, e.g. headers: { "Authorization": "Basic {{SOURCE_AUTH}}" } with secrets: ["SOURCE_AUTH"]',
    ]);
    const shorthand = readSettings({ ...base, PIPELINE_SOURCE_URL: "https://bob:hunter2@api.example.com/x" }, "default");
    expect(!shorthand.ok && shorthand.errors[0]).toMatch(/^PIPELINE_SOURCE_URL must not carry credentials/);
    expect(JSON.stringify(shorthand)).not.toContain("hunter2");
  });

  it("refuses a placeholder in PIPELINE_SOURCE_URL, which has nowhere to declare its secret, as an error (not a crash)", () => {
    expect(readSettings({ ...base, PIPELINE_SOURCE_URL: "https://api.example.com/x/{{TOKEN}}" }, "default")).toEqual({
      ok: false,
      errors: ["PIPELINE_SOURCE_URL may not use {{placeholders}}; configure the source in PIPELINE_CONFIG.sources, with its secrets"],
    });
  });

  it("accepts placeholders in the URL's path and query, declared as secrets", () => {
    const result = withSource({ url: "https://api.example.com/{{ACCOUNT}}/x?key={{SOURCE_KEY}}", secrets: ["ACCOUNT", "SOURCE_KEY"] });
    expect(result.ok && result.settings.sources[0]).toMatchObject({ url: "https://api.example.com/{{ACCOUNT}}/x?key={{SOURCE_KEY}}", secrets: ["ACCOUNT", "SOURCE_KEY"] });
  });

  it.each([
    [{ url: "https://api.example.com/x?key={{SOURCE_KEY}}" }, 'PIPELINE_CONFIG.sources[0].url: url uses {{SOURCE_KEY}}, which is not in this source\'s secrets (add "secrets": ["SOURCE_KEY"])'],
    [{ url: "https://api.example.com/x", headers: { "X-Api-Key": "{{API_TOKEN}}" } }, "PIPELINE_CONFIG.sources[0].headers: headers.X-Api-Key uses {{API_TOKEN}}, which is not in this source's secrets"],
    [{ url: "https://api.example.com/x", secrets: ["API_TOKEN"] }, "PIPELINE_CONFIG.sources[0].secrets[0]: is the service's own secret; a source may not use API_TOKEN or ALERT_WEBHOOK_URL"],
    [{ url: "https://api.example.com/x", secrets: ["ALERT_WEBHOOK_URL"] }, "is the service's own secret"],
    [{ url: "https://api.example.com/x", secrets: ["not a name"] }, "PIPELINE_CONFIG.sources[0].secrets[0]: must be a variable name"],
    [{ url: "https://{{HOST}}/x", secrets: ["HOST"] }, "PIPELINE_CONFIG.sources[0].url: may use {{placeholders}} in its path and query only, not in its host"],
  ])("refuses %j", (source, message) => {
    expect(errors(withSource(source)).join("\n")).toContain(message);
  });
});

describe("declaredSchedule", () => {
  it("reads what a misconfigured pipeline configures: its cron variable as given, the zone its config asks for", () => {
    const env = { ...base, PIPELINE_CRON: "0 3 * *", PIPELINE_CONFIG: JSON.stringify({ schedule: { timezone: "America/New_York" } }) };
    expect(resolveSettings(defaultPipeline, env).ok).toBe(false);
    expect(declaredSchedule(defaultPipeline, env)).toEqual({ cron: "0 3 * *", every: null, timezone: "America/New_York" });
    // A config that is an object (wrangler.jsonc), or not JSON at all.
    expect(declaredSchedule(defaultPipeline, { ...base, PIPELINE_CONFIG: { schedule: { timezone: "Europe/Berlin" } } }).timezone).toBe("Europe/Berlin");
    expect(declaredSchedule(defaultPipeline, { ...base, PIPELINE_CONFIG: "{not json" })).toEqual({ cron: "0 3 * * *", every: null, timezone: "UTC" });
    expect(declaredSchedule(defaultPipeline, { ...base, PIPELINE_CRON: "  " }).cron).toBe("0 3 * * *");
  });
});
