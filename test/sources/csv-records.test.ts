/**
 * CSV from a hostile source. A broken quote must never swallow rows silently: by default it fails the
 * payload naming its line; with `quoteErrors: "reject-row"` exactly the broken row is rejected and every
 * other row is read. Rows with the wrong number of fields, or over the record limit, are one rejected
 * record each. Checked on 100,000-row files broken near the top, in the middle and on the last line.
 */
import { describe, expect, it } from "vitest";
import { CsvSplitter, csvRecords, type CsvOptions } from "../../src/sources/formats/csv-records";
import { body, collect, failure, MiB, never, reasons, records } from "./support";

function read(text: string, options: Partial<CsvOptions> = {}, size = 7) {
  return collect(csvRecords(body(text, size), { delimiter: ",", requiredColumns: ["id"], quoteErrors: "fail", maxRecordLines: 1, maxRecordBytes: MiB, signal: never, ...options }));
}

describe("CSV", () => {
  it("maps rows to objects by the header, with quoted commas, doubled quotes and (when allowed) line breaks, across chunks", async () => {
    const text = 'id,value,timestamp,note\na,1.5,2024-01-01T00:00:00Z,"x, y"\nb,2,1700000000000,"two\nlines, ""quoted"""\nc,3,0,\n';
    expect(records(await read(text, { maxRecordLines: 2 }, 5))).toEqual([
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
    ["an unterminated quote", 'id,value\na,1\nb,"2', "CSV line 3: a quoted field opened on line 3 never closes (the file ends inside it)"],
    ["a quote that does not close on its line", 'id,value\na,1\nb,"2\nc,3\n', "CSV line 3: a quoted field opened on line 3 does not close on that line (an unterminated or misplaced quote; if the source's fields hold line breaks, raise csvMaxRecordLines)"],
    ["text after a closing quote", 'id,value\na,1\nb,"2"5\nc,3\n', "CSV line 3: text after the closing quote of field 2"],
  ])("%s fails the payload by default, naming the line", async (_, text, message) => {
    const error = await failure(read(text, { maxRecordLines: 1 }));
    expect(error.message).toBe(`${message} (set csvQuoteErrors to "reject-row" to reject such rows and read the rest)`);
  });

  it("a quoted field running past csvMaxRecordLines fails, naming the line it opened on", async () => {
    const error = await failure(read(`id,value\na,1\nb,"${"x\n".repeat(5)}"\nc,3\n`, { maxRecordLines: 3 }));
    expect(error.message).toMatch(/^CSV line 3: a quoted field opened on line 3 runs past 3 lines \(an unterminated or misplaced quote\?\)/);
  });

  it.each([
    ["an unterminated quote", 'id,value\na,1\nb,"2\nc,3\nd,4\n', 'b,"2'],
    ["text after a closing quote", 'id,value\na,1\nb,"2"5\nc,3\nd,4\n', 'b,"2"5'],
    ["an unterminated quote at the very end", 'id,value\na,1\nb,"2\nc,3\nd,4', 'b,"2'],
  ])("with reject-row, %s rejects exactly that row and reads the rest", async (_, text, raw) => {
    for (const size of [2, 5, 4096]) {
      const items = await read(text, { quoteErrors: "reject-row", maxRecordLines: 1 }, size);
      expect(items.map((item) => (item.ok ? (item.record as { id: string }).id : "rejected"))).toEqual(["a", "rejected", "c", "d"]);
      expect(items[1]).toMatchObject({ raw: JSON.stringify(raw) });
      expect(reasons(items)[0]).toMatch(/^CSV line 3: /);
    }
  });

  it("with multi-line fields allowed, a stray quote that pairs with a later one swallows no row", async () => {
    const text = 'id,v\n1,a\n2,"broken\n3,x\n4,"q"\n5,d\n6,"two\nlines"\n';
    for (const size of [3, 4096]) {
      const items = await read(text, { requiredColumns: ["id"], quoteErrors: "reject-row", maxRecordLines: 10 }, size);
      expect(items.map((item) => (item.ok ? (item.record as { id: string }).id : "rejected"))).toEqual(["1", "rejected", "3", "4", "5", "6"]);
      expect(items[1]).toMatchObject({ raw: JSON.stringify('2,"broken') });
      expect(reasons(items)).toEqual(["CSV line 3: a quoted field opened on line 3 does not close where a field can end (an unterminated or misplaced quote?)"]);
      expect(items[5]).toMatchObject({ record: { id: "6", v: "two\nlines" } });
    }
    const error = await failure(read(text, { requiredColumns: ["id"], maxRecordLines: 10 }));
    expect(error.message).toMatch(/^CSV line 3: a quoted field opened on line 3 does not close where a field can end/);
  });

  it("a quoted field over the record limit is one rejected record in either mode, and invents no rows", async () => {
    const inner = Array.from({ length: 20 }, (_, index) => `fake${index},999`).join("\n");
    const text = `id,value\na,1\nb,"${inner}\n${"z".repeat(2_000)}"\nc,3\n`;
    for (const quoteErrors of ["fail", "reject-row"] as const) {
      for (const size of [512, 65_536]) {
        const items = await read(text, { quoteErrors, maxRecordBytes: 1024, maxRecordLines: 100 }, size);
        expect(items.map((item) => (item.ok ? (item.record as { id: string }).id : "rejected"))).toEqual(["a", "rejected", "c"]);
        expect(reasons(items)[0]).toMatch(/^CSV line 3 is 2\.\d KiB, over the record limit of 1\.0 KiB$/);
      }
    }
  });

  it("a broken quote in the header fails the payload in either mode", async () => {
    expect((await failure(read('id,"value\na,1\n', { quoteErrors: "reject-row" }))).message).toMatch(/^CSV line 1: a quoted field opened on line 1 /);
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
  it.each([256, 65_536])("is one rejected record, quoted or not, whether or not it spans chunks (%i)", async (size) => {
    const text = `id,value\na,1\nb,${"x".repeat(5_000)}\nc,"${"y".repeat(5_000)}"\nd,4\ne,${"€".repeat(400)}\n`;
    const items = await read(text, { maxRecordBytes: 1024 }, size);
    expect(items.map((item) => item.ok)).toEqual([true, false, false, true, false]);
    expect(reasons(items)).toEqual([
      "CSV line 3 is 4.9 KiB, over the record limit of 1.0 KiB",
      "CSV line 4 is 4.9 KiB, over the record limit of 1.0 KiB",
      // 400 three-byte characters: sizes are UTF-8 bytes, as the limit is.
      "CSV line 6 is 1.2 KiB, over the record limit of 1.0 KiB",
    ]);
  });

  it("holds at most about the limit while a 64 MiB row streams through", () => {
    const splitter = new CsvSplitter({ delimiter: ",", requiredColumns: ["id"], quoteErrors: "fail", maxRecordLines: 1, maxRecordBytes: MiB });
    const out = [...splitter.push("id,value\nbefore,1\nhuge,")];
    const chunk = "z".repeat(64 * 1024);
    let held = 0;
    for (let index = 0; index < 1024; index += 1) {
      out.push(...splitter.push(chunk));
      held = Math.max(held, splitter.heldChars);
    }
    out.push(...splitter.push("\nafter,2\n"), ...splitter.end());
    expect(held).toBeLessThanOrEqual(MiB);
    expect(out.map((item) => (item.ok ? (item.record as { id: string }).id : "rejected"))).toEqual(["before", "rejected", "after"]);
  });
});

describe("a quoted field that is only blank", () => {
  it("is a value, not a blank line", async () => {
    const items = await read('id\n""\n"  "\na\n');
    expect(records(items)).toEqual([{ id: "" }, { id: "  " }, { id: "a" }]);
    const rows = await read('id,value\n""\n');
    expect(reasons(rows)).toEqual(["CSV line 2: Too few fields: expected 2 fields but parsed 1"]);
  });
});

describe("line ends", () => {
  it("reads bare CR line ends (old Mac exports): every row, none lost in a long header", async () => {
    expect(records(await read("a,b,c\r1,2,3\r4,5,6\r", { requiredColumns: [] }))).toEqual([
      { a: "1", b: "2", c: "3" },
      { a: "4", b: "5", c: "6" },
    ]);
  });

  it("reads LF, CRLF and CR mixed in one file, in chunks of every size, with line numbers that count each once", async () => {
    const text = "id,v\r\na,1\rb,2\nc,3\r\n\r\nd,\"x\"\re,\"2\"5\n";
    for (let size = 1; size <= text.length; size += 1) {
      const items = await read(text, { quoteErrors: "reject-row" }, size);
      expect(items.map((item) => (item.ok ? (item.record as { id: string }).id : (item as { reason: string }).reason)), `chunks of ${size}`).toEqual([
        "a",
        "b",
        "c",
        "d",
        "CSV line 7: text after the closing quote of field 2",
      ]);
    }
  });

  it("takes a CR at the end of one chunk and an LF at the start of the next as one line end", () => {
    const splitter = new CsvSplitter({ delimiter: ",", requiredColumns: [], quoteErrors: "fail", maxRecordLines: 1, maxRecordBytes: MiB });
    const out = [...splitter.push("id\r"), ...splitter.push("\na\r"), ...splitter.push("\n\r"), ...splitter.push("\nb"), ...splitter.end()];
    // One column: a phantom line between CR and LF would have been a record "".
    expect(records(out)).toEqual([{ id: "a" }, { id: "" }, { id: "b" }]);
  });

  it("keeps CR, CRLF and LF inside quotes as the field's text, counted as one line each", async () => {
    const text = 'id,v\na,"1\r2"\nb,"3\r\n4"\nc,"5\n6"\nd,"7\r\r8"\n';
    for (const size of [1, 2, 3, 4096]) {
      expect(records(await read(text, { maxRecordLines: 3 }, size))).toEqual([
        { id: "a", v: "1\r2" },
        { id: "b", v: "3\r\n4" },
        { id: "c", v: "5\n6" },
        { id: "d", v: "7\r\r8" },
      ]);
    }
    const error = await failure(read('id,v\na,"1\r\n2\r3"\n', { maxRecordLines: 2 }));
    expect(error.message).toMatch(/^CSV line 2: a quoted field opened on line 2 runs past 2 lines/);
  });

  it("with reject-row, a broken quote on a CR-ended line rejects that line and reads the next", async () => {
    for (const size of [1, 5, 4096]) {
      const items = await read('id,v\ra,1\rb,"2\rc,3\r\nd,4', { quoteErrors: "reject-row" }, size);
      expect(items.map((item) => (item.ok ? (item.record as { id: string }).id : "rejected")), `chunks of ${size}`).toEqual(["a", "rejected", "c", "d"]);
      expect(items[1]).toMatchObject({ raw: JSON.stringify('b,"2') });
    }
  });
});

describe("one-column files", () => {
  it("read an empty or whitespace-only line as a record, not as a blank line", async () => {
    expect(records(await read("id\n \nx\n\t\n", {}, 1))).toEqual([{ id: " " }, { id: "x" }, { id: "\t" }]);
  });

  it("give csv-test-data's empty-one-column.csv as one empty record", async () => {
    expect(records(await read("foo\n\n", { requiredColumns: [] }))).toEqual([{ foo: "" }]);
    expect(records(await read("foo\r\n\r\n", { requiredColumns: [] }, 1))).toEqual([{ foo: "" }]);
  });

  it("still skip blank lines before the header, and a wider file still skips blank lines", async () => {
    expect(records(await read("\n \nid\na\n"))).toEqual([{ id: "a" }]);
    expect(records(await read("id,v\n\n \t\na,1\n"))).toEqual([{ id: "a", v: "1" }]);
  });
});

describe("quotes inside an unquoted field", () => {
  it("are part of its text (they cannot open a quoted field, so they swallow nothing)", async () => {
    for (const size of [1, 4096]) {
      expect(records(await read(`id,where\na,37°36'37.8"N 121°2'17.9"W\nb,2"5\n`, {}, size))).toEqual([
        { id: "a", where: `37°36'37.8"N 121°2'17.9"W` },
        { id: "b", where: '2"5' },
      ]);
    }
  });
});

describe("byte order marks", () => {
  it("remove one; a second is text (here: part of the first column's name)", async () => {
    expect(records(await read("\uFEFFid\na\n"))).toEqual([{ id: "a" }]);
    expect((await failure(read("\uFEFF\uFEFFid\na\n"))).message).toContain('the CSV header has no column "id"');
  });
});

describe("found by review", () => {
  it("a broken quote whose line goes on after a later quoted field invents no record from the rest of that line", async () => {
    for (const size of [1, 3, 4096]) {
      const items = await read('a,b\n"x\ny","z"1,2\n3,4\n', { requiredColumns: [], quoteErrors: "reject-row", maxRecordLines: 2 }, size);
      expect(items.filter((item) => item.ok).map((item) => (item as { record: unknown }).record), `chunks of ${size}`).toEqual([{ a: "3", b: "4" }]);
      // The row from the broken quote to the end of the line of the last quote is one rejection.
      expect(reasons(items), `chunks of ${size}`).toEqual(["CSV line 3: a quoted field opened on line 3 does not close where a field can end (an unterminated or misplaced quote?)"]);
      expect(items[0], `chunks of ${size}`).toMatchObject({ raw: JSON.stringify('"x\ny","z"1,2') });
    }
  });

  it("a broken quote in a row over the record limit fails the payload whatever the chunking", async () => {
    const text = `a,b\n"${"x".repeat(2_000)}\n1,2\n3,4\n`;
    for (const size of [512, 65_536]) {
      const error = await failure(read(text, { requiredColumns: [], quoteErrors: "reject-row", maxRecordLines: 2, maxRecordBytes: 1024 }, size));
      expect(error.message, `chunks of ${size}`).toContain("in a row over the record limit of 1.0 KiB: the lines after it cannot be read again");
    }
  });

  it("a header row over the record limit fails the payload; the next line never becomes the header", async () => {
    const error = await failure(read(`${"a".repeat(1_100)},b\nid,name\n1,x\n`, { requiredColumns: [], maxRecordBytes: 1024 }));
    expect(error.message).toBe("the CSV header row (line 1) is 1.1 KiB, over the record limit of 1.0 KiB");
  });

  it("skips broken rows in linear time: 200,000 of them in one piece of text take about what reading them does", () => {
    const text = `a,b\n${'1,"x"y\n'.repeat(200_000)}`;
    const splitter = new CsvSplitter({ delimiter: ",", requiredColumns: [], quoteErrors: "reject-row", maxRecordLines: 1, maxRecordBytes: MiB });
    const out = [...splitter.push(text), ...splitter.end()];
    expect(out).toHaveLength(200_000);
    expect(out.every((item) => !item.ok)).toBe(true);
  });
});
