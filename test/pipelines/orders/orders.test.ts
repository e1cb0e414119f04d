/**
 * The orders example on its own sample: money in integer cents, the derived columns, a refund without
 * its original order rejected, a test store skipped, bad amounts and dates refused naming the field.
 */
import { describe, expect, it } from "vitest";
import { applyTransform } from "../../../src/engine/apply-transform";
import { checkParams } from "../../../src/engine/params";
import { resolveSettings } from "../../../src/engine/settings";
import { toCents } from "../../../src/pipelines/orders/money";
import orders from "../../../src/pipelines/orders/pipeline";
import { readSample } from "../../../src/sources/sample/read";

const env = { D1_DATABASE_NAME: "scheduled-pipeline", ORDERS_SOURCE_URL: "", ORDERS_CONFIG: {} };

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
  it("loads, rejects and skips each line as its kind of problem says", async () => {
    const resolved = resolveSettings(orders, env);
    if (!resolved.ok) throw new Error(resolved.errors.join("; "));
    const { destination, config, csvColumns } = resolved.settings;
    expect(destination).toMatchObject({ uri: "d1://scheduled-pipeline/orders", key: ["store_id", "order_id"], duplicates: "reject" });
    expect(csvColumns).toEqual(["store_id", "order_id", "kind", "amount", "currency", "original_order_id", "ordered_at"]);
    const items = [];
    for await (const batch of readSample(orders.sample!, { csvColumns, maxRecordBytes: 1 << 20, signal: new AbortController().signal })) items.push(...batch);
    const context = { runId: "manual-1", pipeline: "orders", trigger: "manual" as const, scheduledFor: null, asOf: 0, timezone: "Europe/Berlin", config, params: {} };
    const outcomes = items.map((item) => (item.ok ? applyTransform(orders, destination, item.record, context) : item));
    expect(outcomes.map((outcome) => ("kind" in outcome ? (outcome.kind === "row" ? outcome.id : `${outcome.kind}`) : "unparsable"))).toEqual([
      "berlin/1001",
      "berlin/1002",
      "berlin/1003",
      "hamburg/1001",
      "rejected",
      "rejected",
      "munich/2001",
      "munich/2002",
      "skipped",
      "berlin/1002",
    ]);
    expect(outcomes[2]).toEqual({ kind: "row", id: "berlin/1003", values: ["berlin", "1003", "refund", 1999, -1999, "EUR", "1001", "2026-11-28T11:02:00.000Z", "2026-11-28"] });
    expect(outcomes[7]).toMatchObject({ values: ["munich", "2002", "sale", 125_000, 125_000, "EUR", null, "2026-11-28T13:12:00.000Z", "2026-11-28"] });
    expect(outcomes[4]).toEqual({ kind: "rejected", id: "hamburg/1002", reason: "refund 1002 names no original order" });
    expect(outcomes[5]).toEqual({ kind: "rejected", id: "hamburg/1003", reason: 'amount: must be an amount with at most two decimals, such as "19.99"' });

    // A run for one store loads only its orders; the others are skipped, and still counted.
    const berlin = items.map((item) => (item.ok ? applyTransform(orders, destination, item.record, { ...context, params: { store: "berlin" } }).kind : "unparsable"));
    // (hamburg/1003 is still rejected: the record schema checks every line before the transform sees it.)
    expect(berlin).toEqual(["row", "row", "row", "skipped", "skipped", "rejected", "skipped", "skipped", "skipped", "row"]);
  });

  it("takes a store as its one param, and is due 45 minutes after each slot", () => {
    expect(checkParams(orders, { store: "berlin" })).toEqual({ ok: true, params: { store: "berlin" } });
    expect(checkParams(orders, { store: "Berlin!" })).toEqual({ ok: false, problems: [{ field: "params.store", message: "must be a store code (lower-case letters, digits, dashes)" }] });
    const resolved = resolveSettings(orders, env);
    expect(resolved.ok && resolved.settings.schedule.deadlineMs).toBe(45 * 60_000);
  });

  it("reads ORDERS_SOURCE_URL as a CSV source, and ORDERS_CONFIG for its own settings", () => {
    const resolved = resolveSettings(orders, { ...env, ORDERS_SOURCE_URL: "https://pos.example.com/export.csv", ORDERS_CONFIG: '{"testStores":[],"retries":{"maxAttempts":5}}' });
    expect(resolved.ok && resolved.settings.sources).toEqual([expect.objectContaining({ kind: "http", url: "https://pos.example.com/export.csv", format: "csv" })]);
    expect(resolved.ok && [resolved.settings.config, resolved.settings.retry.stage.maxAttempts]).toEqual([{ testStores: [] }, 5]);
    expect(resolved.ok && resolved.settings.schedule).toMatchObject({ cron: "15 * * * *", timezone: "Europe/Berlin" });
  });

  it("names ORDERS_CONFIG in its errors", () => {
    expect(resolveSettings(orders, { ...env, ORDERS_CONFIG: { testStores: "x" } })).toEqual({ ok: false, errors: ["ORDERS_CONFIG.testStores: Invalid input: expected array, received string"] });
  });
});
