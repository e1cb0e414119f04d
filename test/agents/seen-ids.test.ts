/**
 * Duplicate detection in a load agent's SQLite, on a real Durable Object. With a fingerprint that sends
 * every id to the same key, each lookup goes down the collision path, which must still be exact.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SeenIds } from "../../src/agents/stages/seen-ids";
import type { StagedRecord } from "../../src/domain/records";
import { uniqueName } from "../support/runtime";

const record = (id: string, position: number): StagedRecord => ({ id, position, timestamp: "2024-01-01T00:00:00.000Z", value: 1, category: "low", type: null, cleaned: true });
const ids = (split: ReturnType<SeenIds["split"]>) => ({
  fresh: split.fresh.map((entry) => `${entry.id}@${entry.position}`),
  repeated: split.repeated.map((entry) => `${entry.record.id}@${entry.record.position}<${entry.first}`),
});

function inAgent<T>(work: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(env.LoadStage.getByName(uniqueName("seen")), (_instance, state) => work(state.storage.sql));
}

describe.each([
  ["real fingerprints", undefined],
  ["every id colliding", () => 7],
])("SeenIds with %s", (_label, fingerprint) => {
  it("keeps the first occurrence within a chunk and across chunks", async () => {
    const result = await inAgent((sql) => {
      const seen = new SeenIds(sql, 1, fingerprint);
      const first = ids(seen.split([record("a", 0), record("b", 1), record("a", 2)]));
      const second = ids(seen.split([record("c", 3), record("b", 4), record("a", 5), record("c", 6)]));
      return { first, second };
    });
    expect(result.first).toEqual({ fresh: ["a@0", "b@1"], repeated: ["a@2<0"] });
    expect(result.second).toEqual({ fresh: ["c@3"], repeated: ["b@4<1", "a@5<0", "c@6<3"] });
  });

  it("keeps attempts apart: a retried load starts with nothing seen", async () => {
    const result = await inAgent((sql) => {
      new SeenIds(sql, 1, fingerprint).split([record("a", 0)]);
      return ids(new SeenIds(sql, 2, fingerprint).split([record("a", 0)]));
    });
    expect(result).toEqual({ fresh: ["a@0"], repeated: [] });
  });
});
