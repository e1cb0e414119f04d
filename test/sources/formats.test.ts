/**
 * The source format parsers on their own, fed in awkward pieces: records come out in order whatever the
 * chunk boundaries, bad lines and rows become bad items (never dropped), bad payloads fail with a reason.
 */
import { describe, expect, it } from "vitest";
import { csvRecords } from "../../src/sources/formats/csv-records";
import { jsonRecords } from "../../src/sources/formats/json-records";
import { ndjsonRecords } from "../../src/sources/formats/ndjson-records";
import { nextLink } from "../../src/sources/link-header";
import type { SourceItem } from "../../src/sources/source-items";

/** A body delivered `size` bytes at a time, so parsers must carry state across chunk boundaries. */
function body(text: string, size = 7): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

async function collect(items: AsyncGenerator<SourceItem[]>): Promise<SourceItem[]> {
  const all: SourceItem[] = [];
  for await (const batch of items) all.push(...batch);
  return all;
}

const records = (items: SourceItem[]) => items.map((item) => (item.ok ? item.record : { bad: item.reason }));

describe("JSON", () => {
  it("streams the elements of a top-level array, across chunk boundaries", async () => {
    const text = JSON.stringify([{ id: "a", value: "1" }, { id: "b", nested: { x: [1, 2] } }, "odd", null]);
    expect(records(await collect(jsonRecords(body(text), "", null).items))).toEqual([{ id: "a", value: "1" }, { id: "b", nested: { x: [1, 2] } }, "odd", null]);
  });

  it("reads records at a path and the pagination field beside them", async () => {
    const page = jsonRecords(body(JSON.stringify({ meta: { total: 2 }, data: [{ id: "a" }, { id: "b" }], next: "/page/2" })), "data", "next");
    expect(records(await collect(page.items))).toEqual([{ id: "a" }, { id: "b" }]);
    expect(page.pageField()).toBe("/page/2");
  });

  it.each([
    ["", "", "the source answered with an empty body"],
    ["<!doctype html><p>oops</p>", "", "the source answered with HTML or XML, not JSON"],
    ['{"records": []}', "", "the source must answer with a JSON array of records, got object"],
    ["42", "", "the source must answer with a JSON array of records, got number"],
    ['[{"id": "a"}, {"id": "b', "", "the source answered with truncated JSON"],
    ['[{"id": "a"} {"id": "b"}]', "", "the source answered with malformed JSON: "],
    ['[{"id": "a"}]', "data", 'the source must answer with a JSON object holding the records at "data", got array'],
  ])("refuses %j (records at %j)", async (text, path, message) => {
    const error = await collect(jsonRecords(body(text), path, null).items).then(null, (e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(message);
  });
});

describe("NDJSON", () => {
  it("parses one record per line, with CRLF, blank lines and no final newline", async () => {
    const text = '{"id":"a"}\r\n\n{"id":"b"}\n  \n{"id":"c"}';
    expect(records(await collect(ndjsonRecords(body(text, 3))))).toEqual([{ id: "a" }, { id: "b" }, { id: "c" }]);
  });

  it("turns a line that is not JSON into a bad item naming the line, and carries on", async () => {
    const items = await collect(ndjsonRecords(body('{"id":"a"}\n{"id": oops}\n{"id":"c"}\n')));
    expect(items[0]).toEqual({ ok: true, record: { id: "a" } });
    expect(items[1]).toMatchObject({ ok: false, raw: '"{\\"id\\": oops}"' });
    expect((items[1] as { reason: string }).reason).toMatch(/^line 2 is not valid JSON: /);
    expect(items[2]).toEqual({ ok: true, record: { id: "c" } });
  });

  it("reads an empty body as no records", async () => {
    expect(await collect(ndjsonRecords(body("")))).toEqual([]);
  });

  it("refuses HTML", async () => {
    const error = await collect(ndjsonRecords(body("<html></html>"))).then(null, (e: unknown) => e);
    expect((error as Error).message).toBe("the source answered with HTML or XML, not NDJSON");
  });
});

describe("CSV (papaparse)", () => {
  it("maps rows to objects by the header, with quoted commas and newlines, across chunks", async () => {
    const text = 'id,value,timestamp,note\na,1.5,2024-01-01T00:00:00Z,"x, y"\nb,2,1700000000000,"two\nlines"\n';
    expect(records(await collect(csvRecords(body(text, 5), ",", ["id", "value", "timestamp"])))).toEqual([
      { id: "a", value: "1.5", timestamp: "2024-01-01T00:00:00Z", note: "x, y" },
      { id: "b", value: "2", timestamp: "1700000000000", note: "two\nlines" },
    ]);
  });

  it.each([3, 7, 4096])("turns rows with the wrong number of fields into bad items with papaparse's message (chunks of %i bytes)", async (size) => {
    const items = await collect(csvRecords(body("id,value,timestamp\na,1,0\nb,2\nc,3,0\nd,4,0,extra\ne,5,0\n", size), ",", ["id"]));
    expect(items.map((item) => item.ok)).toEqual([true, false, true, false, true]);
    expect((items[1] as { reason: string }).reason).toMatch(/^CSV row: Too few fields/);
    expect((items[3] as { reason: string }).reason).toMatch(/^CSV row: Too many fields/);
  });

  it("uses another delimiter", async () => {
    expect(records(await collect(csvRecords(body("id;value\na;1\n"), ";", ["id"])))).toEqual([{ id: "a", value: "1" }]);
  });

  it("fails when the header lacks a mapped column, listing the columns it has", async () => {
    const error = await collect(csvRecords(body("sensor,reading\na,1\n"), ",", ["id", "value"])).then(null, (e: unknown) => e);
    expect((error as Error).message).toBe('the CSV header has no column "id", "value" (columns: sensor, reading)');
  });

  it("handles many chunks with backpressure", async () => {
    const rows = Array.from({ length: 5_000 }, (_, index) => `r${index},${index},0`).join("\n");
    const items = await collect(csvRecords(body(`id,value,timestamp\n${rows}\n`, 4096), ",", ["id"]));
    expect(items).toHaveLength(5_000);
    expect(items.at(-1)).toEqual({ ok: true, record: { id: "r4999", value: "4999", timestamp: "0" } });
  });
});

describe("Link header", () => {
  it.each([
    ['<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=9>; rel="last"', "https://api.example.com/items?page=2"],
    ['<https://a.example/last>; rel="last", </items?page=3>; rel=next', "https://api.example.com/items?page=3"],
    ['<https://a.example/x>; rel="prev next"', "https://a.example/x"],
    ['<https://a.example/x>; rel="prev"', null],
    ["", null],
    [null, null],
  ])("%j → %j", (header, next) => {
    expect(nextLink(header, "https://api.example.com/items?page=1")).toBe(next);
  });
});

describe("the staging chunk format", () => {
  it("round-trips records and unparsable items in order", async () => {
    const { decodeNdjson, encodeNdjson, UnparsableItem } = await import("../../src/staging/ndjson");
    const text = encodeNdjson([{ id: "a" }, new UnparsableItem("{broken", "not JSON"), "!looks like a marker", null]);
    expect(text.split("\n")[1]).toBe('![\"{broken\",\"not JSON\"]');
    const back = decodeNdjson(text);
    expect(back[0]).toEqual({ id: "a" });
    expect(back[1]).toBeInstanceOf(UnparsableItem);
    expect(back[1]).toMatchObject({ raw: "{broken", reason: "not JSON" });
    expect(back.slice(2)).toEqual(["!looks like a marker", null]);
  });
});
