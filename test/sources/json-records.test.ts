/**
 * JSON from a hostile source: the elements of the records array stream out one by one, each parsed on
 * its own; an element over the record limit is one rejected record; broken or truncated syntax anywhere
 * fails the payload with its line; a records path the body does not have fails it too (it never reads as
 * zero records).
 */
import { describe, expect, it } from "vitest";
import { JsonSplitter, jsonRecords, MAX_DEPTH } from "../../src/sources/formats/json-records";
import { body, collect, failure, MiB, never, reasons, records } from "./support";

function read(text: string, recordsPath = "", pageField: string | null = null, size = 7, maxRecordBytes = MiB) {
  return jsonRecords(body(text, size), { recordsPath, pageField, maxRecordBytes, signal: never });
}

describe("JSON", () => {
  it.each([1, 3, 7, 4096])("streams the elements of a top-level array in chunks of %i bytes", async (size) => {
    const text = JSON.stringify([{ id: "a", value: "1" }, { id: "b", nested: { x: [1, 2], s: 'q"}]' } }, "odd", null, 12.5e3, true, "ä€😀"]);
    expect(records(await collect(read(text, "", null, size).items))).toEqual([{ id: "a", value: "1" }, { id: "b", nested: { x: [1, 2], s: 'q"}]' } }, "odd", null, 12.5e3, true, "ä€😀"]);
  });

  it("reads records at a path and the pagination field beside them, before or after the records", async () => {
    const after = read(JSON.stringify({ meta: { total: 2, tags: ["a", "b"] }, data: [{ id: "a" }, { id: "b" }], next: "/page/2" }), "data", "next");
    expect(records(await collect(after.items))).toEqual([{ id: "a" }, { id: "b" }]);
    expect(after.pageField()).toBe("/page/2");
    const before = read(JSON.stringify({ links: { next: "/p/3", prev: null }, result: { items: [{ id: "c" }] } }), "result.items", "links.next", 5);
    expect(records(await collect(before.items))).toEqual([{ id: "c" }]);
    expect(before.pageField()).toBe("/p/3");
  });

  it("reads keys with escapes and spaces", async () => {
    const page = read('{"my \\"records\\"": [1], "the next": 2}', 'my "records"', "the next", 3);
    expect(records(await collect(page.items))).toEqual([1]);
    expect(page.pageField()).toBe(2);
  });

  it.each([
    ["", "", "the source answered with an empty body"],
    ["   \n ", "", "the source answered with an empty body"],
    ["<!doctype html><p>oops</p>", "", "the source answered with HTML or XML, not JSON"],
    ['{"records": []}', "", "the source must answer with a JSON array of records, got object"],
    ["42", "", "the source must answer with a JSON array of records, got number"],
    ['[{"id": "a"}, {"id": "b', "", "the source answered with truncated JSON"],
    ['[{"id": "a"}, ', "", "the source answered with truncated JSON"],
    ['[{"id": "a"} {"id": "b"}]', "", 'the source answered with malformed JSON: expected "," or "]" after record 1'],
    ['[{"id": "a",}]', "", "the source answered with malformed JSON: record 1 (line 1): "],
    ['[{"id": "a"}]]', "", 'the source answered with malformed JSON: unexpected "]" after the end of the JSON'],
    ['[{"id": "a"}]', "data", 'the source must answer with a JSON object holding the records at "data", got array'],
    ['{"data": {"id": "a"}}', "data", 'the records at "data" must be an array, got object'],
    ['{"items": [{"id": "a"}], "total": 1}', "data", 'the source\'s JSON has no records array at "data" (keys: items, total)'],
    ['{"meta": {"a" 1}, "data": []}', "data", 'the source answered with malformed JSON: the value of "meta" (line 1)'],
    ['[{"id": [1, 2}]', "", 'the source answered with malformed JSON: "}" does not close what was opened'],
    ['{"data": [1], "data": [2]}', "data", 'the source\'s JSON has the records at "data" twice'],
  ])("refuses %j (records at %j)", async (text, path, message) => {
    expect((await failure(collect(read(text, path).items))).message).toContain(message);
  });

  it("names the line of a syntax error", async () => {
    const text = '[\n{"id": "a"},\n{"id": "b"},\n{"id": oops}\n]';
    expect((await failure(collect(read(text).items))).message).toContain("record 3 (line 4)");
  });
});

describe("an element over the record limit", () => {
  it("is one rejected record with its number, line and size; the elements around it load", async () => {
    const text = `[{"id":"a"},\n{"id":"big","pad":"${"x".repeat(4_000)}","n":[1,{"deep":"]}"}]},\n{"id":"b"}]`;
    const items = await collect(read(text, "", null, 256, 1024).items);
    expect(items.map((item) => item.ok)).toEqual([true, false, true]);
    expect(reasons(items)).toEqual(["record 2 (line 2) is 3.9 KiB, over the record limit of 1.0 KiB"]);
  });

  it("is a scalar too: a 2 KiB string element", async () => {
    const items = await collect(read(`["${"s".repeat(2_048)}", 1]`, "", null, 100, 1024).items);
    expect(items.map((item) => item.ok)).toEqual([false, true]);
  });

  it("holds at most the limit while a 64 MiB element streams through", () => {
    const splitter = new JsonSplitter("data", null, MiB);
    const out = [...splitter.push('{"data":[{"id":"before"},{"id":"x","pad":"')];
    const chunk = "z".repeat(64 * 1024);
    let held = 0;
    for (let index = 0; index < 1024; index += 1) {
      out.push(...splitter.push(chunk));
      held = Math.max(held, splitter.heldChars);
    }
    expect(held).toBeLessThanOrEqual(MiB);
    out.push(...splitter.push('"},{"id":"after"}]}'));
    splitter.end();
    expect(out.map((item) => (item.ok ? (item.record as { id: string }).id : "rejected"))).toEqual(["before", "rejected", "after"]);
    expect(reasons(out)[0]).toBe("record 2 (line 1) is 64.0 MiB, over the record limit of 1.0 MiB");
  });
});

describe("what is not kept is still checked", () => {
  it("a value beside the records that is over the limit must still close what it opens", async () => {
    const text = `{"x": [${"1,".repeat(2_000)}}, "data": [1]}`;
    expect((await failure(collect(read(text, "data", null, 256, 1024).items))).message).toContain("does not close what was opened");
  });

  it("a key longer than any path is read past, not refused", async () => {
    const page = read(`{"${"k".repeat(10_000)}": 1, "data": [{"id": "a"}]}`, "data", null, 512);
    expect(records(await collect(page.items))).toEqual([{ id: "a" }]);
  });

  it(`a record nested deeper than ${MAX_DEPTH} levels is rejected; the rest loads`, async () => {
    const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    const items = await collect(read(`[{"id": "a"}, ${deep}, {"id": "b"}]`, "", null, 4096).items);
    expect(items.map((item) => item.ok)).toEqual([true, false, true]);
    expect(reasons(items)).toEqual([`record 2 (line 1) is nested deeper than ${MAX_DEPTH} levels`]);
  });

  it("reads a string of 8 MiB of escapes arriving in 1 MiB chunks", () => {
    const splitter = new JsonSplitter("", null, 16 * MiB);
    const chunk = "\\n".repeat(MiB / 2);
    splitter.push('["');
    for (let index = 0; index < 8; index += 1) splitter.push(chunk);
    const [item] = splitter.push('"]');
    splitter.end();
    expect(item).toMatchObject({ ok: true });
    expect((item as { record: string }).record).toHaveLength(4 * MiB);
  });
});

describe("a value over the record limit is checked like any other", () => {
  it("beside the records: broken syntax anywhere in it fails the payload, in constant memory", () => {
    const splitter = new JsonSplitter("data", null, MiB);
    splitter.push('{"data": [1], "meta": {"rows": [');
    const row = '{"a": 1, "b": "xyz"},';
    let held = 0;
    for (let index = 0; index < 200_000; index += 1) {
      splitter.push(row);
      held = Math.max(held, splitter.heldChars);
    }
    expect(held).toBeLessThanOrEqual(MiB);
    expect(() => splitter.push('{"a": 1,, "b": 2}]}}')).toThrow('the source answered with malformed JSON: expected a key, got ","');
  });

  it.each([
    ["two commas in a row", '{"a":"b",,"c":"d"}'],
    ["a comment", '{"a":/*comment*/"b"}'],
    ["a trailing comma", '{"id":0,}'],
    ["a missing value", '{"a":}'],
    ["an unquoted key", "{a: 1}"],
    ["a bad number", "[01]"],
  ])("fails on %s in an over-limit value beside the records, as it does in one within the limit", async (_, broken) => {
    const pad = `"${"p".repeat(2_000)}"`;
    for (const limit of [MiB, 1024]) {
      const text = `{"data": [1], "meta": [${pad}, ${broken}]}`;
      expect((await failure(collect(read(text, "data", null, 100, limit).items))).message).toContain("the source answered with malformed JSON");
    }
  });

  it("an over-limit record with broken syntax fails the payload rather than being rejected as too big", async () => {
    const text = `[{"id": "a"}, {"id": "big", "pad": "${"x".repeat(4_000)}", "n": [1 2]}, {"id": "b"}]`;
    expect((await failure(collect(read(text, "", null, 256, 1024).items))).message).toContain('expected "," or a closing bracket, got "2"');
  });

  it("a record nested too deep is syntax-checked too", async () => {
    const deep = `${"[".repeat(600)}[1}${"]".repeat(600)}`;
    expect((await failure(collect(read(`[1, ${deep}]`, "", null, 4096).items))).message).toContain('"}" does not close what was opened');
  });

  it("sizes are UTF-8 bytes, as the limit is", async () => {
    const items = await collect(read(`["${"€".repeat(400)}"]`, "", null, 64, 1024).items);
    expect(reasons(items)).toEqual(["record 1 (line 1) is 1.2 KiB, over the record limit of 1.0 KiB"]);
  });

  it("a second byte order mark is text, so it fails the payload (the first is removed)", async () => {
    expect(records(await collect(read("\uFEFF[1]").items))).toEqual([1]);
    expect((await failure(collect(read("\uFEFF\uFEFF[1]").items))).message).toContain("got something that is not JSON");
  });
});

describe("found by review: the envelope's keys are JSON too", () => {
  it.each([
    ["a raw tab", '{"da\tta":1,"data":[1]}'],
    ["a raw newline", '{"a\nb":1,"data":[1]}'],
    ["a bad escape in a long key", `{"${"k".repeat(5_000)}\\q":1,"data":[1]}`],
    ["a short \\u escape", '{"\\u12":1,"data":[1]}'],
  ])("%s in a key fails the payload", async (_, text) => {
    for (const size of [1, 7, 65_536]) expect((await failure(collect(read(text, "data", null, size).items))).message, `chunks of ${size}`).toContain("the source answered with malformed JSON: a key");
  });

  it("a well-formed long key with escapes is read past", async () => {
    expect(records(await collect(read(`{"${"k\\n".repeat(3_000)}":1,"data":[1]}`, "data", null, 100).items))).toEqual([1]);
  });
});
