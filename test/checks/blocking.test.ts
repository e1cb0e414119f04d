import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkedPipeline, sale } from "../support/checked-pipelines";
import { apiJson, uniqueName } from "../support/runtime";

/**
 * Dataset checks between transform and load, through the real engine: a failed error check fails the run
 * with checks_failed and nothing of it reaches the table; a warn check loads and says so; a retry may
 * accept named failures (recorded on it) and loads the very batch that was checked.
 */

async function trigger(name: string) {
  const response = await apiJson(`/api/pipelines/${name}/trigger?wait=true`, { method: "POST" });
  expect(response.status).toBe(200);
  return response.body.run;
}

async function rowsIn(table: string): Promise<number> {
  return (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
}

const result = (run: { checks: { results: { name: string }[] } }, name: string) => run.checks.results.find((entry) => entry.name === name) as Record<string, unknown>;

describe("a failed error check", () => {
  it("fails the run with checks_failed before anything is written, with what it expected and found", async () => {
    const { name, table } = await checkedPipeline([sale("a"), sale("b"), sale("c", { cents: -1 })], [{ type: "row_count", min: 3 }]);
    const run = await trigger(name);
    expect(run.status).toBe("failed");
    expect(run.errorCode).toBe("checks_failed");
    expect(run.error).toBe("checks failed: row_count: expected at least 3 rows, found 2 rows");
    expect(run.stages.map((stage: { status: string }) => stage.status)).toEqual(["succeeded", "succeeded", "skipped"]);
    expect(run.checks.blocked).toBe(true);
    expect(result(run, "row_count")).toMatchObject({ outcome: "failed", severity: "error", expected: "at least 3 rows", found: "2 rows" });
    expect(run.finalResult.recordCount).toBe(0);
    expect(await rowsIn(table)).toBe(0);
    // Its rejected records are written all the same: no row of the batch, but what it refused and why.
    const rejected = await apiJson(`/api/pipelines/${name}/runs/${run.pipelineId}/rejected`);
    expect(rejected.body.rejected).toEqual([expect.objectContaining({ position: 2, stage: "transform", reason: "negative amount -1" })]);
    expect(run.accounting).toEqual({ extracted: 3, loaded: 0, rejected: 1, skipped: 0, balanced: false });
  });

  it("can be accepted on a retry, which loads the checked batch and records who and when", async () => {
    const { name, table } = await checkedPipeline([sale("a"), sale("b")], [{ type: "row_count", min: 3 }, { type: "reject_rate", max: 0 }]);
    const failed = await trigger(name);
    expect(failed.errorCode).toBe("checks_failed");

    const unknown = await apiJson(`/api/pipelines/${name}/runs/${failed.pipelineId}/retry?wait=true`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ acceptChecks: ["reject_rate"] }) });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].code).toBe("checks_not_failed");

    const retried = await apiJson(`/api/pipelines/${name}/runs/${failed.pipelineId}/retry?wait=true`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ acceptChecks: ["row_count"] }) });
    expect(retried.status).toBe(200);
    const run = retried.body.run;
    expect(run.status).toBe("succeeded");
    expect(run.retry).toMatchObject({ of: failed.pipelineId, fromStage: "load", reused: ["extract", "transform"] });
    expect(run.acceptChecks).toMatchObject({ names: ["row_count"], by: null, retryOf: failed.pipelineId });
    expect(result(run, "row_count")).toMatchObject({ outcome: "failed", accepted: { by: null, retryOf: failed.pipelineId } });
    expect(run.checks.blocked).toBe(false);
    expect(await rowsIn(table)).toBe(2);

    // Accepting the same batch again, after a later run succeeded, would write older rows over that run's.
    const again = await apiJson(`/api/pipelines/${name}/runs/${failed.pipelineId}/retry`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ acceptChecks: ["row_count"] }) });
    expect(again.status).toBe(409);
    expect(again.body.errors[0]).toMatchObject({ code: "batch_superseded", message: expect.stringContaining(`run ${run.pipelineId} started after run ${failed.pipelineId} and succeeded`) });
  });

  it("refuses acceptChecks on a retry that would transform again", async () => {
    const { name } = await checkedPipeline([sale("a")], [{ type: "row_count", min: 3 }]);
    const failed = await trigger(name);
    const refused = await apiJson(`/api/pipelines/${name}/runs/${failed.pipelineId}/retry`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ acceptChecks: ["row_count"], fromStage: "transform" }) });
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].code).toBe("checks_not_reusable");
  });
});

describe("a failed warn check", () => {
  it("loads and reports the failure", async () => {
    const { name, table } = await checkedPipeline([sale("a"), sale("b", { cents: -1 })], [{ type: "reject_rate", max: 0.1, severity: "warn" }]);
    const run = await trigger(name);
    expect(run.status).toBe("succeeded");
    expect(result(run, "reject_rate")).toMatchObject({ outcome: "failed", severity: "warn", found: "50 % (1 of 2)" });
    expect(run.checks.blocked).toBe(false);
    expect(await rowsIn(table)).toBe(1);
  });
});

describe("each check kind", () => {
  it("not_null and accepted_values name the offending records with their positions", async () => {
    const { name } = await checkedPipeline(
      [sale("a"), sale("b", { store: null }), sale("c", { kind: "gift" })],
      [{ type: "not_null", columns: ["store"] }, { type: "accepted_values", column: "kind", values: ["sale", "refund"] }],
    );
    const run = await trigger(name);
    expect(run.errorCode).toBe("checks_failed");
    expect(result(run, "not_null(store)")).toMatchObject({ outcome: "failed", offending: 1, sample: [{ position: 1, id: "b", values: { store: null } }] });
    expect(result(run, "accepted_values(kind)")).toMatchObject({ outcome: "failed", offending: 1, sample: [{ position: 2, id: "c", values: { kind: "gift" } }] });
  });

  it("unique finds equal values across transform shards, and against the table under another key", async () => {
    const records = ["a", "b", "c", "d", "e", "f"].map((id, index) => sale(id, { ref: `r${index % 5}` }));
    const { name, table } = await checkedPipeline(records, [{ type: "unique", columns: ["ref"] }], { transformShards: 3 });
    const run = await trigger(name);
    expect(run.errorCode).toBe("checks_failed");
    // a (position 0) and f (position 5) both carry r0, in different shards of two records each.
    expect(result(run, "unique(ref)")).toMatchObject({ outcome: "failed", offending: 2, sample: [{ position: 0, id: "a", values: { ref: "r0" } }, { position: 5, id: "f", values: { ref: "r0" } }] });

    // Against the table: z already holds r9; a batch with r9 under another key offends, under z's key it does not.
    await env.DB.exec(`INSERT INTO ${table} VALUES ('z', 'berlin', 'sale', 'r9', '2026-12-01T00:00:00.000Z', 1, 'earlier', 0, 0)`);
    const second = await checkedPipeline([sale("y", { ref: "r9" })], [{ type: "unique", columns: ["ref"] }]);
    await env.DB.exec(`INSERT INTO ${second.table} VALUES ('z', 'berlin', 'sale', 'r9', '2026-12-01T00:00:00.000Z', 1, 'earlier', 0, 0)`);
    expect(result(await trigger(second.name), "unique(ref)")).toMatchObject({ outcome: "failed", offending: 1 });
    const third = await checkedPipeline([sale("z", { ref: "r9" })], [{ type: "unique", columns: ["ref"] }]);
    await env.DB.exec(`INSERT INTO ${third.table} VALUES ('z', 'berlin', 'sale', 'r9', '2026-12-01T00:00:00.000Z', 1, 'earlier', 0, 0)`);
    expect((await trigger(third.name)).status).toBe("succeeded");
  });

  it("relationship looks in the batch itself and in the target table", async () => {
    await env.DB.exec("CREATE TABLE IF NOT EXISTS check_known_sales (sale_id TEXT PRIMARY KEY)");
    await env.DB.exec("INSERT OR IGNORE INTO check_known_sales VALUES ('old-1')");
    const records = [sale("s1"), sale("r1", { kind: "refund", ref: "s1" }), sale("r2", { kind: "refund", ref: "old-1" }), sale("r3", { kind: "refund", ref: "nowhere" })];
    const selfChecked = await checkedPipeline(records, [{ type: "relationship", columns: ["ref"], to: { table: "check_known_sales", columns: ["sale_id"] } }]);
    const run = await trigger(selfChecked.name);
    // s1 is not in check_known_sales and this relationship's target is not the pipeline's own table: r1 and r3 offend.
    expect(result(run, "relationship(ref->check_known_sales.sale_id)")).toMatchObject({ outcome: "failed", offending: 2, sample: [{ position: 1, id: "r1" }, { position: 3, id: "r3" }] });
  });

  it("relationship over two columns looks the pairs up in D1, a page of bound values at a time", async () => {
    await env.DB.exec("CREATE TABLE IF NOT EXISTS check_store_sales (store TEXT NOT NULL, sale_id TEXT NOT NULL, PRIMARY KEY (store, sale_id))");
    // More pairs than one statement binds (100 values: 50 pairs), so the lookup takes several pages.
    const known = Array.from({ length: 120 }, (_, index) => `('berlin', 'old-${index}')`).join(",");
    await env.DB.exec(`INSERT OR IGNORE INTO check_store_sales VALUES ${known}`);
    const records = Array.from({ length: 120 }, (_, index) => sale(`r${index}`, { kind: "refund", ref: `old-${index}`, store: index === 77 ? "munich" : "berlin" }));
    const { name } = await checkedPipeline(records, [{ type: "relationship", name: "refund_has_sale", columns: ["store", "ref"], to: { table: "check_store_sales", columns: ["store", "sale_id"] } }]);
    const run = await trigger(name);
    // old-77 exists, but at berlin, not at munich.
    expect(result(run, "refund_has_sale")).toMatchObject({ outcome: "failed", offending: 1, sample: [{ position: 77, id: "r77", values: { store: "munich", ref: "old-77" } }] });
  });

  it("relationship matches as the target table's columns compare (affinity, collation), not as JSON does", async () => {
    await env.DB.exec("CREATE TABLE IF NOT EXISTS check_typed_refs (id INTEGER PRIMARY KEY, code TEXT COLLATE NOCASE)");
    await env.DB.exec("INSERT OR IGNORE INTO check_typed_refs VALUES (42, 'Berlin')");
    const byId = await checkedPipeline([sale("a", { ref: "42" }), sale("b", { ref: "43" })], [{ type: "relationship", name: "ref_id", columns: ["ref"], to: { table: "check_typed_refs", columns: ["id"] } }]);
    expect(result(await trigger(byId.name), "ref_id")).toMatchObject({ outcome: "failed", offending: 1, sample: [{ id: "b" }] });
    const byCode = await checkedPipeline([sale("a", { store: "berlin" })], [{ type: "relationship", name: "store_code", columns: ["store"], to: { table: "check_typed_refs", columns: ["code"] } }]);
    expect(result(await trigger(byCode.name), "store_code")).toMatchObject({ outcome: "passed" });
  });

  it("relationship to a table that does not exist fails the run once, saying so", async () => {
    const { name } = await checkedPipeline([sale("a", { ref: "x" })], [{ type: "relationship", columns: ["ref"], to: { table: "check_no_such_table", columns: ["id"] } }]);
    const run = await trigger(name);
    expect(run.status).toBe("failed");
    expect(run.error).toBe("transform stage failed: a dataset check looks values up in the D1 table check_no_such_table, which does not exist");
    expect(run.stages[1].attempts).toBe(1);
  });

  it("relationship to the pipeline's own destination counts the batch's own rows as present", async () => {
    const name = uniqueName("checked");
    const records = [sale("s1"), sale("r1", { kind: "refund", ref: "s1" }), sale("r3", { kind: "refund", ref: "nowhere" })];
    const { name: checked } = await checkedPipeline(records, [{ type: "relationship", columns: ["ref"], to: { pipeline: name, columns: ["sale_id"] } }], { name });
    const run = await trigger(checked);
    expect(result(run, `relationship(ref->${name}.sale_id)`)).toMatchObject({ outcome: "failed", offending: 1, sample: [{ position: 2, id: "r3", values: { ref: "nowhere" } }] });
  });

  it("freshness compares the newest value with the slot minus the lag; custom judges the aggregates", async () => {
    const { name } = await checkedPipeline(
      [sale("a", { at: "2020-01-01T00:00:00.000Z", cents: 5 }), sale("b", { at: "2020-01-02T00:00:00.000Z", cents: -0 })],
      [
        { type: "freshness", column: "at", lag: "2d" },
        { type: "custom", name: "revenue_positive", test: (batch) => ({ ok: (batch.columns.cents?.sum ?? 0) > 10, expected: "revenue above 10 cents", found: `${batch.columns.cents?.sum} cents` }) },
      ],
    );
    const run = await trigger(name);
    expect(result(run, "freshness(at)")).toMatchObject({ outcome: "failed", found: "2020-01-02T00:00:00.000Z" });
    expect(result(run, "revenue_positive")).toMatchObject({ outcome: "failed", expected: "revenue above 10 cents", found: "5 cents" });
  });
});
