/**
 * The partitioned pass puts its keys into SQLite in JSON batches (one statement for thousands of keys):
 * whatever the batch boundaries, and for a key too long for a batch (bound value by value), it finds
 * exactly what a statement per key found. Over node:sqlite, as the test kit runs it.
 */
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { runCheckPass, type PassTargets, type ScratchSql } from "../../src/engine/check-pass";
import type { CheckKey } from "../../src/engine/check-tally";
import { resolveChecks } from "../../src/engine/checks";

const checks = resolveChecks([
  { type: "unique", columns: ["email"] },
  { type: "relationship", columns: ["parent"], to: { pipeline: "self", columns: ["id"] } },
]);
const noTables: PassTargets = { key: ["id"], relationship: () => null, unique: () => null };

async function pass(keys: CheckKey[][]) {
  const db = new DatabaseSync(":memory:");
  try {
    const sql: ScratchSql = { exec: (query, ...params) => db.prepare(query).all(...params) as Record<string, unknown>[] };
    async function* chunks() {
      yield* keys;
    }
    return await runCheckPass(checks, sql, chunks(), noTables);
  } finally {
    db.close();
  }
}

const value = (text: string) => JSON.stringify([text]);

describe("the partitioned pass", () => {
  it("finds every repeat and every missing reference across JSON batches and chunks", async () => {
    const keys: CheckKey[] = [];
    for (let index = 0; index < 30_000; index += 1) {
      const id = `id-${index}`;
      keys.push([0, 0, value(`user${index % 29_990}@example.com`), index, id, value(id)]);
      keys.push([1, 1, value(id), index, id, value(id)]);
      if (index % 1_000 === 7) keys.push([1, 0, value(index % 2_000 === 7 ? `id-${index + 1}` : `gone-${index}`), index, id, value(id)]);
    }
    const found = await pass([keys.slice(0, 25_000), keys.slice(25_000)]);
    // Ten addresses repeat (positions 29,990–29,999 reuse those of 0–9): twenty rows offend.
    expect(found[checks[0]!.name]!.offending).toBe(20);
    expect(found[checks[0]!.name]!.sample[0]).toEqual({ position: 0, id: "id-0", values: { email: "user0@example.com" } });
    // 30 references: those at 7, 2007, … name the next row, the other 15 name nothing.
    expect(found[checks[1]!.name]!.offending).toBe(15);
    expect(found[checks[1]!.name]!.sample[0]).toEqual({ position: 1_007, id: "id-1007", values: { parent: "gone-1007" } });
  });

  it("takes a key longer than a batch on its own", async () => {
    const long = `${"x".repeat(600_000)}\u00e9"\\`;
    const found = await pass([[[0, 0, value(long), 0, "a", value("a")], [0, 0, value("short"), 1, "b", value("b")], [0, 0, value(long), 2, "c", value("c")]]]);
    expect(found[checks[0]!.name]!.offending).toBe(2);
    expect(found[checks[0]!.name]!.sample.map((row) => [row.position, row.values.email])).toEqual([
      [0, long],
      [2, long],
    ]);
  });
});
