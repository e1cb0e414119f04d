/**
 * The benchmark's local source streams its bodies block by block (issue 21: 10,000,000 records do not fit
 * one string); joined, the blocks are exactly the body the formats promise, and the server sends them.
 */
import { describe, expect, it } from "vitest";
import { bodyBlocks, startSyntheticSource } from "../../scripts/lib/synthetic-source.ts";
import { formatOrder, formatRecord, syntheticRecord } from "../../bench/synthetic.ts";

const body = (count: number, format: "json" | "ndjson" | "csv", orders = false, blockRecords = 7) => [...bodyBlocks({ count, format, orders, days: null, rate: null }, blockRecords)].join("");

describe("the synthetic source's body", () => {
  it("is the same records in every format, whatever the block size", () => {
    const records = Array.from({ length: 23 }, (_, index) => syntheticRecord(index));
    expect(JSON.parse(body(23, "json"))).toEqual(records);
    expect(body(23, "ndjson").split("\n").filter(Boolean).map((line) => JSON.parse(line))).toEqual(records);
    expect(body(23, "csv")).toBe(`id,value,timestamp,type\n${records.map((record) => `${formatRecord(record, "csv")}\n`).join("")}`);
    expect(body(23, "ndjson", false, 5)).toBe(body(23, "ndjson", false, 1_000));
    expect(body(23, "csv", true)).toBe(`store_id,order_id,kind,amount,currency,original_order_id,ordered_at\n${Array.from({ length: 23 }, (_, index) => `${formatOrder(index)}\n`).join("")}`);
  });

  it("is a valid empty body for no records", () => {
    expect(JSON.parse(body(0, "json"))).toEqual([]);
    expect(body(0, "ndjson")).toBe("");
    expect(body(0, "csv")).toBe("id,value,timestamp,type\n");
  });

  it("is generated lazily: the first block of a huge body arrives without the rest", () => {
    const blocks = bodyBlocks({ count: 1e12, format: "ndjson", orders: false, days: null, rate: null }, 3);
    expect(blocks.next().value).toBe([0, 1, 2].map((index) => `${formatRecord(syntheticRecord(index), "ndjson")}\n`).join(""));
  });

  it("is what the server sends", async () => {
    const source = await startSyntheticSource();
    try {
      const response = await fetch(`${source.base}/records?n=25000&format=ndjson`);
      expect(response.headers.get("content-type")).toBe("application/x-ndjson");
      expect(await response.text()).toBe(body(25_000, "ndjson", false, 10_000));
    } finally {
      await source.close();
    }
  });

  it("is paced at the rate asked for, and the same body", async () => {
    const source = await startSyntheticSource();
    try {
      const started = performance.now();
      const response = await fetch(`${source.base}/records?n=4000&format=ndjson&rate=10000`);
      const text = await response.text();
      // 4,000 records at 10,000 a second, in blocks of 500: the last block leaves 350 ms after the first.
      expect(performance.now() - started).toBeGreaterThanOrEqual(340);
      expect(text).toBe(body(4_000, "ndjson"));
    } finally {
      await source.close();
    }
  });
});
