/**
 * The orders-daily rollup through the test kit: the store-days its D1 query answers (here given as
 * records, as the query's rows come) become one row each, a store-day in two currencies is rejected, and
 * its two checks, one row per store and day and only stores the orders table knows, each fail when taken
 * out of the definition. (The query itself runs against the real D1 in test/d1-source.)
 */
import { describe, expect, it } from "vitest";
import { runPipeline, type TestRunResult } from "../../../src/engine/testing";
import orders from "../../../src/pipelines/orders/pipeline";
import ordersDaily from "../../../src/pipelines/orders-daily/pipeline";

/** A row of the rollup query: a Berlin day unless told otherwise. */
function storeDay(fields: Partial<{ store_id: string; order_day: string; net_cents: number; sales: number; refunds: number; currency: string; currencies: number }> = {}) {
  return { store_id: "berlin", order_day: "2026-11-28", net_cents: 1000, sales: 2, refunds: 0, currency: "EUR", currencies: 1, ...fields };
}

const KNOWN = { orders: [{ store_id: "berlin" }, { store_id: "hamburg" }, { store_id: "munich" }] };

const check = (result: TestRunResult, name: string) => result.checks?.results.find((entry) => entry.name === name);

describe("orders-daily", () => {
  it("rolls up the orders sample's day into one row per store", async () => {
    // What the rollup query answers over the rows the orders sample loads.
    const loaded = (await runPipeline(orders)).rows as { store_id: string; order_day: string; net_cents: number; kind: string; currency: string }[];
    const days = new Map<string, ReturnType<typeof storeDay>>();
    for (const order of loaded) {
      const key = `${order.store_id}/${order.order_day}`;
      const day = days.get(key) ?? storeDay({ store_id: order.store_id, order_day: order.order_day, net_cents: 0, sales: 0, refunds: 0, currency: order.currency });
      days.set(key, { ...day, net_cents: day.net_cents + order.net_cents, sales: day.sales + (order.kind === "sale" ? 1 : 0), refunds: day.refunds + (order.kind === "refund" ? 1 : 0) });
    }
    const result = await runPipeline(ordersDaily, { records: [...days.values()], tables: { orders: loaded } });
    expect(result.status).toBe("succeeded");
    expect(result.rows).toEqual([
      { store_id: "berlin", order_day: "2026-11-28", net_cents: 15_739, sales: 12, refunds: 2, currency: "EUR" },
      { store_id: "hamburg", order_day: "2026-11-28", net_cents: 18_735, sales: 11, refunds: 1, currency: "EUR" },
      { store_id: "munich", order_day: "2026-11-28", net_cents: 142_805, sales: 11, refunds: 1, currency: "EUR" },
    ]);
    expect(result.accounting).toEqual({ extracted: 3, loaded: 3, rejected: 0, skipped: 0, balanced: true });
    expect(result.checks?.results.map(({ name, outcome }) => [name, outcome])).toEqual([
      ["one_row_per_store_day", "passed"],
      ["known_store", "passed"],
    ]);
  });

  it("rejects a store-day sold in two currencies: a net amount across them means nothing", async () => {
    const result = await runPipeline(ordersDaily, { records: [storeDay(), storeDay({ store_id: "hamburg", currency: "CHF", currencies: 2 })], tables: KNOWN });
    expect(result.rows).toHaveLength(1);
    expect(result.rejected).toEqual([expect.objectContaining({ position: 1, id: "hamburg/2026-11-28", stage: "transform", reason: "hamburg sold in 2 currencies on 2026-11-28; a net amount across them means nothing" })]);
  });

  it("takes since and days as params, days defaulting to 7", async () => {
    await expect(runPipeline(ordersDaily, { records: [storeDay()], tables: KNOWN, params: { since: "28 November" } })).rejects.toThrow("params.since: must be a date (YYYY-MM-DD)");
    await expect(runPipeline(ordersDaily, { records: [storeDay()], tables: KNOWN, params: { days: 0 } })).rejects.toThrow("params.days");
    expect((await runPipeline(ordersDaily, { records: [storeDay()], tables: KNOWN, params: { since: "2026-11-01" } })).status).toBe("succeeded");
  });
});

describe("the orders-daily checks", () => {
  it("one_row_per_store_day: a store-day answered twice fails, though last-wins would have kept one", async () => {
    const records = [storeDay(), storeDay({ store_id: "hamburg" }), storeDay({ net_cents: 2500 })];
    const result = await runPipeline(ordersDaily, { records, tables: KNOWN });
    expect(result.status).toBe("failed");
    expect(result.errorCode).toBe("checks_failed");
    expect(check(result, "one_row_per_store_day")).toMatchObject({
      outcome: "failed",
      expected: "no two rows with the same store_id, order_day",
      found: "2 offending rows",
      sample: [
        { position: 0, id: "berlin/2026-11-28", values: { store_id: "berlin", order_day: "2026-11-28" } },
        { position: 2, id: "berlin/2026-11-28", values: { store_id: "berlin", order_day: "2026-11-28" } },
      ],
    });
    expect(result.rows).toEqual([]);
    // The same days once each load.
    expect((await runPipeline(ordersDaily, { records: records.slice(0, 2), tables: KNOWN })).status).toBe("succeeded");
  });

  it("known_store: a store the orders table does not hold fails, naming it", async () => {
    const records = [storeDay(), storeDay({ store_id: "potsdam" })];
    const result = await runPipeline(ordersDaily, { records, tables: KNOWN, pipelines: [orders] });
    expect(result.status).toBe("failed");
    expect(result.errorCode).toBe("checks_failed");
    expect(check(result, "known_store")).toMatchObject({
      outcome: "failed",
      expected: "every store_id present in the destination of pipeline orders (store_id)",
      found: "1 offending row",
      sample: [{ position: 1, id: "potsdam/2026-11-28", values: { store_id: "potsdam" } }],
    });
    const known = await runPipeline(ordersDaily, { records, tables: { orders: [...KNOWN.orders, { store_id: "potsdam" }] }, pipelines: [orders] });
    expect(known.status).toBe("succeeded");
    expect(known.rows).toHaveLength(2);
  });
});
