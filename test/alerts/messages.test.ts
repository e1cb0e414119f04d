/** Which runs warrant an alert, and what the message says. */
import { describe, expect, it } from "vitest";
import { alertMessage, latenessMessage } from "../../src/alerts/messages";
import { alertFor } from "../../src/domain/alerts";
import { completeRun, stageFailed, stageStarted, startRun, cancelRun } from "../../src/domain/run";

const fresh = startRun({ runId: "manual-1", pipeline: "default", trigger: "manual", scheduledFor: null, destination: "d1://db/metrics", now: 1_000 });
const failed = stageFailed(stageStarted(fresh, "extract", 1_010), "extract", "the source answered HTTP 500", 1_200);

describe("alertFor", () => {
  it.each([
    ["failed", null, "run_failed"],
    ["cancelled", "succeeded", "run_cancelled"],
    ["succeeded after failed", "failed", "run_recovered"],
    ["succeeded after cancelled", "cancelled", "run_recovered"],
    ["succeeded after succeeded", "succeeded", null],
    ["succeeded as the first run", null, null],
  ] as const)("%s → %s", (label, previous, event) => {
    const run = label.startsWith("failed") ? failed : label.startsWith("cancelled") ? cancelRun(fresh, "stop", 1_100) : { ...fresh, status: "succeeded" as const, endTime: 1_500 };
    expect(alertFor(run, previous)).toBe(event);
  });

  it("a backfill's runs alert nothing one by one (the backfill alerts once when it ends with failures)", () => {
    expect(alertFor({ ...failed, trigger: "backfill" }, null)).toBeNull();
    expect(alertFor({ ...fresh, trigger: "backfill", status: "succeeded" as const, endTime: 1_500 }, "failed")).toBeNull();
  });

  it("is never sent for a running or skipped run", () => {
    expect(alertFor(fresh, "failed")).toBeNull();
    expect(alertFor({ ...fresh, status: "skipped" }, "failed")).toBeNull();
  });
});

describe("alertMessage", () => {
  it("keeps a relative status URL readable when no public base URL is configured", () => {
    const message = alertMessage(failed, "run_failed", "/api/pipeline/runs/manual-1");
    expect(message.text).toBe(
      ":red_circle: Pipeline *default*: run manual-1 failed in extract: extract stage failed: the source answered HTTP 500. extracted 0, loaded 0, rejected 0. (/api/pipeline/runs/manual-1)",
    );
    expect(message).toMatchObject({ stage: "extract", durationMs: 200, startedAt: "1970-01-01T00:00:01.000Z", finishedAt: "1970-01-01T00:00:01.200Z" });
  });

  it("has no error for a recovery", () => {
    const ok = completeRun({ ...fresh, stages: fresh.stages.map((stage) => ({ ...stage, status: "succeeded" as const })) }, 2_000);
    expect(alertMessage(ok, "run_recovered", "https://x.example/api/pipeline/runs/manual-1").text).toBe(
      ":large_green_circle: Pipeline *default*: run manual-1 succeeded again. extracted 0, loaded 0, rejected 0. <https://x.example/api/pipeline/runs/manual-1|details>",
    );
  });
});

describe("latenessMessage", () => {
  const slot = Date.parse("2026-11-28T03:00:00Z");
  it("names the late slots and their runs, with a link to the ledger", () => {
    const message = latenessMessage("orders", "run_late", [{ scheduledFor: slot, runId: "scheduled-1", status: "failed" }], "2h", "https://p.example/api/pipelines/orders/slots?from=2026-11-28T03:00:00.000Z");
    expect(message).toEqual({
      text: ":hourglass: Pipeline *orders*: slot had not succeeded 2h after the slot: 2026-11-28T03:00:00.000Z (run scheduled-1 failed). <https://p.example/api/pipelines/orders/slots?from=2026-11-28T03:00:00.000Z|ledger>",
      event: "run_late",
      pipeline: "orders",
      deadline: "2h",
      slots: [{ scheduledFor: "2026-11-28T03:00:00.000Z", runId: "scheduled-1", status: "failed" }],
      ledgerUrl: "https://p.example/api/pipelines/orders/slots?from=2026-11-28T03:00:00.000Z",
    });
  });

  it("counts what it does not list", () => {
    const slots = Array.from({ length: 12 }, (_, index) => ({ scheduledFor: slot + index * 3_600_000, runId: null, status: null }));
    const message = latenessMessage("orders", "slot_missed", slots, "1h", "/api/pipelines/orders/slots");
    expect(message.text).toMatch(/^:warning: Pipeline \*orders\*: 12 slots passed without any run: 2026-11-28T03:00:00.000Z, .* and 2 more\. \(\/api\/pipelines\/orders\/slots\)$/);
    expect(message.slots).toHaveLength(12);
  });
});
