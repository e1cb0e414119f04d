/**
 * CSV from a hostile source. A broken quote must never swallow rows silently: by default it fails the
 * payload naming its line; with `quoteErrors: "reject-row"` exactly the broken row is rejected and every
 * other row is read. Rows with the wrong number of fields, or over the record limit, are one rejected
 * record each. Checked on 100,000-row files broken near the top, in the middle and on the last line.
 */
import { describe, expect, it } from "vitest";
import { csvRecords, type CsvOptions } from "../../src/sources/formats/csv-records";
import { body, collect, failure, MiB, never, reasons, records } from "./support";

function read(text: string, options: Partial<CsvOptions> = {}, size = 7) {
  return collect(csvRecords(body(text, size), { delimiter: ",", requiredColumns: ["id"], quoteErrors: "fail", maxRecordLines: 100, maxRecordBytes: MiB, signal: never, ...options }));
}

describe("CSV", () => {
  it("maps rows to objects by the header, with quoted commas, doubled quotes and newlines, across chunks", async () => {
    const text = 'id,value,timestamp,note\na,1.5,2024-01-01T00:00:00Z,"x, y"\nb,2,1700000000000,"two\nlines, ""quoted"""\nc,3,0,\n';
    expect(records(await read(text, {}, 5))).toEqual([
      { id: "a", value: "1.5", timestamp: "2024-01-01T00:00:00Z", note: "x, y" },
      { id: "b", value: "2", timestamp: "1700000000000", note: 'two\nlines, "quoted"' },
      { id: "c", value: "3", timestamp: "0", note: "" },
    ]);
  });

  it("reads CRLF line endings, a BOM, blank lines and a last row without a newline", async () => {
    const text = '\uFEFFid,value\r\n\r\na,"1"\r\n  \r\nb,2';
    expect(records(await read(text, {}, 3))).toEqual([
      { id: "a", value: "1" },
      { id: "b", value: "2" },
    ]);
  });

  it.each([3, 7, 4096])("turns rows with the wrong number of fields into bad items naming the line (chunks of %i bytes)", async (size) => {
    const items = await read("id,value,timestamp\na,1,0\nb,2\nc,3,0\nd,4,0,extra\ne,5,0\n", {}, size);
    expect(items.map((item) => item.ok)).toEqual([true, false, true, false, true]);
    expect(reasons(items)).toEqual(["CSV line 3: Too few fields: expected 3 fields but parsed 2", "CSV line 5: Too many fields: expected 3 fields but parsed 4"]);
    expect(items[1]).toMatchObject({ raw: '"b,2"' });
  });

  it("uses another delimiter", async () => {
    expect(records(await read("id;value\na;1\n", { delimiter: ";" }))).toEqual([{ id: "a", value: "1" }]);
    expect(records(await read("id\tvalue\na\t1\n", { delimiter: "\t" }))).toEqual([{ id: "a", value: "1" }]);
  });

  it("fails when the header lacks a mapped column, listing the columns it has", async () => {
    const error = await failure(read("sensor,reading\na,1\n", { requiredColumns: ["id", "value"] }));
    expect(error.message).toBe('the CSV header has no column "id", "value" (columns: sensor, reading)');
  });

  it("fails when the header names a column twice, rather than renaming one silently", async () => {
    expect((await failure(read("id,value,value\na,1,2\n"))).message).toBe('the CSV header names the column "value" twice');
  });

  it("treats a column named __proto__ as a column", async () => {
    const [item] = await read("id,__proto__\na,1\n");
    expect(item).toMatchObject({ ok: true });
    expect(Object.hasOwn((item as { record: object }).record, "__proto__")).toBe(true);
  });

  it.each([
    ["", "the source answered with an empty body (a CSV needs at least a header row)"],
    ["\n\n", "the source answered with an empty body (a CSV needs at least a header row)"],
    ["<html><body>login</body></html>", "the source answered with HTML or XML, not CSV"],
  ])("refuses %j", async (text, message) => {
    expect((await failure(read(text))).message).toBe(message);
  });
});

describe("quote errors", () => {
  it.each([
    ["an unterminated quote", 'id,value\na,1\nb,"2\nc,3\n', 'CSV line 3: a quoted field opened on line 3 never closes (the file ends inside it)'],
    ["a quote inside an unquoted field", 'id,value\na,1\nb,2"5\nc,3\n', "CSV line 3: a quote inside an unquoted field (field 2)"],
    ["text after a closing quote", 'id,value\na,1\nb,"2"5\nc,3\n', "CSV line 3: text after the closing quote of field 2"],
    ["a quoted field over more lines than allowed", `id,value\na,1\nb,"${"x\n".repeat(5)}"\nc,3\n`, "CSV line 3: a quoted field opened on line 3 runs over more than 3 lines (an unterminated or misplaced quote?)"],
  ])("%s fails the payload by default, naming the line", async (_, text, message) => {
    const error = await failure(read(text, { maxRecordLines: 3 }));
    expect(error.message).toBe(`${message} (set csvQuoteErrors to "reject-row" to reject such rows and read the rest)`);
  });

  it.each([
    ["an unterminated quote", 'id,value\na,1\nb,"2\nc,3\nd,4\n', 'b,"2'],
    ["a quote inside an unquoted field", 'id,value\na,1\nb,2"5\nc,3\nd,4\n', 'b,2"5'],
    ["text after a closing quote", 'id,value\na,1\nb,"2"5\nc,3\nd,4\n', 'b,"2"5'],
    ["a quoted field over more lines than allowed", 'id,value\na,1\nb,"2\nc,3\nd,4\n', 'b,"2'],
  ])("with reject-row, %s rejects exactly that row and reads the rest", async (_, text, raw) => {
    for (const size of [2, 5, 4096]) {
      const items = await read(text, { quoteErrors: "reject-row", maxRecordLines: 2 }, size);
      expect(items.map((item) => (item.ok ? (item.record as { id: string }).id : "rejected"))).toEqual(["a", "rejected", "c", "d"]);
      expect(items[1]).toMatchObject({ raw: JSON.stringify(raw) });
      expect(reasons(items)[0]).toMatch(/^CSV line 3: /);
    }
  });

  it("with reject-row, a quote over the record limit is taken for a broken one and the lines it swallowed are read", async () => {
    const text = `id,value\na,1\nb,"${"y".repeat(600)}\n${Array.from({ length: 20 }, (_, index) => `r${index},${"z".repeat(50)}`).join("\n")}\n`;
    const items = await read(text, { quoteErrors: "reject-row", maxRecordBytes: 1024, maxRecordLines: 1_000 }, 64);
    expect(items).toHaveLength(22);
    expect(items.filter((item) => !item.ok)).toHaveLength(1);
    expect(reasons(items)[0]).toMatch(/^CSV line 3: a quoted field opened on line 3 is over the record limit of 1\.0 KiB/);
  });

  it("a broken quote in the header fails the payload in either mode", async () => {
    expect((await failure(read('id,"value\na,1\n', { quoteErrors: "reject-row" }))).message).toBe("CSV line 1: a quoted field opened on line 1 never closes (the file ends inside it)");
  });
});

describe("100,000 rows with one broken row", () => {
  const rows = (broken: number, row: string) =>
    `id,value,timestamp\n${Array.from({ length: 100_000 }, (_, index) => (index + 1 === broken ? row : `r${index + 1},${index},0`)).join("\n")}\n`;
  const cases = [
    ["near the top", 4, 'r4,"broken,0'],
    ["in the middle", 50_000, 'r50000,"ok"x,0'],
    ["on the last line", 100_000, 'r100000,"never closed,0'],
  ] as const;

  it.each(cases)("broken %s (row %i) fails by default, naming its line", async (_, broken, row) => {
    const error = await failure(read(rows(broken, row), {}, 65_536));
    expect(error.message).toContain(`CSV line ${broken + 1}:`);
  });

  it.each(cases)("broken %s (row %i) with reject-row: 99,999 rows and exactly that one rejected", async (_, broken, row) => {
    const items = await read(rows(broken, row), { quoteErrors: "reject-row" }, 65_536);
    expect(items).toHaveLength(100_000);
    const rejected = items.flatMap((item, index) => (item.ok ? [] : [index]));
    expect(rejected).toEqual([broken - 1]);
    expect(items[broken - 1]).toMatchObject({ raw: JSON.stringify(row) });
    const ids = items.filter((item) => item.ok).map((item) => (item.record as { id: string }).id);
    expect(new Set(ids).size).toBe(99_999);
    expect(ids.includes(`r${broken}`)).toBe(false);
  });
});

describe("a row over the record limit", () => {
  it("is one rejected record, quoted or not; the rows around it load", async () => {
    const text = `id,value\na,1\nb,${"x".repeat(5_000)}\nc,"${"y".repeat(5_000)}"\nd,4\n`;
    const items = await read(text, { maxRecordBytes: 1024 }, 256);
    expect(items.map((item) => item.ok)).toEqual([true, false, false, true]);
    expect(reasons(items)).toEqual(["CSV line 3 is 4.9 KiB, over the record limit of 1.0 KiB", "CSV line 4 is 4.9 KiB, over the record limit of 1.0 KiB"]);
  });
});
