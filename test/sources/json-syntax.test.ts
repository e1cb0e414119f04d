/**
 * The streaming syntax check against JSON.parse: on valid JSON, and on JSON broken by random edits, it
 * must accept exactly what JSON.parse accepts, however the text is cut into pieces; nesting of any depth
 * costs a bit per level, not the text.
 */
import { describe, expect, it } from "vitest";
import { JsonSyntaxChecker, MAX_CHECKED_DEPTH } from "../../src/sources/formats/json-syntax";
import { random } from "./support";

function verdict(pieces: string[]): boolean {
  const checker = new JsonSyntaxChecker();
  for (const piece of pieces) if (checker.push(piece) !== null) return false;
  return checker.end() === null;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const TOKENS = ["{", "}", "[", "]", ",", ":", '"', "\\", "\\u", "0", "1", "-", "+", ".", "e", "E", "true", "false", "null", "nul", " ", "\n", "\r", "\t", "\f", "\u0001", "a", "é", "😀", "\ufeff", "/", "u00e9", "1e", "01", "-0", ".5"];

function cut(text: string, next: () => number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; ) {
    const size = 1 + Math.floor(next() * 6);
    pieces.push(text.slice(start, start + size));
    start += size;
  }
  return pieces;
}

function sample(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 7));
  if (pick === 0) return null;
  if (pick === 1) return next() < 0.5;
  if (pick === 2) return [0, -1, 1.5, -2e-7, 12345678901234567890, 1e300][Math.floor(next() * 6)];
  if (pick <= 4) return ["", "a", 'q"', "\\", "\n\t", "é😀", "\u0000"][Math.floor(next() * 7)];
  if (pick === 5) return Array.from({ length: Math.floor(next() * 4) }, () => sample(next, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, (_, index) => [`k${index}`, sample(next, depth + 1)]));
}

describe("JsonSyntaxChecker", () => {
  it("agrees with JSON.parse on valid values and on 20,000 random edits of them, in any pieces", () => {
    const next = random(2026);
    let valid = 0;
    let invalid = 0;
    for (let round = 0; round < 20_000; round += 1) {
      let text = JSON.stringify(sample(next), null, next() < 0.3 ? 1 : undefined);
      const edits = Math.floor(next() * 3);
      for (let edit = 0; edit < edits; edit += 1) {
        const at = Math.floor(next() * (text.length + 1));
        const token = TOKENS[Math.floor(next() * TOKENS.length)]!;
        const kind = next();
        text = kind < 0.4 ? text.slice(0, at) + token + text.slice(at) : kind < 0.7 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + token + text.slice(at + token.length);
      }
      const expected = parses(text);
      if (expected) valid += 1;
      else invalid += 1;
      expect(verdict([text]), JSON.stringify(text)).toBe(expected);
      expect(verdict(cut(text, next)), JSON.stringify(text)).toBe(expected);
    }
    // Both sides of the line were exercised.
    expect(valid).toBeGreaterThan(5_000);
    expect(invalid).toBeGreaterThan(5_000);
  });

  it("agrees on random strings of JSON's pieces", () => {
    const next = random(7);
    for (let round = 0; round < 20_000; round += 1) {
      const text = Array.from({ length: 1 + Math.floor(next() * 8) }, () => TOKENS[Math.floor(next() * TOKENS.length)]).join("");
      expect(verdict(cut(text, next)), JSON.stringify(text)).toBe(parses(text));
    }
  });

  it("checks 200,000 levels of nesting, matched and mismatched", () => {
    const depth = 200_000;
    expect(verdict(["[".repeat(depth), "1", "]".repeat(depth)])).toBe(true);
    expect(verdict(["[".repeat(depth), "{".repeat(10), "}".repeat(10), "]".repeat(depth - 1), "}"])).toBe(false);
    expect(verdict(["[".repeat(depth), "]".repeat(depth - 1)])).toBe(false);
  });

  it("names what is wrong", () => {
    const checker = new JsonSyntaxChecker(3);
    expect(checker.push('{"a":1,,')).toBe('expected a key, got ","');
    expect(new JsonSyntaxChecker().push('["a\tb"]')).toBe("a control character (U+0009) inside a string must be escaped");
    const lines = new JsonSyntaxChecker(3);
    expect(lines.push("[1,\n2,\n")).toBeNull();
    expect(lines.line).toBe(5);
  });
});

describe("found by review: memory follows depth only up to a bound", () => {
  it(`fails past ${MAX_CHECKED_DEPTH} levels instead of growing without end`, () => {
    const checker = new JsonSyntaxChecker();
    const piece = "[".repeat(1 << 20);
    let problem: string | null = null;
    for (let index = 0; index <= MAX_CHECKED_DEPTH / piece.length && problem === null; index += 1) problem = checker.push(piece);
    expect(problem).toBe(`it is nested deeper than ${MAX_CHECKED_DEPTH} levels`);
  });
});
