/**
 * The D1 source against the real D1 in workerd: a rollup of another pipeline's table (orders-daily), pages
 * read by keyset with every row exactly once, values bound, and the result shapes keyset paging cannot
 * page through safely failing the run instead of skipping rows.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { RunParams } from "../../src/domain/run";
import { definePipeline, type Pipeline } from "../../src/engine/define-pipeline";
import ordersDaily from "../../src/pipelines/orders-daily/pipeline";
import type { D1Source } from "../../src/sources/d1/config";
import { finished, uniqueName } from "../support/runtime";
import { pipelineNamed, settingsFor } from "../support/settings";
import { runPipeline } from "../support/runs";

async function insertOrders(store: string, orders: [id: string, kind: "sale" | "refund", cents: number, day: string, currency?: string][]) {
  await env.DB.batch(
    orders.map(([id, kind, cents, day, currency]) =>
      env.DB.prepare("INSERT INTO orders (store_id, order_id, kind, amount_cents, net_cents, currency, original_order_id, ordered_at, order_day, run_id, loaded_at, position) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, 'seed', 0, 0)").bind(
        store,
        id,
        kind,
        cents,
        kind === "refund" ? -cents : cents,
        currency ?? "EUR",
        `${day}T10:00:00Z`,
        day,
      ),
    ),
  );
}

async function trigger(name: string, params: RunParams) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  const runId = `manual-${Date.now()}`;
  const started = await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: settingsFor(name), params });
  expect(started.outcome).toBe("started");
  return finished(() => coordinator.getRun(runId), 20_000);
}

describe("orders-daily: a D1 query over orders", () => {
  it("rolls up net revenue, sales and refunds per store and day, and rejects a day in two currencies", async () => {
    const store = uniqueName("store").toLowerCase();
    await insertOrders(store, [
      ["1", "sale", 1999, "2026-11-27"],
      ["2", "sale", 550, "2026-11-28"],
      ["3", "refund", 1999, "2026-11-28"],
      ["4", "sale", 4200, "2026-11-28"],
    ]);
    await insertOrders(`${store}-mixed`, [
      ["1", "sale", 100, "2026-11-28", "EUR"],
      ["2", "sale", 100, "2026-11-28", "CHF"],
    ]);
    const name = uniqueName("daily");
    // Without its trigger on orders: the registry is shared by the files of a worker, and orders would
    // list this copy as a downstream of its own in GET /api/pipelines.
    pipelineNamed(name, { ...ordersDaily, triggers: undefined });
    const run = await trigger(name, { since: "2026-11-27", days: 7 });
    expect(run.status).toBe("succeeded");
    const rows = await env.DB.prepare("SELECT store_id, order_day, net_cents, sales, refunds, currency FROM orders_daily WHERE store_id = ? ORDER BY order_day").bind(store).all();
    expect(rows.results).toEqual([
      { store_id: store, order_day: "2026-11-27", net_cents: 1999, sales: 1, refunds: 0, currency: "EUR" },
      { store_id: store, order_day: "2026-11-28", net_cents: 2751, sales: 2, refunds: 1, currency: "EUR" },
    ]);
    expect(run.rejected).toContainEqual(expect.objectContaining({ id: `${store}-mixed/2026-11-28`, reason: `${store}-mixed sold in 2 currencies on 2026-11-28; a net amount across them means nothing` }));
    expect(run.source).toMatchObject({ kind: "d1", url: "d1://DB", served: true });
  });
});

/** A pipeline reading a test table through the D1 source: the rows go into test_d1_copy as they are. */
const copyPipeline = definePipeline({
  name: "d1-copy",
  description: "test: copies a D1 table through the D1 source",
  schedule: { cron: "0 3 * * *" },
  sources: [{ type: "d1", database: "DB", query: "SELECT grp, n, label FROM test_d1_rows WHERE grp = ?1", params: ["params.group"], pageBy: ["n"], pageRows: 100 }],
  params: z.object({ group: z.string().default("") }),
  record: z.object({ grp: z.string(), n: z.number().int().nullable(), label: z.string() }),
  transform: (row) => ({ grp: row.grp, n: row.n ?? -1, label: row.label }),
  destination: { table: "test_d1_copy", key: ["grp", "n"], columns: { grp: "text", n: "integer", label: "text" } },
});

async function tables() {
  await env.DB.exec("CREATE TABLE IF NOT EXISTS test_d1_rows (grp TEXT NOT NULL, n INTEGER, label TEXT NOT NULL)");
  await env.DB.exec("CREATE TABLE IF NOT EXISTS test_d1_copy (grp TEXT NOT NULL, n INTEGER NOT NULL, label TEXT NOT NULL, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (grp, n))");
}

async function fill(group: string, rows: [n: number | null, label: string][]) {
  for (let start = 0; start < rows.length; start += 500) {
    await env.DB.batch(rows.slice(start, start + 500).map(([n, label]) => env.DB.prepare("INSERT INTO test_d1_rows (grp, n, label) VALUES (?, ?, ?)").bind(group, n, label)));
  }
}

function copyNamed(pageRows = 100): string {
  const name = uniqueName("d1copy");
  pipelineNamed(name, { ...copyPipeline, sources: [{ ...copyPipeline.sources[0]!, pageRows } as never] } as Pipeline);
  return name;
}

describe("the D1 source's pages", () => {
  it("reads 2,345 rows in pages of 100 by keyset, each exactly once, with hostile text bound as a value", async () => {
    await tables();
    const group = `g-'); DROP TABLE test_d1_rows; --${uniqueName()}`;
    await fill(group, Array.from({ length: 2_345 }, (_, index) => [index * 3, `row ${index} 'quoted' ?1`]));
    const name = copyNamed(100);
    const run = await trigger(name, { group });
    expect(run.status).toBe("succeeded");
    expect(run.finalResult!.recordCount).toBe(2_345);
    expect(run.source).toMatchObject({ pages: 24 });
    const copied = await env.DB.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT n) AS distinct_n, MIN(label) AS any_label FROM test_d1_copy WHERE grp = ?").bind(group).first();
    expect(copied).toMatchObject({ n: 2_345, distinct_n: 2_345 });
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM test_d1_rows").first()).toBeTruthy(); // the table is still there
  });

  it("fails, naming the value, when pageBy is not unique across a page edge, rather than skip rows", async () => {
    await tables();
    const group = uniqueName("dup");
    await fill(group, [...Array.from({ length: 100 }, (_, index): [number, string] => [index, "a"]), [99, "twin"], [100, "b"]]);
    const run = await trigger(copyNamed(100), { group });
    expect(run.status).toBe("failed");
    expect(run.error).toContain("n = [99] is not unique in the result; pageBy must name columns that are");
  });

  it("fails when a pageBy column is null in a row, since no page could start after it", async () => {
    await tables();
    const group = uniqueName("null");
    await fill(group, [[1, "a"], [null, "no number"]]);
    const run = await trigger(copyNamed(100), { group });
    expect(run.status).toBe("failed");
    expect(run.error).toContain("a row has no value in n, a pageBy column");
  });

  it("fails with D1's own words when the query cannot run (a missing table), without retrying", async () => {
    const name = uniqueName("d1gone");
    pipelineNamed(name, { ...copyPipeline, sources: [{ type: "d1", database: "DB", query: "SELECT 1 AS n FROM no_such_table", pageBy: ["n"] }] } as Pipeline);
    const { run } = await runPipeline({}, name);
    expect(run.status).toBe("failed");
    expect(run.error).toContain("no such table: no_such_table");
    expect(run.stages[0]!.attempts).toBe(1);
  });

  it("found by review: pages a NOCASE column by its bytes, every row once", async () => {
    const table = `test_nocase_${uniqueName().replaceAll("-", "_")}`;
    await env.DB.exec(`CREATE TABLE ${table} (n INTEGER PRIMARY KEY, label TEXT COLLATE NOCASE)`);
    await env.DB.batch(["a", "A", "b", "B", "c"].map((label, index) => env.DB.prepare(`INSERT INTO ${table} VALUES (?, ?)`).bind(index, label)));
    const name = uniqueName("d1nocase");
    pipelineNamed(name, { ...copyPipeline, sources: [{ type: "d1", database: "DB", query: `SELECT 'nocase' AS grp, n, label FROM ${table}`, pageBy: ["label"], pageRows: 2 }] } as Pipeline);
    const run = await trigger(name, {});
    expect(run.status).toBe("succeeded");
    expect(run.accounting).toMatchObject({ extracted: 5, loaded: 5, rejected: 0 });
  });

  it("found by review: fails, rather than lose rows, when a pageBy integer is beyond 2^53", async () => {
    const table = `test_big_${uniqueName().replaceAll("-", "_")}`;
    await env.DB.exec(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, label TEXT)`);
    await env.DB.exec(`INSERT INTO ${table} VALUES (9007199254740993, 'a'), (9007199254740995, 'b'), (9007199254740996, 'c')`);
    const name = uniqueName("d1big");
    pipelineNamed(name, { ...copyPipeline, sources: [{ type: "d1", database: "DB", query: `SELECT 'big' AS grp, 1 AS n, label, id FROM ${table}`, pageBy: ["id"], pageRows: 1 }] } as Pipeline);
    const run = await trigger(name, {});
    expect(run.status).toBe("failed");
    expect(run.error).toContain("pageBy column id holds an integer beyond 2^53");
  });

  it("binds the watermark of the last successful run, so the next run reads only what is newer", async () => {
    await tables();
    const group = uniqueName("wm");
    await fill(group, [[1, "a"], [2, "b"]]);
    const name = uniqueName("d1wm");
    pipelineNamed(name, {
      ...copyPipeline,
      sources: [{ type: "d1", database: "DB", query: "SELECT grp, n, label FROM test_d1_rows WHERE grp = ?1 AND n > COALESCE(?2, -1)", params: ["params.group", "watermark"], pageBy: ["n"] }],
      watermark: { column: "n", format: "epoch-ms" },
    } as Pipeline);
    expect((await trigger(name, { group })).finalResult!.recordCount).toBe(2);
    await fill(group, [[3, "c"]]);
    const next = await trigger(name, { group });
    expect(next.finalResult!.recordCount).toBe(1);
    const copied = await env.DB.prepare("SELECT n, run_id FROM test_d1_copy WHERE grp = ? ORDER BY n").bind(group).all<{ n: number; run_id: string }>();
    expect(copied.results.map((row) => [row.n, row.run_id === next.pipelineId])).toEqual([[1, false], [2, false], [3, true]]);
  });

  it("is misconfigured when its database is not a binding of the Worker", () => {
    const name = uniqueName("d1nobind");
    pipelineNamed(name, { ...copyPipeline, sources: [{ ...(copyPipeline.sources[0] as unknown as D1Source), database: "NOT_BOUND" } as never] } as Pipeline);
    expect(() => settingsFor(name)).toThrow("database NOT_BOUND is not a D1 binding of this Worker (add it to d1_databases in wrangler.jsonc)");
  });
});
