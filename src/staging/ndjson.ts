/** Newline-delimited JSON: one value per line, the staging store's chunk format. */
export function encodeNdjson(values: readonly unknown[]): string {
  let text = "";
  for (const value of values) text += `${JSON.stringify(value)}\n`;
  return text;
}

export function decodeNdjson(text: string): unknown[] {
  const values: unknown[] = [];
  for (const line of text.split("\n")) {
    if (line.length > 0) values.push(JSON.parse(line));
  }
  return values;
}
