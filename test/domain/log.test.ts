/** Every log line is one JSON object with the same keys: level, time, event, pipeline, runId, stage. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { EVENTS } from "../../src/observability/events";
import { logEvent } from "../../src/observability/log";

afterEach(() => vi.restoreAllMocks());

describe("the event catalogue", () => {
  it("gives every event one level, and the level of a line is its event's", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    logEvent("run_cancelled", { pipeline: "default" });
    expect(JSON.parse(warn.mock.calls[0]![0] as string)).toMatchObject({ level: "warn", event: "run_cancelled" });
    expect(Object.values(EVENTS).every((level) => ["debug", "info", "warn", "error"].includes(level))).toBe(true);
    expect([EVENTS.run_started, EVENTS.run_failed, EVENTS.driver_error, EVENTS.invalid_definition]).toEqual(["debug", "warn", "error", "error"]);
  });
});

describe("logEvent", () => {
  it("writes one JSON line with pipeline, run and stage, null where not applicable", () => {
    const info = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    logEvent("run_succeeded", { pipeline: "default", runId: "manual-1", stage: "load", attempt: 2 });
    logEvent("unhandled_error", { pipeline: null });
    const first = JSON.parse(info.mock.calls[0]![0] as string);
    expect(first).toEqual({ level: "info", time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), event: "run_succeeded", pipeline: "default", runId: "manual-1", stage: "load", attempt: 2 });
    expect(JSON.parse(error.mock.calls[0]![0] as string)).toMatchObject({ level: "error", pipeline: null, runId: null, stage: null });
  });

  it("writes nothing below LOG_LEVEL (info by default), and debug lines when asked", () => {
    const debug = vi.spyOn(console, "debug").mockImplementation(() => undefined);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    vi.stubEnv("LOG_LEVEL", undefined);
    logEvent("stage_started", { pipeline: "default" });
    expect(debug).not.toHaveBeenCalled();
    vi.stubEnv("LOG_LEVEL", "debug");
    logEvent("stage_started", { pipeline: "default" });
    expect(JSON.parse(debug.mock.calls[0]![0] as string)).toMatchObject({ level: "debug", event: "stage_started" });
    vi.stubEnv("LOG_LEVEL", "warn");
    const info = vi.spyOn(console, "log").mockImplementation(() => undefined);
    logEvent("run_succeeded", { pipeline: "default" });
    logEvent("run_failed", { pipeline: "default" });
    expect(info).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledTimes(1);
    vi.unstubAllEnvs();
  });

  it("redacts URLs in field values and stays valid JSON whatever the text holds", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const error = 'the CSV header names the column "https://x.example" twice; the source https://a.example/x?token=t0ps3cret\\n answered "500"';
    logEvent("stage_failed", { pipeline: "default", error, nested: { url: "https://a.example/?api_key=k" } });
    const line = JSON.parse(warn.mock.calls[0]![0] as string);
    expect(line.error).toBe('the CSV header names the column "https://x.example" twice; the source https://a.example/x?token=***\\n answered "500"');
    expect(line.nested).toEqual({ url: "https://a.example/?api_key=***" });
  });
});
