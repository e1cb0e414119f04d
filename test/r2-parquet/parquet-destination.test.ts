/**
 * The Parquet dataset destination against workerd's R2: Hive partitions, each committed by its manifest;
 * every row read back with hyparquet (a Parquet reader that is not ours) and compared; an upsert on the key
 * within a partition across runs; a rerun that replaces its own rows and leaves no duplicates; duplicate
 * keys within a run as the destination's policy says.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import type { Pipeline } from "../../src/engine/define-pipeline";
import ordersLake from "../../src/pipelines/orders-lake/pipeline";
import type { PartitionManifest } from "../../src/destinations/r2-parquet/manifest";
import { api, apiJson, finished, uniqueName } from "../support/runtime";
import { pipelineNamed, settingsFor } from "../support/settings";

const HEADER = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at";

/** A copy of orders-lake writing its own dataset, reading the given CSV as its sample. */
function lake(csv: string, destination: Record<string, unknown> = {}): { name: string; path: string } {
  const name = uniqueName("lake");
  const path = `test/${name}`;
  pipelineNamed(name, { ...ordersLake, name, sample: { format: "csv", text: csv }, destination: { ...ordersLake.destination, path, ...destination } } as Pipeline);
  return { name, path };
}

async function run(name: string) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  const runId = `manual-${Date.now()}`;
  const started = await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: settingsFor(name) });
  expect(started.outcome).toBe("started");
  return finished(() => coordinator.getRun(runId), 30_000);
}

async function manifest(path: string, partition: string): Promise<PartitionManifest> {
  const object = await env.LAKE.get(`${path}/${partition}/_manifest.json`);
  expect(object).not.toBeNull();
  return (await object!.json()) as PartitionManifest;
}

/** Every row of a partition, read by hyparquet from the files its manifest names. */
async function partitionRows(path: string, partition: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const file of (await manifest(path, partition)).files) {
    const bytes = await (await env.LAKE.get(file.key))!.arrayBuffer();
    rows.push(...((await parquetReadObjects({ file: bytes })) as Record<string, unknown>[]));
  }
  return rows.sort((a, b) => `${a.store_id}/${a.order_id}`.localeCompare(`${b.store_id}/${b.order_id}`));
}

describe("a Parquet dataset on R2", () => {
  it("writes orders-lake's sample as Hive partitions by order day, typed, every row as the transform made it", async () => {
    const { name, path } = lake((await import("../../src/pipelines/orders/sample")).ORDERS_SAMPLE_CSV);
    const result = await run(name);
    expect(result.status).toBe("succeeded");
    // 42 lines: 38 rows, 3 rejected (a refund without its order, 12.345, a duplicate key), 1 skipped (test store).
    expect(result.finalResult).toMatchObject({ recordCount: 38, destination: `r2://LAKE/${path}` });
    const rows = await partitionRows(path, "order_day=2026-11-28");
    expect(rows).toHaveLength(38);
    expect(rows.reduce((sum, row) => sum + (row.net_cents as bigint), 0n)).toBe(177_279n);
    // The rows of the sample's first ten lines, the ones that hold its problems, as the transform made them.
    const firstTen = new Set(["berlin/1001", "berlin/1002", "berlin/1003", "hamburg/1001", "munich/2001", "munich/2002"]);
    expect(rows.filter((row) => firstTen.has(`${row.store_id}/${row.order_id}`)).map((row) => ({ ...row, loaded_at: undefined, position: undefined }))).toEqual(
      [
        ["berlin", "1001", "sale", 1999n, 1999n, null, "2026-11-28T09:15:00.000Z"],
        ["berlin", "1002", "sale", 550n, 550n, null, "2026-11-28T09:40:00.000Z"],
        ["berlin", "1003", "refund", 1999n, -1999n, "1001", "2026-11-28T11:02:00.000Z"],
        ["hamburg", "1001", "sale", 4200n, 4200n, null, "2026-11-28T10:05:00.000Z"],
        ["munich", "2001", "sale", 725n, 725n, null, "2026-11-28T14:10:00.000Z"],
        ["munich", "2002", "sale", 125000n, 125000n, null, "2026-11-28T13:12:00.000Z"],
      ].map(([store_id, order_id, kind, amount_cents, net_cents, original_order_id, ordered_at]) => ({
        store_id,
        order_id,
        kind,
        amount_cents,
        net_cents,
        currency: "EUR",
        original_order_id,
        ordered_at: new Date(ordered_at as string),
        order_day: "2026-11-28",
        run_id: result.pipelineId,
        loaded_at: undefined,
        position: undefined,
      })),
    );
    const file = (await manifest(path, "order_day=2026-11-28")).files[0]!;
    const metadata = parquetMetadata(await (await env.LAKE.get(file.key))!.arrayBuffer());
    const types = Object.fromEntries(metadata.schema.slice(1).map((element) => [element.name, [element.type, element.repetition_type, element.logical_type?.type ?? null]]));
    expect(types).toMatchObject({
      amount_cents: ["INT64", "REQUIRED", null],
      original_order_id: ["BYTE_ARRAY", "OPTIONAL", "STRING"],
      ordered_at: ["INT64", "REQUIRED", "TIMESTAMP"],
      run_id: ["BYTE_ARRAY", "REQUIRED", "STRING"],
    });
    expect(metadata.row_groups).toHaveLength(1);
    expect(file).toMatchObject({ rows: 38, runs: { [result.pipelineId]: 38 } });
  });

  it("upserts on the key within a partition across runs, and a rerun leaves no duplicate", async () => {
    const first = `${HEADER}\ns1,1,sale,1.00,EUR,,2026-11-27T10:00:00Z\ns1,2,sale,2.00,EUR,,2026-11-28T10:00:00Z\ns1,3,sale,3.00,EUR,,2026-11-28T11:00:00Z\n`;
    const { name, path } = lake(first);
    const one = await run(name);
    expect(one.status).toBe("succeeded");
    const again = await run(name);
    expect(again.finalResult!.recordCount).toBe(3);
    expect((await partitionRows(path, "order_day=2026-11-28")).map((row) => [row.order_id, row.run_id])).toEqual([["2", again.pipelineId], ["3", again.pipelineId]]);

    // A later run changes order 2 and adds 4: order 3 (not in it) stays, from the run that wrote it.
    pipelineNamed(name).sample = { format: "csv", text: `${HEADER}\ns1,2,sale,9.99,EUR,,2026-11-28T10:00:00Z\ns1,4,sale,4.00,EUR,,2026-11-28T12:00:00Z\n` };
    const later = await run(name);
    expect(later.status).toBe("succeeded");
    expect((await partitionRows(path, "order_day=2026-11-28")).map((row) => [row.order_id, row.amount_cents, row.run_id])).toEqual([
      ["2", 999n, later.pipelineId],
      ["3", 300n, again.pipelineId],
      ["4", 400n, later.pipelineId],
    ]);
    expect((await partitionRows(path, "order_day=2026-11-27")).map((row) => row.order_id)).toEqual(["1"]);
    // Only files the manifests name are left in the partition's folder.
    const listed = await env.LAKE.list({ prefix: `${path}/order_day=2026-11-28/` });
    const named = new Set((await manifest(path, "order_day=2026-11-28")).files.map((file) => file.key));
    expect(listed.objects.map((object) => object.key).filter((key) => key.endsWith(".parquet")).sort()).toEqual([...named].sort());
  });

  it("rejects a second record with a key, naming the first, or keeps the last with last-wins", async () => {
    const csv = `${HEADER}\ns2,1,sale,1.00,EUR,,2026-11-28T10:00:00Z\ns2,1,sale,5.00,EUR,,2026-11-28T10:05:00Z\n`;
    const rejecting = lake(csv);
    const rejected = await run(rejecting.name);
    expect(rejected.finalResult!.recordCount).toBe(1);
    expect(rejected.rejected).toEqual([{ id: "s2/1", stage: "load", reason: 'duplicate id "s2/1" (first seen at position 0)' }]);
    expect((await partitionRows(rejecting.path, "order_day=2026-11-28")).map((row) => row.amount_cents)).toEqual([100n]);

    const lastWins = lake(csv, { duplicates: "last-wins" });
    expect((await run(lastWins.name)).status).toBe("succeeded");
    expect((await partitionRows(lastWins.path, "order_day=2026-11-28")).map((row) => row.amount_cents)).toEqual([500n]);
  });

  it("spreads partitions over load shards, each written whole by one", async () => {
    const lines = Array.from({ length: 600 }, (_, index) => `s3,${index},sale,1.00,EUR,,2026-11-${String(1 + (index % 6)).padStart(2, "0")}T10:00:00Z`);
    const { name, path } = lake(`${HEADER}\n${lines.join("\n")}\n`);
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const runId = `manual-${Date.now()}`;
    await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: { ...settingsFor(name), parallelism: { transform: 2, load: 3 } } });
    const result = await finished(() => coordinator.getRun(runId), 30_000);
    expect(result.status).toBe("succeeded");
    let total = 0;
    const writers = new Set<string>();
    for (let day = 1; day <= 6; day += 1) {
      const rows = await partitionRows(path, `order_day=2026-11-0${day}`);
      expect(rows).toHaveLength(100);
      total += rows.length;
      const shards = new Set((await manifest(path, `order_day=2026-11-0${day}`)).files.map((file) => /-s(\d+)-a\d+-/.exec(file.key)![1]));
      expect(shards.size).toBe(1);
      writers.add([...shards][0]!);
    }
    expect(total).toBe(600);
    expect(writers.size).toBeGreaterThan(1);
  });

  it("partitions by the run's slot day when told to", async () => {
    const { name, path } = lake(`${HEADER}\ns4,1,sale,1.00,EUR,,2026-11-28T10:00:00Z\n`, { partitionBy: { slot: "date" } });
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const slot = Date.parse("2026-11-29T02:00:00Z"); // 03:00 in Berlin
    await coordinator.startRun({ runId: `scheduled-${slot}`, trigger: "scheduled", scheduledFor: slot, settings: settingsFor(name) });
    const result = await finished(() => coordinator.getRun(`scheduled-${slot}`), 30_000);
    expect(result.status).toBe("succeeded");
    expect((await partitionRows(path, "slot_date=2026-11-29")).map((row) => row.order_id)).toEqual(["1"]);
  });
});


describe("GET …/dataset", () => {
  it("lists the partitions and the files their manifests name; a table is not a dataset", async () => {
    const { name, path } = lake(`${HEADER}\ns5,1,sale,1.00,EUR,,2026-11-27T10:00:00Z\ns5,2,sale,1.00,EUR,,2026-11-28T10:00:00Z\ns5,3,sale,1.00,EUR,,2026-11-28T11:00:00Z\n`);
    const result = await run(name);
    const { status, body } = await apiJson(`/api/pipelines/${name}/dataset`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      uri: `r2://LAKE/${path}`,
      partitions: [
        { name: "order_day=2026-11-27", rows: 1, runId: result.pipelineId, files: [{ key: expect.stringMatching(new RegExp(`^${path}/order_day=2026-11-27/${result.pipelineId}-s0-a1-[0-9a-f]{8}-0\\.parquet$`)), rows: 1 }] },
        { name: "order_day=2026-11-28", rows: 2, runId: result.pipelineId },
      ],
    });
    const key = body.partitions[1].files[0].key as string;
    const file = await api(`/api/pipelines/${name}/dataset/files/${key}`);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("application/vnd.apache.parquet");
    expect(((await parquetReadObjects({ file: await file.arrayBuffer() })) as { order_id: string }[]).map((row) => row.order_id)).toEqual(["2", "3"]);
    expect((await apiJson(`/api/pipelines/${name}/dataset/files/drops/other.parquet`)).body.errors[0].code).toBe("file_not_found");
    const table = await apiJson("/api/pipelines/orders/dataset");
    expect(table.status).toBe(409);
    expect(table.body.errors[0].code).toBe("not_a_dataset");
  });
});
