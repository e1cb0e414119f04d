import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { definePipeline, type Pipeline } from "../../src/engine/define-pipeline";
import type { CheckDefinition } from "../../src/engine/checks";
import { deployment } from "../../src/pipelines";
import { CheckHistoryResponse } from "../../src/routes/responses";
import { apiJson, uniqueName } from "../support/runtime";
import { expectValid } from "../support/test-pipelines";

/**
 * GET …/checks: each check a pipeline declares, in its order, with its newest results across runs (the
 * run's id, start and status, outcome, expected, found, offending, who accepted a failure), at most
 * `limit` each; one check by name; an empty list for a pipeline without checks.
 */

const Sale = z.object({ id: z.string(), store: z.string().nullable() });
const COLUMNS = { sale_id: "text", store: { type: "text", nullable: true } } as const;

async function checkedPipeline(checks: CheckDefinition<typeof COLUMNS>[]): Promise<string> {
  const name = uniqueName("check-history");
  const table = name.replaceAll("-", "_");
  await env.DB.exec(`CREATE TABLE ${table} (sale_id TEXT PRIMARY KEY, store TEXT, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER)`);
  const pipeline = definePipeline({
    name,
    description: "Test-only: two sales, one without a store",
    schedule: { every: "1d" },
    sources: [{ type: "sample" }],
    sample: { records: [{ id: "a", store: "berlin" }, { id: "b", store: null }] },
    record: Sale,
    transform: (record) => ({ sale_id: record.id, store: record.store }),
    destination: { table, key: ["sale_id"], columns: COLUMNS },
    checks,
  }) as Pipeline;
  expectValid(deployment.add(pipeline));
  return name;
}

const post = (path: string, body?: unknown) =>
  apiJson(path, { method: "POST", ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }) });

describe("GET …/checks", () => {
  it("lists each declared check with its results across runs, newest first, accepted failures with who and when", async () => {
    const name = await checkedPipeline([{ type: "row_count", min: 3 }, { type: "not_null", columns: ["store"], severity: "warn" }]);
    const first = (await post(`/api/pipelines/${name}/trigger?wait=true`)).body.run;
    expect(first.errorCode).toBe("checks_failed");
    const accepted = (await post(`/api/pipelines/${name}/runs/${first.pipelineId}/retry?wait=true`, { acceptChecks: ["row_count"] })).body.run;
    expect(accepted.status).toBe("succeeded");
    const third = (await post(`/api/pipelines/${name}/trigger?wait=true`)).body.run;

    const response = await apiJson(`/api/pipelines/${name}/checks`);
    expect(response.status).toBe(200);
    expect(() => CheckHistoryResponse.parse(response.body)).not.toThrow();
    const { body } = response;
    expect(body).toMatchObject({ pipeline: name, limit: 20 });
    expect(body.checks.map((check: any) => [check.name, check.type, check.severity, check.counts])).toEqual([
      ["row_count", "row_count", "error", { passed: 0, failed: 3, skipped: 0 }],
      ["not_null(store)", "not_null", "warn", { passed: 0, failed: 3, skipped: 0 }],
    ]);
    const [rowCount, notNull] = body.checks;
    expect(rowCount.results.map((entry: any) => entry.runId)).toEqual([third.pipelineId, accepted.pipelineId, first.pipelineId]);
    expect(rowCount.results).toEqual([
      { runId: third.pipelineId, startTime: third.startTime, status: "failed", severity: "error", outcome: "failed", expected: "at least 3 rows", found: "2 rows", offending: null, accepted: null },
      { runId: accepted.pipelineId, startTime: accepted.startTime, status: "succeeded", severity: "error", outcome: "failed", expected: "at least 3 rows", found: "2 rows", offending: null, accepted: { by: null, at: expect.any(Number), retryOf: first.pipelineId } },
      { runId: first.pipelineId, startTime: first.startTime, status: "failed", severity: "error", outcome: "failed", expected: "at least 3 rows", found: "2 rows", offending: null, accepted: null },
    ]);
    expect(notNull.results[0]).toMatchObject({ runId: third.pipelineId, severity: "warn", outcome: "failed", offending: 1, accepted: null });

    const newest = await apiJson(`/api/pipelines/${name}/checks?limit=1`);
    expect(newest.body.checks.map((check: any) => [check.name, check.results.map((entry: any) => entry.runId)])).toEqual([
      ["row_count", [third.pipelineId]],
      ["not_null(store)", [third.pipelineId]],
    ]);
    const one = await apiJson(`/api/pipelines/${name}/checks?check=${encodeURIComponent("not_null(store)")}&limit=2`);
    expect(one.body.checks.map((check: any) => [check.name, check.results.length])).toEqual([["not_null(store)", 2]]);
  });

  it("answers 404 check_not_found naming the declared checks, and 400 for a limit out of bounds", async () => {
    const name = await checkedPipeline([{ type: "row_count", min: 1 }]);
    const unknown = await apiJson(`/api/pipelines/${name}/checks?check=nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ errors: [{ code: "check_not_found", message: `pipeline ${name} declares no check named "nope" (it declares row_count)` }] });
    for (const limit of ["0", "101", "x"]) {
      const refused = await apiJson(`/api/pipelines/${name}/checks?limit=${limit}`);
      expect(refused.status).toBe(400);
      expect(refused.body.errors[0].code).toBe("invalid_query");
    }
    // Declared but never judged yet: listed, without results.
    expect((await apiJson(`/api/pipelines/${name}/checks`)).body.checks).toEqual([{ name: "row_count", type: "row_count", severity: "error", counts: { passed: 0, failed: 0, skipped: 0 }, results: [] }]);
  });

  it("is an empty list for a pipeline without checks, on both paths", async () => {
    expect((await apiJson("/api/pipeline/checks")).body).toEqual({ pipeline: "default", limit: 20, checks: [] });
    expect((await apiJson("/api/pipelines/default/checks?limit=5")).body).toEqual({ pipeline: "default", limit: 5, checks: [] });
    const refused = await apiJson("/api/pipeline/checks?check=row_count");
    expect(refused.status).toBe(404);
    expect(refused.body.errors[0].message).toBe('pipeline default declares no check named "row_count" (it declares none)');
  });
});
