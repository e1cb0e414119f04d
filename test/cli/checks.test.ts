/**
 * Dataset checks in the CLI: a run's results in `status` (✓ ✗ –, severity, expected and found, the first
 * offending positions, who accepted a failure, and how to go on from a blocked run), `checks` with each
 * check's results across runs, and `retry --accept-check … --from-stage …` sending what the API takes.
 */
import { describe, expect, it } from "vitest";
import { cli } from "./run-cli";
import { checkHistoryLines, checkLines } from "../../src/cli/checks";
import { EXIT } from "../../src/cli/exit-codes";
import type { ChecksView } from "../../src/domain/check-history";
import { checkReport, type CheckResult } from "../../src/domain/check-results";
import { checksSummary, offendingText } from "../../src/display/checks";
import { time } from "../../src/display/format";
import { checksJudged, stageSucceeded, stageStarted, startRun } from "../../src/domain/run";
import { toRunView } from "../../src/domain/run-view";

const at = (ms: number) => time(ms, "UTC");
const result = (name: string, changes: Partial<CheckResult> = {}): CheckResult => ({ name, type: "row_count", severity: "error", outcome: "passed", expected: "at least 3 rows", found: "5 rows", offending: null, sample: [], ...changes });
const rejectRate = result("reject_rate", { type: "reject_rate", outcome: "failed", expected: "at most 5 % of the extracted records rejected", found: "20 % (2 of 10)" });
const currency = result("accepted_values(currency)", {
  type: "accepted_values",
  outcome: "failed",
  expected: 'currency in ["EUR"]',
  found: "7 offending rows",
  offending: 7,
  sample: [1, 3, 4, 6, 7, 8].map((position) => ({ position, id: `berlin/${1000 + position}`, values: { currency: "XYZ" } })),
});
const usual = result("row_count", { severity: "warn", outcome: "skipped", expected: "a share of the usual count (no successful run yet to compare with)", found: "7 rows" });

/** The orders run whose transform is done, its checks judged. */
function judged(results: CheckResult[]) {
  const run = startRun({ runId: "manual-1", pipeline: "orders", trigger: "manual", scheduledFor: null, destination: "d1://db/orders", now: 0 });
  const counts = { inputCount: 10, outputCount: 10, rejectedCount: 0, output: [], rejected: { keys: [], counts: [], count: 0 }, rejectedSample: [] };
  const transformed = stageSucceeded(stageStarted(stageSucceeded(stageStarted(run, "extract", 0), "extract", counts, 10), "transform", 10), "transform", counts, 20);
  return toRunView(checksJudged(transformed, checkReport(results, 30), 30));
}

describe("a run's checks", () => {
  it("a blocked run: the summary, a line per check, and how to load it anyway or judge a new batch", () => {
    expect(checkLines(judged([rejectRate, currency, usual]), at)).toEqual([
      "checks: blocked the load: 2 of 3 checks failed with severity error, nothing was written",
      "  ✗ reject_rate                error  expected at most 5 % of the extracted records rejected, found 20 % (2 of 10)",
      '  ✗ accepted_values(currency)  error  expected currency in ["EUR"], found 7 offending rows · 7 offending, first at positions 1 (berlin/1001), 3 (berlin/1003), 4 (berlin/1004), 6 (berlin/1006), 7 (berlin/1007), +2 more',
      "  – row_count                  warn   expected a share of the usual count (no successful run yet to compare with), found 7 rows",
      "to load this batch anyway: npm run pipeline -- retry manual-1 --pipeline orders --accept-check reject_rate --accept-check 'accepted_values(currency)'",
      "to judge a new batch after a fix: npm run pipeline -- retry manual-1 --pipeline orders --from-stage transform",
    ]);
  });

  it("a retry that accepted a failure says who and when; a run without checks shows none", () => {
    const accepted = judged([result("row_count"), { ...rejectRate, accepted: { by: "alice", at: Date.parse("2026-12-01T10:00:00Z"), retryOf: "manual-0" } }]);
    expect(checkLines(accepted, at)).toEqual([
      "checks: 2 checks: 1 passed, 1 failed (1 accepted on a retry)",
      "  ✓ row_count    error  expected at least 3 rows, found 5 rows",
      "  ✗ reject_rate  error  expected at most 5 % of the extracted records rejected, found 20 % (2 of 10) · accepted by alice at 2026-12-01 10:00:00Z on the retry of manual-0",
    ]);
    expect(checkLines({ ...accepted, checks: undefined }, at)).toEqual([]);
  });

  it("words the offending records and the report", () => {
    expect(offendingText({ offending: 1, sample: [{ position: 0, id: "a", values: {} }] })).toBe("1 offending, first at position 0 (a)");
    expect(offendingText({ offending: 1_200, sample: [] })).toBe("1,200 offending");
    expect(offendingText({ offending: 0, sample: [] })).toBeNull();
    expect(offendingText({ offending: null, sample: [] })).toBeNull();
    expect(checksSummary(checkReport([result("row_count"), usual], 0))).toBe("2 checks: 1 passed, 0 failed, 1 skipped");
  });
});

const view: ChecksView = {
  pipeline: "orders",
  limit: 20,
  checks: [
    {
      name: "reject_rate",
      type: "reject_rate",
      severity: "error",
      counts: { passed: 1, failed: 2, skipped: 0 },
      results: [
        { runId: "retry-3", startTime: Date.parse("2026-12-01T11:00:00Z"), status: "succeeded", severity: "error", outcome: "failed", expected: "at most 5 %", found: "20 % (2 of 10)", offending: null, accepted: { by: "alice", at: Date.parse("2026-12-01T11:00:00Z"), retryOf: "manual-2" } },
        { runId: "manual-2", startTime: Date.parse("2026-12-01T10:00:00Z"), status: "failed", severity: "error", outcome: "failed", expected: "at most 5 %", found: "20 % (2 of 10)", offending: null, accepted: null },
        { runId: "manual-1", startTime: Date.parse("2026-12-01T09:00:00Z"), status: "succeeded", severity: "error", outcome: "passed", expected: "at most 5 %", found: "0 % (0 of 10)", offending: null, accepted: null },
      ],
    },
    { name: "known_store", type: "relationship", severity: "warn", counts: { passed: 0, failed: 0, skipped: 0 }, results: [] },
  ],
};

describe("checks", () => {
  it("lists each check with its newest outcome and tally, then a row per run", () => {
    expect(checkHistoryLines(view, at)).toEqual([
      "orders: 2 checks, the newest 20 results of each",
      "",
      "✗ reject_rate · reject_rate · error · last 3: 1 passed, 2 failed",
      "  RUN       STARTED               STATUS     OUTCOME   EXPECTED     FOUND           OFFENDING  ACCEPTED",
      "  retry-3   2026-12-01 11:00:00Z  succeeded  ✗ failed  at most 5 %  20 % (2 of 10)  -          accepted by alice at 2026-12-01 11:00:00Z on the retry of manual-2",
      "  manual-2  2026-12-01 10:00:00Z  failed     ✗ failed  at most 5 %  20 % (2 of 10)  -          -",
      "  manual-1  2026-12-01 09:00:00Z  succeeded  ✓ passed  at most 5 %  0 % (0 of 10)   -          -",
      "",
      "· known_store · relationship · warn · not judged yet",
    ]);
    expect(checkHistoryLines({ pipeline: "default", limit: 20, checks: [] }, at)).toEqual(["default declares no checks (docs/checks.md says how to declare them)"]);
  });
});



/** A local server playing the API: records each request, answers with `answer(method, url)`. */
async function serving(answer: (method: string, url: string) => { status: number; body: unknown }) {
  const { createServer } = await import("node:http");
  const seen: { method: string; url: string; body: string }[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      seen.push({ method: request.method!, url: request.url!, body });
      const { status, body: json } = answer(request.method!, request.url!);
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen, close: () => (server.closeAllConnections(), new Promise<void>((resolve) => server.close(() => resolve()))) };
}

describe("the commands", () => {
  it("checks asks for the pipeline's checks and prints them on its clock; --check and -n go into the query", async () => {
    const server = await serving((_method, url) => (url.includes("/checks") ? { status: 200, body: view } : { status: 200, body: { schedule: { cron: "15 * * * *", every: null, timezone: "Europe/Berlin", enabled: true, nextExecuteAt: null } } }));
    const result = await cli(["checks", "orders", "--check", "reject_rate", "-n", "3"], { PIPELINE_API_URL: server.url });
    expect(result.code).toBe(EXIT.ok);
    expect(server.seen.map((request) => `${request.method} ${request.url}`)).toEqual(["GET /api/pipelines/orders/checks?limit=3&check=reject_rate", "GET /api/pipelines/orders"]);
    expect(result.stdout).toContain("  retry-3   2026-12-01 12:00:00+01:00  succeeded  ✗ failed");
    const json = await cli(["--json", "checks", "orders"], { PIPELINE_API_URL: server.url });
    expect(JSON.parse(json.stdout)).toEqual(view);
    await server.close();
  });

  it("retry sends --accept-check (repeated) and --from-stage as the API's acceptChecks and fromStage", async () => {
    const started = { message: "Retry of manual-1 started from load", pipelineId: "retry-2", status: "running", statusUrl: "/api/pipelines/orders/runs/retry-2", retry: { of: "manual-1", fromStage: "load", reused: ["extract", "transform"], note: null } };
    const server = await serving(() => ({ status: 202, body: started }));
    const result = await cli(["retry", "manual-1", "--pipeline", "orders", "--accept-check", "reject_rate", "--accept-check", "accepted_values(currency)"], { PIPELINE_API_URL: server.url });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe("started retry-2: retry of manual-1 from load, reusing extract and transform, accepting reject_rate, accepted_values(currency)\n");
    expect(server.seen[0]).toEqual({ method: "POST", url: "/api/pipelines/orders/runs/manual-1/retry", body: '{"acceptChecks":["reject_rate","accepted_values(currency)"]}' });
    await cli(["retry", "manual-1", "--pipeline", "orders", "--from-stage", "transform"], { PIPELINE_API_URL: server.url });
    expect(server.seen[1]!.body).toBe('{"fromStage":"transform"}');
    await cli(["retry", "manual-1", "--pipeline", "orders"], { PIPELINE_API_URL: server.url });
    expect(server.seen[2]!.body).toBe("");
    const usage = await cli(["retry", "manual-1", "--pipeline", "orders", "--from-stage", "somewhere"], { PIPELINE_API_URL: server.url });
    expect(usage.code).toBe(EXIT.usage);
    expect(server.seen).toHaveLength(3);
    await server.close();
  });
});
