/**
 * One record through a pipeline: the record schema, the transform, the row checked against the columns.
 * Every record ends as a row, a rejection whose reason names the field, or a skip; a transform that
 * throws is a bug of the pipeline and stops the stage.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { applyTransform, TransformCrashed } from "../../src/engine/apply-transform";
import { definePipeline } from "../../src/engine/define-pipeline";
import { reject, skip } from "../../src/engine/outcomes";
import { resolveSettings } from "../../src/engine/settings";

const events = definePipeline({
  name: "events",
  description: "test",
  schedule: { every: "1h" },
  sources: [{ type: "sample" }],
  sample: { records: [] },
  record: z.object({ id: z.string().min(1), n: z.number().int(), note: z.string().optional() }),
  transform: (event) => {
    if (event.n < 0) return reject(`n ${event.n} is negative`);
    if (event.n === 0) return skip();
    if (event.n === 13) throw new Error("unlucky");
    if (event.n === 7) return { id: event.id, n: 7.5 } as unknown as { id: string; n: number; note: string | null };
    return { id: event.id, n: event.n, note: event.note ?? null };
  },
  destination: { table: "events", key: ["id"], columns: { id: "text", n: "integer", note: { type: "text", nullable: true } } },
});
const settings = resolveSettings(events, { D1_DATABASE_NAME: "db" });
if (!settings.ok) throw new Error(settings.errors.join("; "));
const context = { runId: "manual-1", pipeline: "events", trigger: "manual" as const, scheduledFor: null, asOf: 0, timezone: "UTC", config: {}, params: {} };
const apply = (raw: unknown) => applyTransform(events, settings.settings.destination, raw, context);

describe("applyTransform", () => {
  it("turns a record into the row's values in column order, named by its key", () => {
    expect(apply({ id: "e1", n: 3 })).toEqual({ kind: "row", id: "e1", values: ["e1", 3, null] });
  });

  it("rejects a record the schema refuses, naming each field", () => {
    expect(apply({ id: "", n: 1.5 })).toEqual({ kind: "rejected", id: null, reason: "id: Too small: expected string to have >=1 characters; n: Invalid input: expected int, received number" });
    expect(apply("not an object")).toMatchObject({ kind: "rejected", reason: "Invalid input: expected object, received string" });
  });

  it("names a rejected record by its key fields in the raw record when it has them, by default", () => {
    expect(apply({ id: "e9", n: "x" })).toMatchObject({ kind: "rejected", id: "e9" });
    expect(apply({ id: 42, n: "x" })).toMatchObject({ kind: "rejected", id: "42" });
    for (const raw of [{ n: 1.5 }, { id: "", n: 1.5 }, { id: { nested: 1 }, n: 1.5 }, "text", ["e1"], null]) expect(apply(raw)).toMatchObject({ kind: "rejected", id: null });
  });

  it("passes on the transform's rejection and skip", () => {
    expect(apply({ id: "e2", n: -1 })).toEqual({ kind: "rejected", id: "e2", reason: "n -1 is negative" });
    expect(apply({ id: "e3", n: 0 })).toEqual({ kind: "skipped" });
  });

  it("rejects a row that does not fit its columns at run time (a cast the compiler could not see)", () => {
    expect(apply({ id: "e4", n: 7 })).toEqual({ kind: "rejected", id: "e4", reason: "the transform's row does not fit events: n must be an integer, got 7.5" });
  });

  it("rejects text the destination cannot store as it came (a lone surrogate), naming the column, in keys and other text alike", () => {
    expect(apply({ id: "dup-\ud800", n: 1 })).toEqual({
      kind: "rejected",
      id: "dup-\ud800",
      reason: "the transform's row does not fit events: id is not well-formed Unicode (a lone surrogate \\ud800 at character 5), which no destination can store as it came",
    });
    expect(apply({ id: "e6", n: 1, note: "ok \udc00 then" })).toMatchObject({ kind: "rejected", reason: expect.stringContaining("note is not well-formed Unicode (a lone surrogate \\udc00 at character 4)") });
    // A surrogate pair is one well-formed character, and NUL is text D1 keeps.
    expect(apply({ id: "e7", n: 1, note: "😀\u0000" })).toEqual({ kind: "row", id: "e7", values: ["e7", 1, "😀\u0000"] });
  });

  it("stops the stage when the transform throws", () => {
    expect(() => apply({ id: "e5", n: 13 })).toThrow(TransformCrashed);
    expect(() => apply({ id: "e5", n: 13 })).toThrow("the transform of pipeline events threw: unlucky");
  });
});
