/** Which runs warrant an alert, and what the message says (check alerts with their figures). */
import { describe, expect, it } from "vitest";
import { alertMessage, latenessMessage } from "../../src/alerts/messages";
import { alertFor, alertsFor } from "../../src/domain/alerts";
import { checkReport, type CheckResult } from "../../src/domain/check-results";
import { checksJudged, completeRun, stageFailed, stageStarted, startRun, cancelRun, type Run } from "../../src/domain/run";

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

/** Check results as a run keeps them. */
const result = (name: string, changes: Partial<CheckResult> = {}): CheckResult => ({ name, type: "row_count", severity: "error", outcome: "passed", expected: "at least 3 rows", found: "5 rows", offending: null, sample: [], ...changes });
const rejectRate = result("reject_rate", { type: "reject_rate", outcome: "failed", expected: "at most 5 % of the extracted records rejected", found: "20 % (2 of 10)" });
const currency = result("accepted_values(currency)", {
  type: "accepted_values",
  outcome: "failed",
  expected: 'currency in ["EUR","USD"]',
  found: "4 offending rows",
  offending: 4,
  sample: [
    { position: 3, id: "berlin/1004", values: { currency: "XYZ" } },
    { position: 5, id: "berlin/1006", values: { currency: "<!channel>" } },
    { position: 6, id: "berlin/1007", values: { currency: "x".repeat(100) } },
    { position: 9, id: "berlin/1010", values: { currency: null } },
  ],
});
const lowCount = result("row_count", { severity: "warn", outcome: "failed", expected: "at least 50 % of the usual 10 rows (≥ 5)", found: "2 rows" });

/** A run that went through transform and had its checks judged: blocked (failed) or loaded (succeeded). */
function judged(results: CheckResult[], changes: Partial<Run> = {}): Run {
  const transformed = { ...fresh, ...changes, stages: fresh.stages.map((stage) => (stage.name === "load" ? stage : { ...stage, status: "succeeded" as const })) };
  const run = checksJudged(transformed, checkReport(results, 1_300), 1_300);
  return run.status === "failed" ? run : completeRun({ ...run, stages: run.stages.map((stage) => ({ ...stage, status: "succeeded" as const })) }, 1_500);
}

describe("check alerts", () => {
  it("a run its error checks blocked alerts check_failed, instead of run_failed: one alert per cause", () => {
    const blocked = judged([rejectRate, result("not_null(store)")]);
    expect(blocked).toMatchObject({ status: "failed", errorCode: "checks_failed" });
    expect(alertFor(blocked, null)).toBe("check_failed");
    expect(alertsFor(blocked, "succeeded")).toEqual(["check_failed"]);
    // A run that failed otherwise (in extract) still alerts run_failed.
    expect(alertsFor(failed, null)).toEqual(["run_failed"]);
  });

  it("a run that loaded with failed warn checks, or accepted error checks, alerts check_warned", () => {
    expect(alertsFor(judged([lowCount]), "succeeded")).toEqual(["check_warned"]);
    const accepted = judged([{ ...rejectRate, accepted: { by: "alice", at: 1_250, retryOf: "manual-0" } }], { trigger: "retry" });
    expect(accepted.status).toBe("succeeded");
    // Recovered after the blocked run, and loaded despite a failure: both causes are said.
    expect(alertsFor(accepted, "failed")).toEqual(["run_recovered", "check_warned"]);
    expect(alertsFor(judged([result("row_count")]), "succeeded")).toEqual([]);
    // A skipped check warns of nothing, and a backfill's runs alert nothing one by one.
    expect(alertsFor(judged([result("row_count", { severity: "warn", outcome: "skipped" })]), "succeeded")).toEqual([]);
    expect(alertsFor(judged([lowCount], { trigger: "backfill" }), "succeeded")).toEqual([]);
  });

  it("check_failed names the checks that blocked the load with expected, found and the first offending records", () => {
    const blocked = judged([rejectRate, currency, lowCount, result("not_null(store)")]);
    const message = alertMessage(blocked, "check_failed", "https://x.example/api/pipelines/orders/runs/manual-1");
    expect(message.text).toBe(
      ":no_entry: Pipeline *default*: run manual-1 was blocked by 2 failed checks before load, and nothing was written: " +
        "reject_rate: expected at most 5 % of the extracted records rejected, found 20 % (2 of 10); " +
        `accepted_values(currency): expected currency in ["EUR","USD"], found 4 offending rows (position 3 berlin/1004 currency="XYZ"; position 5 berlin/1006 currency="&lt;!channel&gt;"; position 6 berlin/1007 currency="${"x".repeat(58)}…; +1 more); ` +
        "also failed (warn): row_count. extracted 0, loaded 0, rejected 0. <https://x.example/api/pipelines/orders/runs/manual-1|details>",
    );
    expect(message).toMatchObject({ event: "check_failed", status: "failed", stage: null, error: expect.stringMatching(/^checks failed: reject_rate: /) });
    expect(message.checks).toEqual([
      { name: "reject_rate", type: "reject_rate", severity: "error", blocking: true, expected: rejectRate.expected, found: "20 % (2 of 10)", offending: null, sample: [], accepted: null },
      { name: "accepted_values(currency)", type: "accepted_values", severity: "error", blocking: true, expected: currency.expected, found: "4 offending rows", offending: 4, sample: currency.sample, accepted: null },
      { name: "row_count", type: "row_count", severity: "warn", blocking: false, expected: lowCount.expected, found: "2 rows", offending: null, sample: [], accepted: null },
    ]);
  });

  it("check_warned names what it loaded despite, and who accepted a failure", () => {
    const accepted = judged([lowCount, { ...rejectRate, accepted: { by: "alice", at: 1_250, retryOf: "manual-0" } }], { trigger: "retry" });
    const message = alertMessage(accepted, "check_warned", "/api/pipeline/runs/manual-1");
    expect(message.text).toBe(
      ":large_yellow_circle: Pipeline *default*: run manual-1 loaded with 2 failed checks: " +
        "row_count (warn): expected at least 50 % of the usual 10 rows (≥ 5), found 2 rows; " +
        "reject_rate (error, accepted by alice on the retry of manual-0): expected at most 5 % of the extracted records rejected, found 20 % (2 of 10). " +
        "extracted 0, loaded 0, rejected 0. (/api/pipeline/runs/manual-1)",
    );
    expect(message.checks?.map((check) => [check.name, check.blocking, check.accepted])).toEqual([
      ["row_count", false, null],
      ["reject_rate", false, { by: "alice", at: 1_250, retryOf: "manual-0" }],
    ]);
    // Other alerts carry no checks.
    expect(alertMessage(accepted, "run_recovered", "/x")).not.toHaveProperty("checks");
  });

  it("lists five checks in the text and counts the rest; the structured field has them all", () => {
    const many = Array.from({ length: 7 }, (_, index) => result(`custom_${index}`, { type: "custom", outcome: "failed", expected: "ok", found: "not ok" }));
    const message = alertMessage(judged(many), "check_failed", "/x");
    expect(message.text).toMatch(/custom_4: expected ok, found not ok; and 2 more\. extracted/);
    expect(message.checks).toHaveLength(7);
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
