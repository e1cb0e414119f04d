/**
 * NDJSON from a hostile source: records come out in order whatever the chunk boundaries; a line that is
 * not JSON, or that is over the record limit, is one rejected record with its line number; splitting
 * looks at each character once, so a 64 MiB line costs what its bytes cost.
 */
import { describe, expect, it } from "vitest";
import { NdjsonSplitter, ndjsonRecords } from "../../src/sources/formats/ndjson-records";
import { body, collect, failure, MiB, never, reasons, records } from "./support";

const read = (text: string, size = 7, maxRecordBytes = MiB) => collect(ndjsonRecords(body(text, size), { maxRecordBytes, signal: never }));

describe("NDJSON", () => {
  it("parses one record per line, with CRLF, blank lines and no final newline", async () => {
    expect(records(await read('{"id":"a"}\r\n\n{"id":"b"}\n  \n{"id":"c"}', 3))).toEqual([{ id: "a" }, { id: "b" }, { id: "c" }]);
  });

  it("turns a line that is not JSON into a bad item naming the line, and carries on", async () => {
    const items = await read('{"id":"a"}\n{"id": oops}\n{"id":"c"}\n');
    expect(items[0]).toEqual({ ok: true, record: { id: "a" } });
    expect(items[1]).toMatchObject({ ok: false, raw: '"{\\"id\\": oops}"' });
    expect((items[1] as { reason: string }).reason).toMatch(/^line 2 is not valid JSON: /);
    expect(items[2]).toEqual({ ok: true, record: { id: "c" } });
  });

  it("reads an empty body as no records", async () => {
    expect(await read("")).toEqual([]);
  });

  it("refuses HTML", async () => {
    expect((await failure(read("<html></html>"))).message).toBe("the source answered with HTML or XML, not NDJSON");
  });

  it("keeps multi-byte characters split across chunk boundaries whole", async () => {
    expect(records(await read('{"id":"ä€😀"}\n', 1))).toEqual([{ id: "ä€😀" }]);
  });
});

describe("a line over the record limit", () => {
  it("is one rejected record with its line number and size; the lines around it load", async () => {
    const huge = `{"id":"big","pad":"${"x".repeat(3 * 1024)}"}`;
    const items = await read(['{"id":"a"}', huge, '{"id":"b"}'].join("\n"), 100, 1024);
    expect(items.map((item) => item.ok)).toEqual([true, false, true]);
    expect(reasons(items)).toEqual(["line 2 is 3.0 KiB, over the record limit of 1.0 KiB"]);
    expect((items[1] as { raw: string }).raw.startsWith('"{\\"id\\":\\"big\\"')).toBe(true);
  });

  it("counts its size in UTF-8 bytes, so 400 three-byte characters are over a 1 KiB limit", async () => {
    const items = await read(`{"id":"${"€".repeat(400)}"}\n`, 64, 1024);
    expect(items[0]!.ok).toBe(false);
  });

  it("is rejected at the end of the body too, without a final newline", async () => {
    const items = await read(`{"id":"a"}\n${"y".repeat(5_000)}`, 512, 1024);
    expect(items.map((item) => item.ok)).toEqual([true, false]);
    expect(reasons(items)[0]).toMatch(/^line 2 is 4\.9 KiB, over the record limit/);
  });

  it("holds at most the limit while a 64 MiB line streams through, and looks at each character once", () => {
    const splitter = new NdjsonSplitter(MiB);
    const chunk = "z".repeat(64 * 1024);
    const head = '{"id":"before"}\n{"id":"x","pad":"';
    const tail = '"}\n{"id":"after"}\n';
    const out = [...splitter.push(head)];
    let held = 0;
    for (let index = 0; index < 1024; index += 1) {
      out.push(...splitter.push(chunk));
      held = Math.max(held, splitter.heldChars);
    }
    out.push(...splitter.push(tail), ...splitter.end());
    expect(held).toBeLessThanOrEqual(MiB);
    expect(splitter.scannedChars).toBe(head.length + 1024 * chunk.length + tail.length);
    expect(out.map((item) => (item.ok ? (item.record as { id: string }).id : "rejected"))).toEqual(["before", "rejected", "after"]);
    expect(reasons(out)[0]).toBe("line 2 is 64.0 MiB, over the record limit of 1.0 MiB");
  });
});

describe("line ends", () => {
  it("end a line at LF, CRLF or a bare CR, mixed, in chunks of every size", async () => {
    const text = '{"id":"a"}\r{"id":"b"}\r\n{"id":"c"}\n\r{"id":"d"}\r';
    for (let size = 1; size <= text.length; size += 1) {
      expect(records(await read(text, size)), `chunks of ${size}`).toEqual([{ id: "a" }, { id: "b" }, { id: "c" }, { id: "d" }]);
    }
  });

  it("count a CR at the end of one chunk and an LF at the start of the next as one line end (line numbers stay right)", () => {
    const splitter = new NdjsonSplitter(MiB);
    const out = [...splitter.push('{"id":"a"}\r'), ...splitter.push('\n{"id": oops}\r'), ...splitter.push("\n"), ...splitter.end()];
    expect(out[0]).toEqual({ ok: true, record: { id: "a" } });
    expect(reasons(out)).toEqual([expect.stringMatching(/^line 2 is not valid JSON/)]);
  });

  it("split a record that has a bare CR inside it: both pieces are rejected, nothing is lost", async () => {
    const items = await read('{"id":"a",\r"v":1}\n{"id":"b"}\n');
    expect(items.map((item) => item.ok)).toEqual([false, false, true]);
    expect(reasons(items)).toEqual([expect.stringMatching(/^line 1 is not valid JSON/), expect.stringMatching(/^line 2 is not valid JSON/)]);
  });

  it("take only spaces and tabs as blank: a line of other whitespace is a rejected record", async () => {
    const items = await read('{"id":"a"}\n \t \n\u00a0\n\f\n');
    expect(items.map((item) => item.ok)).toEqual([true, false, false]);
  });

  it("keep a second byte order mark as text (a rejected line), after removing the first", async () => {
    const items = await read('\uFEFF\uFEFF{"id":"a"}\n{"id":"b"}\n');
    expect(items.map((item) => item.ok)).toEqual([false, true]);
  });
});
