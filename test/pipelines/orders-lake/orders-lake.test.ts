/**
 * orders-lake through the test kit: the orders sample as the Parquet dataset's rows, partitioned by order
 * day. The Parquet files, manifests and upsert across runs are the r2-parquet destination's, tested in
 * workerd (test/r2-parquet).
 */
import { describe, expect, it } from "vitest";
import { runPipeline } from "../../../src/engine/testing";
import ordersLake from "../../../src/pipelines/orders-lake/pipeline";

describe("orders-lake", () => {
  it("makes the orders sample's 38 orders, the test store skipped, each with its order day to partition by", async () => {
    const result = await runPipeline(ordersLake);
    expect(result.status).toBe("succeeded");
    expect(result.accounting).toEqual({ extracted: 42, loaded: 38, rejected: 3, skipped: 1, balanced: true });
    expect(result.rejected.map(({ position, id, stage }) => [position, id, stage])).toEqual([
      [4, "hamburg/1002", "transform"],
      [5, "hamburg/1003", "transform"],
      [9, "berlin/1002", "load"],
    ]);
    expect(result.skipped).toEqual([8]);
    expect(new Set(result.rows.map((row) => row.order_day))).toEqual(new Set(["2026-11-28"]));
    expect(result.rows.reduce((sum, row) => sum + (row.net_cents as number), 0)).toBe(15_739 + 18_735 + 142_805);
    expect(result.rows.find((row) => row.order_id === "2002")).toMatchObject({ store_id: "munich", amount_cents: 125_000, ordered_at: "2026-11-28T13:12:00.000Z" });
  });

  it("puts orders of several days in their own partitions", async () => {
    const text = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at\nberlin,1,sale,1.00,EUR,,2026-11-27T23:30:00Z\nberlin,2,sale,2.00,EUR,,2026-11-28T00:30:00+01:00\nberlin,3,sale,3.00,EUR,,2026-11-28T00:30:00Z\n";
    const result = await runPipeline(ordersLake, { body: { format: "csv", text } });
    // The day is the UTC day: 00:30 in Berlin on the 28th is still the 27th.
    expect(result.rows.map((row) => [row.order_id, row.order_day])).toEqual([
      ["1", "2026-11-27"],
      ["2", "2026-11-27"],
      ["3", "2026-11-28"],
    ]);
  });
});
