/** How a pipeline's check results across runs are grouped for GET …/checks: by declared check, newest first, bounded. */
import { describe, expect, it } from "vitest";
import { checkHistory, type StoredCheckResult } from "../../src/domain/check-history";
import type { CheckResult } from "../../src/domain/check-results";

const result = (name: string, changes: Partial<CheckResult> = {}): CheckResult => ({ name, type: "row_count", severity: "error", outcome: "passed", expected: "at least 3 rows", found: "5 rows", offending: null, sample: [], ...changes });
const stored = (runId: string, startTime: number, entry: CheckResult, status: StoredCheckResult["status"] = "succeeded"): StoredCheckResult => ({ runId, startTime, status, result: entry });

describe("checkHistory", () => {
  const declared = [
    { name: "row_count", type: "row_count" as const, severity: "error" as const },
    { name: "not_null(store)", type: "not_null" as const, severity: "warn" as const },
  ];

  it("lists the declared checks in their order, each with its results newest first and their outcomes counted", () => {
    const view = checkHistory("orders", declared, [
      stored("manual-1", 1_000, result("row_count", { outcome: "failed", found: "2 rows" }), "failed"),
      stored("manual-3", 3_000, result("row_count")),
      stored("manual-3", 3_000, result("not_null(store)", { type: "not_null", severity: "warn", outcome: "failed", offending: 1, sample: [{ position: 1, id: "b", values: { store: null } }] })),
      stored("retry-2", 2_000, result("row_count", { outcome: "failed", found: "2 rows", accepted: { by: "alice", at: 1_900, retryOf: "manual-1" } })),
    ], 20);
    expect(view).toEqual({
      pipeline: "orders",
      limit: 20,
      checks: [
        {
          name: "row_count",
          type: "row_count",
          severity: "error",
          counts: { passed: 1, failed: 2, skipped: 0 },
          results: [
            { runId: "manual-3", startTime: 3_000, status: "succeeded", severity: "error", outcome: "passed", expected: "at least 3 rows", found: "5 rows", offending: null, accepted: null },
            { runId: "retry-2", startTime: 2_000, status: "succeeded", severity: "error", outcome: "failed", expected: "at least 3 rows", found: "2 rows", offending: null, accepted: { by: "alice", at: 1_900, retryOf: "manual-1" } },
            { runId: "manual-1", startTime: 1_000, status: "failed", severity: "error", outcome: "failed", expected: "at least 3 rows", found: "2 rows", offending: null, accepted: null },
          ],
        },
        {
          name: "not_null(store)",
          type: "not_null",
          severity: "warn",
          counts: { passed: 0, failed: 1, skipped: 0 },
          // The sample stays with the run.
          results: [{ runId: "manual-3", startTime: 3_000, status: "succeeded", severity: "warn", outcome: "failed", expected: "at least 3 rows", found: "5 rows", offending: 1, accepted: null }],
        },
      ],
    });
  });

  it("keeps at most `limit` results of each check, leaves out checks no longer declared, and lists a check never judged without results", () => {
    const runs = [1, 2, 3].map((n) => stored(`manual-${n}`, n * 1_000, result("row_count")));
    const view = checkHistory("orders", declared, [...runs, stored("manual-3", 3_000, result("renamed_away"))], 2);
    expect(view.checks.map((check) => [check.name, check.results.map((entry) => entry.runId)])).toEqual([
      ["row_count", ["manual-3", "manual-2"]],
      ["not_null(store)", []],
    ]);
    expect(checkHistory("default", [], runs, 20)).toEqual({ pipeline: "default", limit: 20, checks: [] });
  });

  it("orders runs that started in the same millisecond by id, newest id first, as the run history does", () => {
    const view = checkHistory("orders", declared.slice(0, 1), [stored("manual-1000", 1_000, result("row_count")), stored("retry-1000", 1_000, result("row_count"))], 20);
    expect(view.checks[0]!.results.map((entry) => entry.runId)).toEqual(["retry-1000", "manual-1000"]);
  });
});
