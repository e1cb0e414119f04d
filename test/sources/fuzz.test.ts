/**
 * The splitters against references, on generated input cut at random places: JsonSplitter must yield
 * exactly what JSON.parse sees in the records array, and CsvSplitter exactly the rows a CSV writer wrote
 * (quotes, delimiters, line breaks and CRLF inside fields; LF, CRLF or bare CR between rows; one-column
 * files whose values are empty). Seeded, so a failure can be replayed.
 */
import { describe, expect, it } from "vitest";
import { CsvSplitter } from "../../src/sources/formats/csv-records";
import { JsonSplitter } from "../../src/sources/formats/json-records";
import type { SourceItem } from "../../src/sources/source-items";
import { MiB, random } from "./support";

const ALPHABET = ['a', 'Z', '0', ' ', ',', '"', "\\", "\n", "\r", "\t", "{", "}", "[", "]", ":", "é", "€", "😀", "\u2028", "\u0000"];

function text(next: () => number, max = 12): string {
  return Array.from({ length: Math.floor(next() * max) }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join("");
}

function value(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.round((next() - 0.5) * 1e6) / 100;
    case 3:
    case 4:
      return text(next);
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [text(next, 6), value(next, depth + 1)]));
  }
}

/** JSON.stringify with random whitespace between tokens (outside strings). */
function spaced(json: string, next: () => number): string {
  let out = "";
  let inString = false;
  for (let index = 0; index < json.length; index += 1) {
    const c = json[index]!;
    out += c;
    if (inString) {
      if (c === "\\") out += json[++index]!;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (",:[]{}".includes(c) && next() < 0.3) out += [" ", "\n", "\t", "\r\n  "][Math.floor(next() * 4)];
  }
  return out;
}

function cut(input: string, next: () => number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < input.length; ) {
    const size = 1 + Math.floor(next() * (next() < 0.5 ? 4 : 200));
    pieces.push(input.slice(start, start + size));
    start += size;
  }
  return pieces;
}

function records(items: SourceItem[]): unknown[] {
  return items.map((item) => {
    if (!item.ok) throw new Error(`unexpected rejection: ${item.reason}`);
    return item.record;
  });
}

describe("JsonSplitter against JSON.parse", () => {
  it.each(Array.from({ length: 40 }, (_, seed) => seed + 1))("seed %i", (seed) => {
    const next = random(seed);
    const elements = Array.from({ length: Math.floor(next() * 20) }, () => value(next));
    const wrapped = next() < 0.5;
    const document = wrapped ? { meta: value(next), data: elements, next: text(next) } : elements;
    const input = spaced(JSON.stringify(document), next);
    const splitter = new JsonSplitter(wrapped ? "data" : "", wrapped ? "next" : null, MiB);
    const out: SourceItem[] = [];
    for (const piece of cut(input, next)) out.push(...splitter.push(piece));
    splitter.end();
    expect(records(out)).toEqual(JSON.parse(input).data ?? JSON.parse(input));
    if (wrapped) expect(splitter.fieldValue).toBe((document as { next: string }).next);
  });
});

describe("CsvSplitter against the rows a CSV writer wrote", () => {
  // A one-column row holding "" is written quoted, as Python's csv writer does: an empty last line is no row.
  const quote = (field: string, columns: number) => (/[",\r\n]/.test(field) || field.trim() !== field || (columns === 1 && field === "") ? `"${field.replaceAll('"', '""')}"` : field);

  it.each(Array.from({ length: 40 }, (_, seed) => seed + 1))("seed %i", (seed) => {
    const next = random(seed * 7919);
    const columns = 1 + Math.floor(next() * 4);
    const header = Array.from({ length: columns }, (_, index) => `c${index}`);
    // Fields never start with a space here: a leading space before a quote is a quote error by design.
    const rows = Array.from({ length: Math.floor(next() * 30) }, () => Array.from({ length: columns }, () => text(next, 8).replace(/^\s+/, "")));
    const newline = ["\n", "\r\n", "\r"][Math.floor(next() * 3)]!;
    const input = [header, ...rows].map((row) => row.map((field) => quote(field, columns)).join(",")).join(newline) + (next() < 0.5 ? newline : "");
    const splitter = new CsvSplitter({ delimiter: ",", requiredColumns: [], quoteErrors: "fail", maxRecordLines: 1_000, maxRecordBytes: MiB });
    const out: SourceItem[] = [];
    for (const piece of cut(input, next)) out.push(...splitter.push(piece));
    out.push(...splitter.end());
    expect(records(out)).toEqual(rows.map((row) => Object.fromEntries(row.map((field, index) => [`c${index}`, field]))));
  });
});

describe("CsvSplitter with stray quotes in reject-row mode", () => {
  const plain = (next: () => number) => Array.from({ length: Math.floor(next() * 8) }, () => "abc xyz019"[Math.floor(next() * 10)]).join("");

  it.each(Array.from({ length: 60 }, (_, seed) => seed + 1))("seed %i: every clean row loads, every line is one item, nothing is swallowed", (seed) => {
    const next = random(seed * 104_729);
    const columns = 2 + Math.floor(next() * 3);
    const header = Array.from({ length: columns }, (_, index) => `c${index}`);
    const rows = Array.from({ length: 40 }, (_, index) => [`r${index}`, ...Array.from({ length: columns - 1 }, () => (next() < 0.3 ? `"${plain(next)}"` : plain(next)))].join(","));
    const dirty = new Set<number>();
    const lines = rows.map((row, index) => {
      if (next() >= 0.15) return row;
      dirty.add(index);
      const at = 1 + Math.floor(next() * row.length);
      return `${row.slice(0, at)}"${row.slice(at)}`;
    });
    const input = `${header.join(",")}\n${lines.join("\n")}\n`;
    const splitter = new CsvSplitter({ delimiter: ",", requiredColumns: [], quoteErrors: "reject-row", maxRecordLines: 1, maxRecordBytes: MiB });
    const out: SourceItem[] = [];
    for (const piece of cut(input, next)) out.push(...splitter.push(piece));
    out.push(...splitter.end());
    expect(out).toHaveLength(rows.length);
    out.forEach((item, index) => {
      if (dirty.has(index)) return;
      expect(item.ok).toBe(true);
      expect((item as { record: Record<string, string> }).record.c0).toBe(`r${index}`);
    });
  });
});
