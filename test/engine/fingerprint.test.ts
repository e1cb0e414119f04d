/** Fingerprints of what a run's output depends on, and what a resumed run does when they change. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { adoptDefinition, runDefinition } from "../../src/domain/definition";
import { stageStarted, stageSucceeded, startRun, type Run } from "../../src/domain/run";
import { NOTHING_STAGED } from "../../src/domain/staged-data";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { fingerprints } from "../../src/engine/fingerprint";
import { resolveSettings } from "../../src/engine/settings";
import orders from "../../src/pipelines/orders/pipeline";

const env = { D1_DATABASE_NAME: "db", ORDERS_SOURCE_URL: "", ORDERS_CONFIG: {} };

function settingsOf(pipeline: Pipeline, vars: Record<string, unknown> = {}) {
  const resolved = resolveSettings(pipeline, { ...env, ...vars });
  if (!resolved.ok) throw new Error(resolved.errors.join("; "));
  return resolved.settings;
}

describe("fingerprints", () => {
  const base = fingerprints(orders, settingsOf(orders));

  it("are the same for the same definition and settings", () => {
    expect(fingerprints(orders, settingsOf(orders))).toEqual(base);
    expect(base.extract).toMatch(/^[0-9a-f]{16}$/);
  });

  it("change the transform's alone when its code, config, version or destination changes", () => {
    const changes: Pipeline[] = [
      { ...orders, transform: ((order: { store_id: string }) => ({ ...order })) as never },
      { ...orders, version: "2" },
      { ...orders, destination: { ...orders.destination, duplicates: "last-wins" } },
    ];
    for (const changed of changes) {
      const now = fingerprints(changed, settingsOf(changed));
      expect(now.extract).toBe(base.extract);
      expect(now.transform).not.toBe(base.transform);
    }
    expect(fingerprints(orders, settingsOf(orders, { ORDERS_CONFIG: { testStores: ["demo"] } })).transform).not.toBe(base.transform);
  });

  it("found by review: see a record schema's refinements, transforms and coercion", () => {
    const trim = { ...orders, record: z.object({ id: z.string().transform((text) => text.trim()) }) } as Pipeline;
    const upper = { ...orders, record: z.object({ id: z.string().transform((text) => text.toUpperCase()) }) } as Pipeline;
    const coerced = { ...orders, record: z.object({ n: z.coerce.number() }) } as Pipeline;
    const plain = { ...orders, record: z.object({ n: z.number() }) } as Pipeline;
    expect(fingerprints(trim, settingsOf(trim)).transform).not.toBe(fingerprints(upper, settingsOf(upper)).transform);
    expect(fingerprints(coerced, settingsOf(coerced)).transform).not.toBe(fingerprints(plain, settingsOf(plain)).transform);
  });

  it("found by review: do not change with how a source is read (a timeout), only with what it gives", () => {
    const url = "https://pos.example.com/export.csv";
    const slow = fingerprints(orders, settingsOf(orders, { ORDERS_SOURCE_URL: url, ORDERS_CONFIG: { timeouts: { sourceMs: 60_000 } } }));
    const fast = fingerprints(orders, settingsOf(orders, { ORDERS_SOURCE_URL: url, ORDERS_CONFIG: { timeouts: { sourceMs: 5_000 } } }));
    expect(slow).toEqual(fast);
  });

  it("change both when the source changes", () => {
    const now = fingerprints(orders, settingsOf(orders, { ORDERS_SOURCE_URL: "https://pos.example.com/export.csv" }));
    expect(now.extract).not.toBe(base.extract);
    expect(now.transform).not.toBe(base.transform);
  });
});

describe("a resumed run meeting another definition", () => {
  const old = { extract: "e1", transform: "t1" };
  const fresh = (): Run => startRun({ runId: "manual-1", pipeline: "orders", trigger: "manual", scheduledFor: null, destination: "d1://db/orders", now: 1_000, definition: runDefinition(old, null) });
  const report = (count: number) => ({ inputCount: count, outputCount: count, rejectedCount: 0, output: [NOTHING_STAGED], rejected: NOTHING_STAGED, rejectedSample: [] });
  const inLoad = () => stageStarted(stageSucceeded(stageSucceeded(stageStarted(stageStarted(fresh(), "extract", 1_001), "transform", 1_002), "extract", report(5), 1_003), "transform", report(5), 1_004), "load", 1_005);

  it("goes on when nothing it did depends on the change, and says so", () => {
    const inExtract = stageStarted(fresh(), "extract", 1_001);
    const adopted = adoptDefinition(inExtract, { stages: { extract: "e1", transform: "t2" }, workerVersion: { id: "v2", tag: null } }, 2_000);
    expect(adopted.stages).toEqual(inExtract.stages);
    expect(adopted.definition).toMatchObject({ fingerprint: "t2", workerVersion: { id: "v2" }, changes: [{ from: "t1", to: "t2", restartedFrom: null, note: "the definition changed before transform started (the transform, its record schema, config or destination; t1 → t2): the run goes on under the new one" }] });
  });

  it("starts over from the transform when it changed after the transform ran, keeping extract's output", () => {
    const run = inLoad();
    const adopted = adoptDefinition(run, { stages: { extract: "e1", transform: "t2" }, workerVersion: null }, 2_000);
    expect(adopted.stages.map((stage) => stage.status)).toEqual(["succeeded", "pending", "pending"]);
    expect(Object.keys(adopted.checkpoints)).toEqual(["extract"]);
    expect(adopted.definition!.changes[0]).toMatchObject({ restartedFrom: "transform", note: "the definition changed while the run was under way (the transform, its record schema, config or destination; t1 → t2): transform and load start over; extract's output is still valid" });
  });

  it("starts over from extract when the sources changed", () => {
    const adopted = adoptDefinition(inLoad(), { stages: { extract: "e2", transform: "t2" }, workerVersion: null }, 2_000);
    expect(adopted.stages.map((stage) => stage.status)).toEqual(["pending", "pending", "pending"]);
    expect(adopted.checkpoints).toEqual({});
    expect(adopted.source).toBeNull();
    expect(adopted.definition!.changes[0]!.restartedFrom).toBe("extract");
  });

  it("changes nothing when the definition is the same", () => {
    const run = inLoad();
    expect(adoptDefinition(run, { stages: old, workerVersion: null }, 2_000)).toBe(run);
  });
});
