import { CliError, EXIT } from "./exit-codes.ts";

/**
 * `--param name=value` as a params object. A value that reads as JSON (2.5, true, null, ["a","b"]) is
 * sent typed; anything else is a string, so `--param region=eu` needs no quoting.
 */
export function parseParams(pairs: readonly string[]): Record<string, unknown> | null {
  if (pairs.length === 0) return null;
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    const name = at === -1 ? "" : pair.slice(0, at).trim();
    if (name === "") throw new CliError(EXIT.usage, `--param takes name=value, got ${JSON.stringify(pair)}`);
    params[name] = typed(pair.slice(at + 1));
  }
  return params;
}

function typed(text: string): unknown {
  if (!/^(-?\d|true$|false$|null$|\[|")/.test(text)) return text;
  // An integer JSON cannot hold exactly (an id, an account number) stays text.
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(Number(text))) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
