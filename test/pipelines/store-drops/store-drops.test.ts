/**
 * store-drops through the test kit: a file a store uploads, read by the real CSV parser, becomes the same
 * order rows as the orders pipeline makes (the row logic is shared), with no test store and no params.
 * Which files a run reads (the object ledger) is the R2 source's, tested in workerd (test/r2-source).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runPipeline } from "../../../src/engine/testing";
import storeDrops from "../../../src/pipelines/store-drops/pipeline";

/** The file the README uploads. */
const HAMBURG = readFileSync("docs/examples/store-drops/hamburg-2026-11-29.csv", "utf8");

describe("store-drops", () => {
  it("loads the README's example file: four orders, the line whose amount is 3.2O rejected", async () => {
    const result = await runPipeline(storeDrops, { body: { format: "csv", text: HAMBURG } });
    expect(result.status).toBe("succeeded");
    expect(result.accounting).toEqual({ extracted: 5, loaded: 4, rejected: 1, skipped: 0, balanced: true });
    expect(result.rejected).toEqual([
      expect.objectContaining({ position: 4, id: "hamburg/2005", stage: "transform", reason: 'amount: must be an amount with at most two decimals, such as "19.99"' }),
    ]);
    expect(result.rows.map(({ order_id, kind, net_cents, original_order_id }) => [order_id, kind, net_cents, original_order_id])).toEqual([
      ["2001", "sale", 2490, null],
      ["2002", "sale", 750, null],
      ["2003", "refund", -750, "2002"],
      ["2004", "sale", 11_200, null],
    ]);
    expect(result.rows[0]).toEqual({ store_id: "hamburg", order_id: "2001", kind: "sale", amount_cents: 2490, net_cents: 2490, currency: "EUR", original_order_id: null, ordered_at: "2026-11-29T09:05:00.000Z", order_day: "2026-11-29" });
    // One line of five refused (20 %): under the quarter that holds a file back.
    expect(result.checks).toMatchObject({ blocked: false, results: [{ name: "accepted_values(currency)", outcome: "passed" }, { name: "reject_rate", outcome: "passed", found: "20 % (1 of 5)" }] });
  });

  it("loads a test store's orders too (only the orders feed skips them), and rejects a line sent twice", async () => {
    const text = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at\ntest,1,sale,1.00,EUR,,2026-11-29T08:00:00Z\ntest,1,sale,1.00,EUR,,2026-11-29T08:00:00Z\n";
    const result = await runPipeline(storeDrops, { body: { format: "csv", text } });
    expect(result.accounting).toEqual({ extracted: 2, loaded: 1, rejected: 1, skipped: 0, balanced: true });
    expect(result.rejected).toEqual([expect.objectContaining({ position: 1, stage: "load", reason: 'duplicate id "test/1" (first seen at position 0)' })]);
  });

  it("refuses a line with too few fields at extract, naming its line", async () => {
    const good = [2, 3, 4, 5].map((order) => `hamburg,${order},sale,2.00,EUR,,2026-11-29T08:00:00Z`).join("\n");
    const text = `store_id,order_id,kind,amount,currency,original_order_id,ordered_at\nhamburg,1,sale,1.00\n${good}\n`;
    const result = await runPipeline(storeDrops, { body: { format: "csv", text } });
    expect(result.rejected).toEqual([expect.objectContaining({ position: 0, id: null, stage: "extract" })]);
    expect(result.rows).toHaveLength(4);
  });

  it("holds back a file in a currency no store sells in, naming its lines (docs/examples/store-drops/munich-2026-11-30.csv)", async () => {
    const text = readFileSync("docs/examples/store-drops/munich-2026-11-30.csv", "utf8");
    const result = await runPipeline(storeDrops, { body: { format: "csv", text } });
    expect(result.errorCode).toBe("checks_failed");
    expect(result.rows).toEqual([]);
    expect(result.checks?.results[0]).toMatchObject({ name: "accepted_values(currency)", outcome: "failed", offending: 2, sample: [{ position: 1, id: "munich/3002", values: { currency: "EUE" } }, { position: 2, id: "munich/3003" }] });
    const fixed = await runPipeline(storeDrops, { body: { format: "csv", text: readFileSync("docs/examples/store-drops/munich-2026-11-30-fixed.csv", "utf8") } });
    expect(fixed.status).toBe("succeeded");
    expect(fixed.rows).toHaveLength(5);
  });

  it("holds back a file with more than a quarter of its lines refused", async () => {
    const lines = ["hamburg,1,sale,1.00,EUR,,2026-11-29T08:00:00Z", "hamburg,2,sale,1.005,EUR,,2026-11-29T08:00:00Z", "hamburg,3,refund,1.00,EUR,,2026-11-29T08:00:00Z"];
    const result = await runPipeline(storeDrops, { body: { format: "csv", text: `store_id,order_id,kind,amount,currency,original_order_id,ordered_at\n${lines.join("\n")}\n` } });
    expect(result.checks?.results[1]).toMatchObject({ name: "reject_rate", outcome: "failed", found: "66.67 % (2 of 3)" });
    expect(result.errorCode).toBe("checks_failed");
  });
});
