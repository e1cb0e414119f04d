/**
 * The benchmark's one-request jobs (issue 21's floor) must do the pipeline's work, or the ratio against
 * them means nothing: the same rows written, the same records refused, and the orders checks blocking the
 * batch before any row is written. Run against the real D1 binding.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createPlainTable, LiteralUpsert } from "../../bench/literal-upsert";
import { lines, METRICS_COPY, ORDERS_COPY, orderLine, ordersJob, readingRow, readingsJob } from "../../bench/one-request-job";
import { formatOrder, formatRecord, ORDERS_CSV_HEADER, syntheticOrderRow, syntheticRecord, syntheticRow } from "../../bench/synthetic";

const SIZES = { rowsPerStatement: 7, statementsPerBatch: 3 };

function stream(text: string, piece = 97): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      for (let start = 0; start < bytes.length; start += piece) controller.enqueue(bytes.slice(start, start + piece));
      controller.close();
    },
  });
}

async function freshTable(copy: typeof METRICS_COPY, types: string[], nullable: boolean[]) {
  await createPlainTable(env.DB, { ...copy, types, nullable });
}
const metricsTable = () => freshTable(METRICS_COPY, ["text", "text", "text", "real", "text", "text"], [false, false, false, false, false, true]);
const ordersTable = () => freshTable(ORDERS_COPY, ["text", "text", "text", "integer", "integer", "text", "text", "text", "text"], [false, false, false, false, false, false, true, false, false]);

describe("the literal upsert", () => {
  it("writes every row, quotes included, and a second write of a key replaces it", async () => {
    await metricsTable();
    const writer = new LiteralUpsert(env.DB, METRICS_COPY, 2, 2);
    await writer.add(["default", "it's", "2026-01-01T00:00:00.000Z", 1.5, "low", null]);
    for (let index = 0; index < 6; index += 1) await writer.add(["default", `r${index}`, "t", index, "low", "x"]);
    await writer.add(["default", "it's", "t", 250, "high", "o'clock"]);
    expect(await writer.finish()).toBe(8);
    const rows = await env.DB.prepare("SELECT id, value, type FROM floor_metrics ORDER BY id").all();
    expect(rows.results).toHaveLength(7);
    expect(rows.results[0]).toEqual({ id: "it's", value: 250, type: "o'clock" });
  });
});

describe("the readings job", () => {
  const records = Array.from({ length: 60 }, (_, index) => syntheticRecord(index));

  it.each(["ndjson", "json", "csv"] as const)("writes the rows the default pipeline writes (%s)", async (format) => {
    await metricsTable();
    const text =
      format === "json" ? JSON.stringify(records) : format === "ndjson" ? records.map((record) => `${formatRecord(record, "ndjson")}\n`).join("") : `id,value,timestamp,type\n${records.map((record) => `${formatRecord(record, "csv")}\n`).join("")}`;
    const result = await readingsJob(env.DB, stream(text), format, SIZES);
    expect(result).toEqual({ read: 60, written: 60, rejected: 0, skipped: 0 });
    const rows = await env.DB.prepare("SELECT pipeline, id, timestamp, value, category, type FROM floor_metrics ORDER BY CAST(substr(id, 2) AS INTEGER)").all();
    expect(rows.results).toEqual(records.map((_, index) => ({ pipeline: "default", ...syntheticRow(index) })));
  });

  it("refuses what the pipeline refuses: no id, a value that is not a number, a bad time, a repeated id", async () => {
    await metricsTable();
    const text = ['{"id":"a","value":"1.5","timestamp":1700000000000}', '{"value":1,"timestamp":1}', '{"id":"b","value":"invalid","timestamp":1}', '{"id":"c","value":1,"timestamp":"soon"}', '{"id":"a","value":2,"timestamp":1}', "not json", '{"id":"d","value":300,"timestamp":"2026-01-01T00:00:00Z","metadata":{"type":"x"}}'].join("\n");
    expect(await readingsJob(env.DB, stream(text, 5), "ndjson", SIZES)).toEqual({ read: 7, written: 2, rejected: 5, skipped: 0 });
    expect(readingRow("d", 300, "2026-01-01T00:00:00Z", "x")).toEqual(["default", "d", "2026-01-01T00:00:00.000Z", 300, "high", "x"]);
  });

  it("splits lines across stream pieces", async () => {
    const found: string[] = [];
    for await (const line of lines(stream("ab\ncd\n\nef", 1))) found.push(line);
    expect(found).toEqual(["ab", "cd", "ef"]);
  });
});

describe("the orders job", () => {
  const csv = (count: number, change: (line: string, index: number) => string = (line) => line) => ORDERS_CSV_HEADER + Array.from({ length: count }, (_, index) => `${change(formatOrder(index), index)}\n`).join("");
  const twice = (text: string) => async () => stream(text);

  it("checks, then writes the rows the orders pipeline writes", async () => {
    await ordersTable();
    const result = await ordersJob(env.DB, twice(csv(50)), SIZES);
    expect(result).toEqual({ read: 50, written: 50, rejected: 0, skipped: 0, checks: { rejectRate: 0, unknownCurrencies: 0, missingOrders: 0, blocked: false } });
    const rows = await env.DB.prepare(`SELECT ${ORDERS_COPY.columns.join(", ")} FROM floor_orders ORDER BY CAST(substr(order_id, 2) AS INTEGER)`).all();
    expect(rows.results).toEqual(Array.from({ length: 50 }, (_, index) => syntheticOrderRow(index)));
  });

  it("blocks the batch, writing nothing, when a currency is unknown or a refund's order is nowhere", async () => {
    await ordersTable();
    const unknown = await ordersJob(env.DB, twice(csv(50, (line, index) => (index === 3 ? line.replace(",EUR,", ",XXX,") : line))), SIZES);
    expect(unknown).toMatchObject({ written: 0, checks: { unknownCurrencies: 1, blocked: true } });
    const orphan = await ordersJob(env.DB, twice(csv(50, (line, index) => (index === 9 ? line.replace(",o8,", ",o999,") : line))), SIZES);
    expect(orphan).toMatchObject({ written: 0, checks: { missingOrders: 1, blocked: true } });
    expect((await env.DB.prepare("SELECT count(*) AS n FROM floor_orders").first())!.n).toBe(0);
  });

  it("finds a refund's order among the rows loaded before, and refuses bad lines and repeats", async () => {
    await ordersTable();
    await env.DB.prepare("INSERT INTO floor_orders VALUES ('store-8', 'o999', 'sale', 100, 100, 'EUR', NULL, '2026-01-01T00:00:00.000Z', '2026-01-01')").run();
    const text = csv(100, (line, index) => (index === 9 ? line.replace(",o8,", ",o999,") : index === 5 ? line.replace(",EUR,", ",EURO,") : line)) + `${formatOrder(2)}\ntest,o5000,sale,1.00,EUR,,2026-01-01T00:00:00Z\n`;
    expect(await ordersJob(env.DB, twice(text), SIZES)).toEqual({ read: 102, written: 99, rejected: 2, skipped: 1, checks: { rejectRate: 2 / 102, unknownCurrencies: 0, missingOrders: 0, blocked: false } });
    expect((await env.DB.prepare("SELECT count(*) AS n FROM floor_orders").first())!.n).toBe(100);
  });

  it("blocks a batch with more than 5 % of its lines refused", async () => {
    await ordersTable();
    const result = await ordersJob(env.DB, twice(csv(40, (line, index) => (index < 3 ? line.replace("sale", "gift") : line))), SIZES);
    expect(result).toMatchObject({ read: 40, written: 0, rejected: 3, checks: { blocked: true } });
  });

  it("skips the test store's lines", () => {
    expect(orderLine("test,o1,sale,1.00,EUR,,2026-01-01T00:00:00Z")).toEqual({ skip: true });
    expect(orderLine("a,o1,refund,1.00,EUR,,2026-01-01T00:00:00Z")).toBeNull();
  });
});
