/**
 * The defaults docs/configuration.md states are the code's: every engine key in its settings table, and
 * the source options in its example, say what DEFAULT_TUNING and the source schema give when left out.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_TUNING } from "../../src/engine/tuning";
import { HttpSourceSchema } from "../../src/sources/http/config";

const CONFIGURATION = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");

/** `| `a.b`, `a.c` | `1`, `2` (…) | …` rows: each key with the value written in its place. */
function documentedDefaults(markdown: string): Map<string, string> {
  const defaults = new Map<string, string>();
  for (const line of markdown.split("\n")) {
    const cells = line.split(" | ");
    if (!line.startsWith("| `") || cells.length < 3) continue;
    const keys = [...cells[0]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
    const values = [...cells[1]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
    keys.forEach((key, index) => {
      if (values[index] !== undefined) defaults.set(key, values[index]!);
    });
  }
  return defaults;
}

function valueAt(path: string, from: unknown): unknown {
  return path.split(".").reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], from);
}

describe("documented defaults", () => {
  const documented = documentedDefaults(CONFIGURATION);
  const keys = ["chunkRecords", "maxRecordBytes", "parallelism.transform", "parallelism.load", "load.statementsPerBatch", ...["stage", "source", "alerts"].flatMap((policy) => ["maxAttempts", "baseDelayMs", "maxDelayMs"].map((key) => `retries.${policy}.${key}`)), "timeouts.sourceMs", "timeouts.stageMs", "recovery.stallTimeoutMs", "recovery.maxResumes", "recovery.watchdogIntervalMs", "history.maxRuns", "history.keepFailedStagingMs"];

  it.each(keys)("%s is the code's", (key) => {
    expect(documented.get(key), `${key} is documented`).toBeDefined();
    expect(Number(documented.get(key))).toBe(valueAt(key, DEFAULT_TUNING));
  });

  it("the source example's CSV options are the schema's defaults", () => {
    const parsed = HttpSourceSchema.parse({ type: "http", url: "https://example.com/x.csv" }) as Record<string, unknown>;
    for (const option of ["csvMaxRecordLines", "csvQuoteErrors", "csvDelimiter", "maxPages", "timeoutMs", "crossOrigin"]) {
      const example = CONFIGURATION.match(new RegExp(`"${option}": ("[^"]*"|\\d+)`));
      expect(example, option).not.toBeNull();
      expect(JSON.parse(example![1]!), option).toEqual(parsed[option] ?? (option === "timeoutMs" ? DEFAULT_TUNING.timeouts.sourceMs : undefined));
    }
  });
});
