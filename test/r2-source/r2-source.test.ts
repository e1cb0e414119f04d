/**
 * Files in R2 as a source, against workerd's real R2 and D1: objects under a prefix matched by a glob,
 * read in key order, each once across runs (the object ledger, by key and etag), many objects shared out
 * between extract agents side by side, and what a run that did not succeed read read again.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it } from "vitest";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { createTableSql } from "../../src/destinations/d1/table-ddl";
import { columnSettings } from "../../src/engine/columns";
import storeDrops from "../../src/pipelines/store-drops/pipeline";
import { apiJson, eventually, finished, uniqueName } from "../support/runtime";
import { pipelineNamed, settingsFor } from "../support/settings";

const HEADER = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at";

function csv(store: string, ids: readonly (number | string)[], amount = "1.00"): string {
  return [HEADER, ...ids.map((id) => `${store},${id},sale,${amount},EUR,,2026-11-29T10:00:00Z`)].join("\n") + "\n";
}

/** A copy of store-drops reading its own prefix. */
function dropsPipeline(prefix: string, source: Record<string, unknown> = {}): string {
  const name = uniqueName("drops");
  pipelineNamed(name, { ...storeDrops, name, sources: [{ ...storeDrops.sources[0]!, prefix, ...source } as never] } as Pipeline);
  return name;
}

async function run(name: string, options: { reread?: boolean } = {}) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  const runId = `manual-${Date.now()}`;
  const started = await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: settingsFor(name), ...options });
  expect(started.outcome).toBe("started");
  return finished(() => coordinator.getRun(runId), 30_000);
}

async function rowsOf(store: string): Promise<{ order_id: string; position: number; run_id: string; amount_cents: number }[]> {
  const rows = await env.DB.prepare("SELECT order_id, position, run_id, amount_cents FROM store_drops WHERE store_id = ? ORDER BY position").bind(store).all<{ order_id: string; position: number; run_id: string; amount_cents: number }>();
  return rows.results;
}

describe("an R2 source", () => {
  it("reads every matching object under its prefix in key order, each once across runs, and a re-uploaded one again", async () => {
    const prefix = `${uniqueName("t")}/drops/`;
    const store = uniqueName("s").toLowerCase();
    await env.UPLOADS.put(`${prefix}b/2026-11-29.csv`, csv(store, [3, 4]));
    await env.UPLOADS.put(`${prefix}a/2026-11-29.csv`, csv(store, [1, 2]));
    await env.UPLOADS.put(`${prefix}a/notes.txt`, "not a drop");
    const name = dropsPipeline(prefix);

    const first = await run(name);
    expect(first.status).toBe("succeeded");
    expect(first.finalResult!.recordCount).toBe(4);
    expect(first.source).toMatchObject({ kind: "r2", url: `r2://UPLOADS/${prefix}**/*.csv`, format: "csv", pages: 2, objectCounts: { read: 2, skipped: 0 } });
    expect(first.source!.objects!.map((object) => [object.key.slice(prefix.length), object.records, object.firstPosition])).toEqual([
      ["a/2026-11-29.csv", 2, 0],
      ["b/2026-11-29.csv", 2, 2],
    ]);
    expect((await rowsOf(store)).map((row) => [row.order_id, row.position])).toEqual([["1", 0], ["2", 1], ["3", 2], ["4", 3]]);

    const second = await run(name);
    expect(second.status).toBe("succeeded");
    expect(second.finalResult!.recordCount).toBe(0);
    expect(second.source!.objects!.map((object) => object.skipped)).toEqual([`read by ${first.pipelineId}`, `read by ${first.pipelineId}`]);

    // The same key with new contents has a new etag: read again, as its own records.
    await env.UPLOADS.put(`${prefix}b/2026-11-29.csv`, csv(store, [3, 4], "2.50"));
    const third = await run(name);
    expect(third.status).toBe("succeeded");
    expect(third.finalResult!.recordCount).toBe(2);
    expect(third.source!.objectCounts).toEqual({ read: 1, skipped: 1 });
    expect((await rowsOf(store)).filter((row) => row.run_id === third.pipelineId).map((row) => [row.order_id, row.amount_cents])).toEqual([["3", 250], ["4", 250]]);
  });

  it("shares many objects out between readers side by side, every record once, positions in key order", async () => {
    const prefix = `${uniqueName("t")}/drops/`;
    const store = uniqueName("s").toLowerCase();
    for (let file = 0; file < 60; file += 1) await env.UPLOADS.put(`${prefix}${String(file).padStart(3, "0")}.csv`, csv(store, Array.from({ length: 5 + (file % 3) }, (_, index) => `${file}-${index}`)));
    const name = dropsPipeline(prefix, { readers: 4, objectsPerReader: 10 });
    const result = await run(name);
    expect(result.status).toBe("succeeded");
    const expected = Array.from({ length: 60 }, (_, file) => 5 + (file % 3)).reduce((sum, count) => sum + count, 0);
    expect(result.finalResult!.recordCount).toBe(expected);
    const rows = await rowsOf(store);
    expect(rows.length).toBe(expected);
    expect(rows.map((row) => row.position)).toEqual(Array.from({ length: expected }, (_, index) => index));
    // Key order is position order: file 000's rows first, file 059's last.
    expect(rows.map((row) => Number(row.order_id.split("-")[0]))).toEqual([...rows.map((row) => Number(row.order_id.split("-")[0]))].sort((a, b) => a - b));
    const objects = result.source!.objects!;
    expect(objects).toHaveLength(60);
    let position = 0;
    for (const object of objects) {
      expect(object.firstPosition).toBe(position);
      position += object.records!;
    }
    // Four agents read: each reported its own progress, and the run's extract shows the whole.
    expect(result.stages[0]).toMatchObject({ inputCount: expected, outputCount: expected });
  });

  it("counts every object when each reader read more than the run lists", async () => {
    const prefix = `${uniqueName("t")}/drops/`;
    const store = uniqueName("s").toLowerCase();
    await Promise.all(Array.from({ length: 260 }, (_, file) => env.UPLOADS.put(`${prefix}${String(file).padStart(3, "0")}.csv`, csv(store, [file]))));
    await env.UPLOADS.put(`${prefix}read-before.csv`, csv(store, ["x"]));
    const result = await run(dropsPipeline(prefix, { readers: 2, objectsPerReader: 10 }));
    expect(result.finalResult!.recordCount).toBe(261);
    expect(result.source!.objectCounts).toEqual({ read: 261, skipped: 0 });
    expect(result.source!.objects).toHaveLength(100);
    expect(result.source!.objects!.map((object) => object.firstPosition)).toEqual(Array.from({ length: 100 }, (_, index) => index));
  });

  it("names the file a bad line is in, and reads again what a run that failed had read", async () => {
    const prefix = `${uniqueName("t")}/drops/`;
    const store = uniqueName("s").toLowerCase();
    await env.UPLOADS.put(`${prefix}x.csv`, `${HEADER}\n${store},1,sale,1.00,EUR,,2026-11-29T10:00:00Z\n${store},2,sale\n`);
    const table = `drops_${uniqueName().replaceAll("-", "_")}`;
    const name = uniqueName("drops");
    // Without its checks: one line of two refused would hold the file back before the missing table is met.
    pipelineNamed(name, { ...storeDrops, name, checks: [], sources: [{ ...storeDrops.sources[0]!, prefix } as never], destination: { ...storeDrops.destination, table } } as Pipeline);

    const failed = await run(name); // the table does not exist yet
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain(`the D1 table ${table} does not exist`);
    expect(failed.rejected).toContainEqual({ id: null, stage: "extract", reason: `${prefix}x.csv: CSV line 3: Too few fields: expected 7 fields but parsed 3` });

    await env.DB.exec(createTableSql({ table, key: ["store_id", "order_id"], columns: columnSettings(storeDrops.destination.columns) }));
    const next = await run(name);
    expect(next.status).toBe("succeeded");
    expect(next.source!.objectCounts).toEqual({ read: 1, skipped: 0 });
    expect(next.finalResult!.recordCount).toBe(1);
  });

  it("rereads objects already read when told to (a backfill with reprocess all)", async () => {
    const prefix = `${uniqueName("t")}/drops/`;
    const store = uniqueName("s").toLowerCase();
    await env.UPLOADS.put(`${prefix}one.csv`, csv(store, [1]));
    const name = dropsPipeline(prefix);
    expect((await run(name)).finalResult!.recordCount).toBe(1);
    expect((await run(name)).finalResult!.recordCount).toBe(0);
    const again = await run(name, { reread: true });
    expect(again.finalResult!.recordCount).toBe(1);
    expect(again.source!.objectCounts).toEqual({ read: 1, skipped: 0 });
  });

  it("refuses a prefix with a secret placeholder and a bucket the Worker does not bind", () => {
    const secret = uniqueName("drops");
    expect(() => pipelineNamed(secret, { ...storeDrops, name: secret, sources: [{ ...storeDrops.sources[0]!, prefix: "{{API_TOKEN}}/" } as never] } as Pipeline)).toThrow(
      "sources[0].prefix: {{API_TOKEN}} is not a slot value or a param (a prefix holds no secrets)",
    );
    const unbound = uniqueName("drops");
    pipelineNamed(unbound, { ...storeDrops, name: unbound, sources: [{ ...storeDrops.sources[0]!, bucket: "NOPE" } as never] } as Pipeline);
    expect(() => settingsFor(unbound)).toThrow("bucket NOPE is not an R2 binding of this Worker (add it to r2_buckets in wrangler.jsonc)");
  });
});

describe("an R2 source in a backfill", () => {
  const post = (path: string, body: unknown) => apiJson(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const done = async (path: string) => (await eventually(() => apiJson(path), (response) => response.body.status !== "running", 20_000)).body;

  it("reads each slot's folder ({{slot.date}} in the prefix), passes over what was read, and rereads with reprocess all", async () => {
    const root = uniqueName("bf");
    const store = uniqueName("s").toLowerCase();
    await env.UPLOADS.put(`${root}/2026-11-27/a.csv`, csv(store, ["27-1", "27-2"]));
    await env.UPLOADS.put(`${root}/2026-11-28/a.csv`, csv(store, ["28-1"]));
    const name = uniqueName("drops");
    pipelineNamed(name, { ...storeDrops, name, schedule: { cron: "0 3 * * *" }, sources: [{ ...storeDrops.sources[0]!, prefix: `${root}/{{slot.date}}/` } as never] } as Pipeline);
    const base = `/api/pipelines/${name}`;
    const first = await done((await post(`${base}/backfill`, { from: "2026-11-27", to: "2026-11-29" })).body.statusUrl);
    expect(first.counts).toMatchObject({ succeeded: 2, failed: 0 });
    expect((await rowsOf(store)).map((row) => row.order_id).sort()).toEqual(["27-1", "27-2", "28-1"]);

    // The files of 11-28 are read already: a rerun of that slot passes them over; reprocess all reads them again.
    const again = await done((await post(`${base}/backfill`, { from: "2026-11-28", to: "2026-11-29", reprocess: "all" })).body.statusUrl);
    expect(again.counts).toMatchObject({ succeeded: 1 });
    const reread = (await apiJson(`${base}/runs/${again.slots[0].runId}`)).body;
    expect(reread.source.objectCounts).toEqual({ read: 1, skipped: 0 });
    expect(reread.finalResult.recordCount).toBe(1);
    const trigger = (await apiJson(`${base}/trigger?wait=true`, { method: "POST" })).body.run;
    expect(trigger.source.url).toBe(`r2://UPLOADS/${root}/${new Date().toISOString().slice(0, 10)}/**/*.csv`);
  });
});
