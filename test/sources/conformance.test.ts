/**
 * Third-party conformance suites through the real splitters (test/fixtures/README.md says where they come
 * from): every csv-spectrum file gives exactly its expected rows, and every JSONTestSuite case behaves as
 * the suite says — `y_` cases give exactly what JSON.parse gives, `n_` cases fail the payload, `i_` cases
 * (implementation-defined) give one answer — whether the bytes arrive whole, one at a time, seven at a
 * time or in random pieces. JSON cases are read three ways: as the whole body, as a record in an array,
 * and as a value beside the records (once parsed whole, once over the record limit, where only the
 * streaming syntax check sees it). The pieces are decoded as a body's chunks are and pushed to the
 * splitters; one test runs the small cases through a real body stream as well.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { csvRecords } from "../../src/sources/formats/csv-records";
import { JsonSplitter, jsonRecords } from "../../src/sources/formats/json-records";
import { NdjsonSplitter } from "../../src/sources/formats/ndjson-records";
import type { SourceItem } from "../../src/sources/source-items";
import { bytesBody, chunkings, collect, MiB, never } from "./support";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What a read came to: its items, or the payload's failure. */
type Outcome = { items: SourceItem[] } | { failed: string };

async function outcome(read: () => Promise<SourceItem[]>): Promise<Outcome> {
  try {
    return { items: await read() };
  } catch (error) {
    if (!(error instanceof Error) || error.name !== "PayloadError") throw error;
    return { failed: error.message };
  }
}

describe("csv-spectrum", () => {
  const folder = join(FIXTURES, "csv-spectrum");
  const names = readdirSync(join(folder, "csvs")).map((file) => file.replace(/\.csv$/, ""));
  /**
   * Errata: the suite's location_coordinates.json is an object (not a list of rows) whose phone number
   * is not the one in its CSV (1234567890 against 2095257564). The rows below are the CSV's own; the
   * test checks that the suite's expectation differs from them in exactly that way.
   */
  const ERRATA: Record<string, (expected: unknown) => unknown> = {
    location_coordinates: (expected) => [{ ...(expected as object), "Contact Phone Number": "2095257564" }],
  };

  it("has every file of the suite", () => {
    expect(names.sort()).toEqual(["comma_in_quotes", "empty", "empty_crlf", "escaped_quotes", "json", "location_coordinates", "newlines", "newlines_crlf", "quotes_and_newlines", "simple", "simple_crlf", "utf8"]);
  });

  it.each(names)("%s gives exactly the expected rows, whatever the chunking", async (name) => {
    const bytes = readFileSync(join(folder, "csvs", `${name}.csv`));
    const suite = JSON.parse(readFileSync(join(folder, "json", `${name}.json`), "utf8")) as unknown;
    const expected = ERRATA[name]?.(suite) ?? suite;
    for (const { name: chunking, sizes } of chunkings(bytes.length, name.length)) {
      const items = await collect(csvRecords(bytesBody(bytes, sizes), { delimiter: ",", requiredColumns: [], quoteErrors: "fail", maxRecordLines: 100, maxRecordBytes: MiB, signal: never }));
      expect(items, `${name} (${chunking})`).toEqual((expected as object[]).map((record) => ({ ok: true, record })));
    }
  });
});

describe("JSONTestSuite", () => {
  const folder = join(FIXTURES, "JSONTestSuite", "test_parsing");
  const files = readdirSync(folder).sort();
  const cases = files.map((file) => ({ file, bytes: new Uint8Array(readFileSync(join(folder, file))) }));

  it("has the suite's 95 valid, 188 invalid and 35 implementation-defined cases", () => {
    const count = (prefix: string) => files.filter((file) => file.startsWith(prefix)).length;
    expect([count("y_"), count("n_"), count("i_")]).toEqual([95, 188, 35]);
  });

  /** What JSON.parse makes of the same bytes, as the runtime decodes them. */
  function reference(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
    try {
      return { ok: true, value: JSON.parse(decode(bytes)) };
    } catch {
      return { ok: false };
    }
  }

  const ways = [
    {
      way: "as the body",
      wrap: (bytes: Uint8Array) => bytes,
      recordsPath: "",
      pageField: null,
      limit: MiB,
      // A valid array's elements are the records; a valid document that is not an array is refused (the format asks for one).
      expect: (value: unknown) => (Array.isArray(value) ? { items: value.map((record) => ({ ok: true, record })) } : "fails"),
    },
    {
      way: "as a record",
      wrap: (bytes: Uint8Array) => concat(encode("[0,"), bytes, encode("]")),
      recordsPath: "",
      pageField: null,
      limit: MiB,
      expect: (value: unknown) => ({ items: [{ ok: true, record: 0 }, { ok: true, record: value }] }),
    },
    {
      way: "as a record over the limit",
      wrap: (bytes: Uint8Array) => concat(encode("[0,"), bytes, encode("]")),
      recordsPath: "",
      pageField: null,
      limit: 1,
      // Rejected as too big (not lost), once its syntax has been checked.
      expect: (_: unknown, bytes: Uint8Array) => (bytes.length > 1 ? "second rejected" : { items: [{ ok: true, record: 0 }, { ok: true, record: JSON.parse(decode(bytes)) }] }),
    },
    {
      way: "beside the records",
      wrap: (bytes: Uint8Array) => concat(encode('{"records":[0],"value":'), bytes, encode("}")),
      recordsPath: "records",
      pageField: "value",
      limit: MiB,
      expect: (value: unknown) => ({ items: [{ ok: true, record: 0 }], field: value }),
    },
    {
      way: "beside the records, over the limit",
      wrap: (bytes: Uint8Array) => concat(encode('{"records":[0],"other":'), bytes, encode("}")),
      recordsPath: "records",
      pageField: null,
      limit: 1,
      expect: () => ({ items: [{ ok: true, record: 0 }] }),
    },
  ] as const;

  /** The bytes cut as `sizes` says and decoded as the runtime decodes a body: one streaming decoder. */
  function decodedPieces(bytes: Uint8Array, sizes: readonly number[]): string[] {
    const decoder = new TextDecoder();
    const pieces: string[] = [];
    let offset = 0;
    for (let piece = 0; offset < bytes.length; piece += 1) {
      const size = sizes[Math.min(piece, sizes.length - 1)]!;
      pieces.push(decoder.decode(bytes.subarray(offset, offset + size), { stream: true }));
      offset += size;
    }
    pieces.push(decoder.decode());
    return pieces.filter((piece) => piece.length > 0);
  }

  /** One case through the JSON splitter, its pieces pushed one by one (as jsonRecords does with a body's chunks). */
  async function readJson(way: (typeof ways)[number], bytes: Uint8Array, sizes: number[]) {
    const splitter = new JsonSplitter(way.recordsPath, way.pageField, way.limit);
    const result = await outcome(async () => {
      const items: SourceItem[] = [];
      for (const piece of decodedPieces(way.wrap(bytes), sizes)) items.push(...splitter.push(piece));
      splitter.end();
      return items;
    });
    return { result, field: splitter.fieldValue };
  }

  it.each(ways)("y_ and n_ cases $way", async (way) => {
    for (const { file, bytes } of cases.filter((candidate) => !candidate.file.startsWith("i_"))) {
      const parsed = reference(way.wrap(bytes));
      expect.soft(parsed.ok, `${file}: JSON.parse agrees with the suite`).toBe(file.startsWith("y_"));
      const inner = reference(bytes);
      const expected = file.startsWith("n_") ? "fails" : way.expect(inner.ok ? inner.value : undefined, bytes);
      for (const { name, sizes } of chunkings(way.wrap(bytes).length, file.length)) {
        const { result, field } = await readJson(way, bytes, sizes);
        const label = `${file} ${way.way} (${name})`;
        if (expected === "fails") {
          expect.soft("failed" in result, `${label}: ${JSON.stringify(result).slice(0, 200)}`).toBe(true);
        } else if (expected === "second rejected") {
          expect.soft("items" in result && result.items.map((item) => item.ok), label).toEqual([true, false]);
          expect.soft((result as { items: SourceItem[] }).items?.[1], label).toMatchObject({ reason: expect.stringMatching(/^record 2 \(line \d+\) is .*, over the record limit of 1 bytes$/) });
        } else {
          expect.soft(result, label).toEqual({ items: expected.items });
          if ("field" in expected) expect.soft(field, label).toEqual(expected.field);
        }
      }
    }
  });

  it.each(ways)("implementation-defined cases $way: one answer whatever the chunking", async (way) => {
    for (const { file, bytes } of cases.filter((candidate) => candidate.file.startsWith("i_"))) {
      const answers = new Set<string>();
      for (const { sizes } of chunkings(way.wrap(bytes).length, file.length)) {
        const { result, field } = await readJson(way, bytes, sizes);
        answers.add(JSON.stringify({ result, field }));
      }
      expect.soft([...answers], `${file}: ${[...answers].join("\n")}`).toHaveLength(1);
    }
  });

  it("the same bytes through a real body stream give the same answer (the stream and its decoder are not bypassed)", async () => {
    for (const { file, bytes } of cases.filter((candidate) => candidate.bytes.length < 4_096)) {
      const way = ways[1];
      const direct = await readJson(way, bytes, [7]);
      const streamed = await outcome(() => collect(jsonRecords(bytesBody(way.wrap(bytes), [7]), { recordsPath: way.recordsPath, pageField: way.pageField, maxRecordBytes: way.limit, signal: never }).items));
      expect.soft(streamed, file).toEqual(direct.result);
    }
  });

  it("every case on one line of NDJSON: a valid case is its record, an invalid one a rejected line (cases with line ends or only blanks aside)", async () => {
    const oneLine = cases.filter(({ file, bytes }) => !file.startsWith("i_") && !/[\r\n]/.test(decode(bytes)) && !/^[ \t]*$/.test(decode(bytes)));
    expect(oneLine.length).toBeGreaterThan(250);
    for (const { file, bytes } of oneLine) {
      const line = concat(encode('{"before":1}\n'), bytes, encode('\n{"after":2}\n'));
      for (const { name, sizes } of chunkings(line.length, file.length)) {
        const splitter = new NdjsonSplitter(MiB);
        const items = decodedPieces(line, sizes).flatMap((piece) => splitter.push(piece));
        items.push(...splitter.end());
        const middle = file.startsWith("y_") ? { ok: true, record: JSON.parse(decode(bytes)) } : { ok: false, raw: expect.any(String), reason: expect.stringMatching(/^line 2 is not valid JSON/) };
        expect.soft(items, `${file} (${name})`).toEqual([{ ok: true, record: { before: 1 } }, middle, { ok: true, record: { after: 2 } }]);
      }
    }
  });
});
