/**
 * The orders example through the test kit (`runPipeline`, the code a run uses): its sample loaded as a run
 * loads it (money in integer cents, the derived columns, a refund without its original order and an amount
 * with three decimals rejected, a test store skipped, a line sent twice rejected by load), a run for one
 * store, its settings; and each of its dataset checks, every test failing when its check is taken out of
 * the definition.
 */
import { describe, expect, it } from "vitest";
import { resolveSettings } from "../../../src/engine/settings";
import { runPipeline, type TestRunResult } from "../../../src/engine/testing";
import { toCents } from "../../../src/pipelines/orders/money";
import orders from "../../../src/pipelines/orders/pipeline";

const env = { D1_DATABASE_NAME: "scheduled-pipeline", ORDERS_SOURCE_URL: "", ORDERS_CONFIG: {} };

/** An export line as the CSV parser gives it (every field text), a Berlin sale unless told otherwise. */
function line(fields: Partial<Record<"store_id" | "order_id" | "kind" | "amount" | "currency" | "original_order_id" | "ordered_at", string>> = {}) {
  return { store_id: "berlin", order_id: "1", kind: "sale", amount: "10.00", currency: "EUR", original_order_id: "", ordered_at: "2026-12-01T10:00:00Z", ...fields };
}

/** `count` clean Berlin sales, order ids 1, 2, … */
const sales = (count: number) => Array.from({ length: count }, (_, index) => line({ order_id: String(index + 1) }));

const check = (result: TestRunResult, name: string) => result.checks?.results.find((entry) => entry.name === name);

describe("toCents", () => {
  it.each([
    ["19.99", 1999],
    ["5.5", 550],
    ["1250", 125_000],
    ["0.07", 7],
    ["12.345", null],
    ["-1.00", null],
    ["1,250.00", null],
    ["1e3", null],
    ["", null],
  ])("%j → %j", (amount, cents) => {
    expect(toCents(amount)).toBe(cents);
  });
});

describe("the orders pipeline on its sample", () => {
  it("loads 38 of its 42 lines: two rejected for their content, the test store skipped, a line sent twice rejected by load", async () => {
    const result = await runPipeline(orders);
    expect(result.status).toBe("succeeded");
    expect(result.accounting).toEqual({ extracted: 42, loaded: 38, rejected: 3, skipped: 1, balanced: true });
    expect(result.rejected.map(({ position, id, stage, reason }) => ({ position, id, stage, reason }))).toEqual([
      { position: 4, id: "hamburg/1002", stage: "transform", reason: "refund 1002 names no original order" },
      { position: 5, id: "hamburg/1003", stage: "transform", reason: 'amount: must be an amount with at most two decimals, such as "19.99"' },
      { position: 9, id: "berlin/1002", stage: "load", reason: 'duplicate id "berlin/1002" (first seen at position 1)' },
    ]);
    expect(result.rejected[0]!.raw).toBe(JSON.stringify(line({ store_id: "hamburg", order_id: "1002", kind: "refund", amount: "12.00", ordered_at: "2026-11-28T12:30:00Z" })));
    expect(result.skipped).toEqual([8]);
    expect(result.transformed).toHaveLength(39);

    // Money in cents, a refund's net negative, a time with an offset read as UTC, the day derived from it.
    const row = (store: string, order: string) => result.rows.find((candidate) => candidate.store_id === store && candidate.order_id === order);
    expect(row("berlin", "1003")).toEqual({ store_id: "berlin", order_id: "1003", kind: "refund", amount_cents: 1999, net_cents: -1999, currency: "EUR", original_order_id: "1001", ordered_at: "2026-11-28T11:02:00.000Z", order_day: "2026-11-28" });
    expect(row("munich", "2002")).toMatchObject({ amount_cents: 125_000, net_cents: 125_000, original_order_id: null, ordered_at: "2026-11-28T13:12:00.000Z", order_day: "2026-11-28" });
    // The first of the two berlin/1002 lines is the one kept.
    expect(row("berlin", "1002")).toMatchObject({ ordered_at: "2026-11-28T09:40:00.000Z" });

    // The day per store, as orders-daily rolls it up.
    const days = new Map<string, { net_cents: number; sales: number; refunds: number }>();
    for (const { store_id, order_day, net_cents, kind } of result.rows as { store_id: string; order_day: string; net_cents: number; kind: string }[]) {
      const day = days.get(`${store_id}/${order_day}`) ?? { net_cents: 0, sales: 0, refunds: 0 };
      days.set(`${store_id}/${order_day}`, { net_cents: day.net_cents + net_cents, sales: day.sales + (kind === "sale" ? 1 : 0), refunds: day.refunds + (kind === "refund" ? 1 : 0) });
    }
    expect(Object.fromEntries(days)).toEqual({
      "berlin/2026-11-28": { net_cents: 15_739, sales: 12, refunds: 2 },
      "hamburg/2026-11-28": { net_cents: 18_735, sales: 11, refunds: 1 },
      "munich/2026-11-28": { net_cents: 142_805, sales: 11, refunds: 1 },
    });
  });

  it("passes its checks: 2 of 42 lines rejected is under 5 %, every currency known, every refund naming a sale of its store", async () => {
    const result = await runPipeline(orders);
    expect(result.checks?.blocked).toBe(false);
    expect(result.checks?.results.map(({ name, outcome, found }) => ({ name, outcome, found }))).toEqual([
      { name: "reject_rate", outcome: "passed", found: "4.76 % (2 of 42)" },
      { name: "accepted_values(currency)", outcome: "passed", found: "0 offending rows" },
      { name: "refund_has_order", outcome: "passed", found: "0 offending rows" },
      // No successful run yet to compare with.
      { name: "row_count", outcome: "skipped", found: "39 rows" },
    ]);
  });

  it("loads one store's orders for a run given params.store, the others skipped and still counted", async () => {
    const result = await runPipeline(orders, { params: { store: "berlin" } });
    expect(result.accounting).toEqual({ extracted: 42, loaded: 14, rejected: 2, skipped: 26, balanced: true });
    expect(new Set(result.rows.map((row) => row.store_id))).toEqual(new Set(["berlin"]));
    // hamburg/1003 is still rejected: the record schema checks every line before the transform sees it.
    expect(result.rejected.map(({ id, stage }) => [id, stage])).toEqual([
      ["hamburg/1003", "transform"],
      ["berlin/1002", "load"],
    ]);
  });

  it("skips the stores ORDERS_CONFIG names as test stores, and none when it names none", async () => {
    expect((await runPipeline(orders, { config: { testStores: ["test", "munich"] } })).accounting).toMatchObject({ loaded: 26, skipped: 13 });
    const none = await runPipeline(orders, { config: { testStores: [] } });
    expect(none.accounting).toMatchObject({ loaded: 39, skipped: 0 });
    expect(none.rows).toContainEqual(expect.objectContaining({ store_id: "test", order_id: "9001", amount_cents: 100 }));
  });

  it("refuses a param that is not a store code, naming it", async () => {
    await expect(runPipeline(orders, { params: { store: "Berlin!" } })).rejects.toThrow("invalid params: params.store: must be a store code (lower-case letters, digits, dashes)");
    await expect(runPipeline(orders, { params: { region: "eu" } })).rejects.toThrow("params.region");
  });

  it("refuses a line with a date without a zone, naming the field", async () => {
    const result = await runPipeline(orders, { records: [line(), line({ order_id: "2", ordered_at: "2026-12-01 10:00" })] });
    expect(result.rejected).toEqual([expect.objectContaining({ position: 1, id: "berlin/2", stage: "transform", reason: expect.stringMatching(/^ordered_at: must be an ISO-8601 date-time with a zone/) })]);
  });
});

describe("the orders pipeline's settings", () => {
  it("is due 45 minutes after each slot, hourly at minute 15 on Berlin's clock", () => {
    const resolved = resolveSettings(orders, env);
    expect(resolved.ok && resolved.settings.schedule).toMatchObject({ cron: "15 * * * *", timezone: "Europe/Berlin", deadlineMs: 45 * 60_000 });
    expect(resolved.ok && resolved.settings.destination).toMatchObject({ uri: "d1://scheduled-pipeline/orders", key: ["store_id", "order_id"], duplicates: "reject" });
    expect(resolved.ok && resolved.settings.csvColumns).toEqual(["store_id", "order_id", "kind", "amount", "currency", "original_order_id", "ordered_at"]);
  });

  it("reads ORDERS_SOURCE_URL as a CSV source, and ORDERS_CONFIG for its own settings", () => {
    const resolved = resolveSettings(orders, { ...env, ORDERS_SOURCE_URL: "https://pos.example.com/export.csv", ORDERS_CONFIG: '{"testStores":[],"retries":{"maxAttempts":5}}' });
    expect(resolved.ok && resolved.settings.sources).toEqual([expect.objectContaining({ kind: "http", url: "https://pos.example.com/export.csv", format: "csv" })]);
    expect(resolved.ok && [resolved.settings.config, resolved.settings.retry.stage.maxAttempts]).toEqual([{ testStores: [] }, 5]);
  });

  it("names ORDERS_CONFIG in its errors", () => {
    expect(resolveSettings(orders, { ...env, ORDERS_CONFIG: { testStores: "x" } })).toEqual({ ok: false, errors: ["ORDERS_CONFIG.testStores: Invalid input: expected array, received string"] });
  });
});

describe("the orders checks", () => {
  it("reject_rate: an export with 3 of its 20 lines refused fails before anything is loaded", async () => {
    const records = sales(20);
    records[3] = line({ order_id: "4", amount: "12.345" });
    records[11] = line({ order_id: "12", kind: "refund", original_order_id: "" });
    records[17] = line({ order_id: "18", ordered_at: "yesterday" });
    const result = await runPipeline(orders, { records });
    expect(result.status).toBe("failed");
    expect(result.errorCode).toBe("checks_failed");
    expect(result.error).toBe("checks failed: reject_rate: expected at most 5 % of the extracted records rejected, found 15 % (3 of 20)");
    expect(check(result, "reject_rate")).toMatchObject({ severity: "error", outcome: "failed", expected: "at most 5 % of the extracted records rejected", found: "15 % (3 of 20)" });
    expect(result.rows).toEqual([]);
    expect(result.transformed).toHaveLength(17);
    expect(result.accounting).toMatchObject({ extracted: 20, loaded: 0, rejected: 3 });
  });

  it("reject_rate: one line of 20 refused (5 %) loads the rest", async () => {
    const records = sales(20);
    records[3] = line({ order_id: "4", amount: "12.345" });
    const result = await runPipeline(orders, { records });
    expect(result.status).toBe("succeeded");
    expect(check(result, "reject_rate")).toMatchObject({ outcome: "passed", found: "5 % (1 of 20)" });
    expect(result.accounting).toEqual({ extracted: 20, loaded: 19, rejected: 1, skipped: 0, balanced: true });
  });

  it("accepted_values(currency): a line in a currency no store sells in blocks the load, naming the record", async () => {
    // The record schema takes any three upper-case letters: only the check knows which ones are real.
    const result = await runPipeline(orders, { records: [line(), line({ order_id: "2", currency: "CHF" }), line({ order_id: "3", currency: "XYZ" }), line({ order_id: "4" })] });
    expect(result.status).toBe("failed");
    expect(result.errorCode).toBe("checks_failed");
    expect(check(result, "accepted_values(currency)")).toMatchObject({
      outcome: "failed",
      expected: 'currency in ["EUR","CHF","GBP","PLN","DKK","SEK","CZK","USD"]',
      found: "1 offending row",
      offending: 1,
      sample: [{ position: 2, id: "berlin/3", values: { currency: "XYZ" } }],
    });
    expect(result.rows).toEqual([]);
  });

  describe("refund_has_order", () => {
    const refund = line({ order_id: "9", kind: "refund", amount: "10.00", original_order_id: "777", ordered_at: "2026-12-01T12:00:00Z" });

    it("fails for a refund whose original order is neither in the export nor in the table", async () => {
      const result = await runPipeline(orders, { records: [...sales(3), refund], tables: { orders: [{ store_id: "berlin", order_id: "1" }] } });
      expect(result.status).toBe("failed");
      expect(result.errorCode).toBe("checks_failed");
      expect(check(result, "refund_has_order")).toMatchObject({
        outcome: "failed",
        expected: "every store_id, original_order_id present in the destination of pipeline orders (store_id, order_id)",
        found: "1 offending row",
        sample: [{ position: 3, id: "berlin/9", values: { store_id: "berlin", original_order_id: "777" } }],
      });
    });

    it("passes when the original order was loaded before (in the orders table)", async () => {
      const result = await runPipeline(orders, { records: [...sales(3), refund], tables: { orders: [{ store_id: "berlin", order_id: "777" }] } });
      expect(result.status).toBe("succeeded");
      expect(check(result, "refund_has_order")).toMatchObject({ outcome: "passed", offending: 0 });
      expect(result.rows).toHaveLength(4);
    });

    it("passes when the original order is a sale of the same export", async () => {
      const result = await runPipeline(orders, { records: [...sales(3), line({ order_id: "777" }), refund] });
      expect(check(result, "refund_has_order")).toMatchObject({ outcome: "passed", offending: 0 });
    });

    it("fails when the order it names belongs to another store", async () => {
      const result = await runPipeline(orders, { records: [...sales(3), line({ order_id: "777" }), { ...refund, store_id: "hamburg" }], tables: { orders: [{ store_id: "munich", order_id: "777" }] } });
      expect(check(result, "refund_has_order")).toMatchObject({ outcome: "failed", sample: [{ position: 4, id: "hamburg/9", values: { store_id: "hamburg", original_order_id: "777" } }] });
    });
  });

  it("row_count: an hour far below the usual size warns and still loads", async () => {
    // The usual is the median of the last 24 successful runs: 40 here, so at least 20 % of it is 8 rows.
    const history = [40, 38, 42, 41, 39];
    const small = await runPipeline(orders, { records: sales(5), history });
    expect(small.status).toBe("succeeded");
    expect(check(small, "row_count")).toMatchObject({ severity: "warn", outcome: "failed", expected: "at least 20 % of the usual 40 (median of the last 5 successful runs): ≥ 8 rows", found: "5 rows" });
    expect(small.checks?.blocked).toBe(false);
    expect(small.rows).toHaveLength(5);

    expect(check(await runPipeline(orders, { records: sales(8), history }), "row_count")).toMatchObject({ outcome: "passed", found: "8 rows" });
    expect(check(await runPipeline(orders, { history }), "row_count")).toMatchObject({ outcome: "passed", found: "39 rows" });
  });
});
