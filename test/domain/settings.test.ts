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
