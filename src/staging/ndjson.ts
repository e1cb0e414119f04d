/**
 * Newline-delimited JSON: one value per line, the staging store's chunk format.
 *
 * Input a source could not parse travels in the same stream, so every item keeps its place (and its
 * position in the run): as a line starting with "!", which no JSON value can start with.
 */
export class UnparsableItem {
  constructor(
    readonly raw: string,
    readonly reason: string,
  ) {}
}

const UNPARSABLE = "!";

/** One value as a line of a chunk (with its newline). Throws for a value JSON cannot hold (nested too deeply). */
export function encodeLine(value: unknown): string {
  return value instanceof UnparsableItem ? `${UNPARSABLE}${JSON.stringify([value.raw, value.reason])}\n` : `${JSON.stringify(value)}\n`;
}

export function encodeNdjson(values: readonly unknown[]): string {
  let text = "";
  for (const value of values) text += encodeLine(value);
  return text;
}

export function decodeNdjson(text: string): unknown[] {
  const values: unknown[] = [];
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    if (line.startsWith(UNPARSABLE)) {
      const [raw, reason] = JSON.parse(line.slice(1)) as [string, string];
      values.push(new UnparsableItem(raw, reason));
    } else {
      values.push(JSON.parse(line));
    }
  }
  return values;
}
