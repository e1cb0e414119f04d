/**
 * Load following transform: it writes each chunk of rows as soon as transform has staged it, into a table
 * of the run's own beside the destination, and the rows reach the destination only when the run's load
 * turn comes, all of them at once. Duplicates are refused as a load in its turn refuses them; dataset
 * checks that block the run, a cancel, or a lost load agent leave nothing written and no table behind.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import defaultPipeline from "../../src/pipelines/default/pipeline";
import { stagedTableName } from "../../src/destinations/d1/staged-writes";
import { shardInstanceName } from "../../src/domain/shards";
import { runKey } from "../../src/domain/stages";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { network } from "../support/network";
import { gate, idsOfRun, lines, pagedSource, stageOf, start } from "../support/paged-source";
import { eventually, finished } from "../support/runtime";
import { allPolicies, settingsFor, uniquePipeline } from "../support/settings";

afterEach(() => network.resetHandlers());

/** Rows of the run waiting beside `metrics`; null when there is no such table. */
async function rowsAside(pipeline: string, runId: string): Promise<number | null> {
  const name = stagedTableName("metrics", pipeline, runId);
  const table = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?").bind(name).first();
  if (!table) return null;
  return (await env.DB.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).first<{ n: number }>())!.n;
}

/** What `rejected_records` holds for a run, in the order of the input. */
async function rejectedOf(runId: string) {
  const { results } = await env.DB.prepare("SELECT position, record_id, stage, reason, raw FROM rejected_records WHERE run_id = ? ORDER BY position").bind(runId).all();
  return results;
}

describe("load following transform", () => {
  it("writes transform's chunks aside while extract still reads; the rows reach the table only in load's turn", async () => {
    const { opened, open } = gate();
    network.use(pagedSource(() => ({ lines: lines("a", 30), more: true }), opened, lines("b", 25)).handler);
    const name = uniquePipeline("load-follow");
    const { runId, read } = await start(name, {});
    await eventually(() => rowsAside(name, runId), (rows) => (rows ?? 0) >= 10);
    expect((await read())!.currentStage).toBe("extract");
    expect(await idsOfRun(runId)).toEqual([]);
    open();
    const run = await finished(read, 20_000);
    expect(run.status).toBe("succeeded");
    expect(stageOf(run, "load")).toMatchObject({ status: "succeeded", attempts: 1, inputCount: 55, outputCount: 55, rejectedCount: 0 });
    // It started while extract was at work: ahead of its turn by about transform's time and some of extract's.
    expect(stageOf(run, "load").aheadMs).toBeGreaterThan(stageOf(run, "transform").durationMs!);
    expect(run.accounting).toMatchObject({ extracted: 55, loaded: 55, balanced: true });
    expect((await idsOfRun(runId)).length).toBe(55);
    expect(await rowsAside(name, runId)).toBeNull();
  });

  it("refuses duplicates as a load in its turn does: the same rejected records, reasons and raw lines", async () => {
    // Repeats inside a chunk, across chunks, and across the two pages (the second arrives after load began).
    const first = [...lines("a", 25), lines("a", 3)[1]!, ...lines("c", 4)];
    const second = [lines("a", 1)[0]!, ...lines("b", 20), lines("c", 3)[2]!];
    const runs = [];
    for (const overlap of [true, false]) {
      const { opened, open } = gate();
      network.use(pagedSource(() => ({ lines: first, more: true }), opened, second).handler);
      const name = uniquePipeline(overlap ? "load-follow-dup" : "load-turn-dup");
      const { runId, read } = await start(name, { overlap });
      if (overlap) await eventually(() => rowsAside(name, runId), (rows) => (rows ?? 0) >= 10);
      open();
      const run = await finished(read, 20_000);
      expect(run.status).toBe("succeeded");
      runs.push({ run, rejected: await rejectedOf(runId), ids: await idsOfRun(runId) });
    }
    const [followed, inTurn] = runs;
    expect(stageOf(followed!.run, "load").aheadMs).toBeGreaterThan(0);
    expect(stageOf(inTurn!.run, "load").aheadMs).toBeUndefined();
    expect(stageOf(followed!.run, "load")).toMatchObject({ inputCount: 52, outputCount: 49, rejectedCount: 3 });
    expect(followed!.rejected).toEqual(inTurn!.rejected);
    expect(followed!.rejected.map((row) => row.reason)).toEqual(['duplicate id "a-1" (first seen at position 1)', 'duplicate id "a-0" (first seen at position 0)', 'duplicate id "c-2" (first seen at position 28)']);
    expect(followed!.rejected.every((row) => row.stage === "load" && String(row.raw).startsWith("{"))).toBe(true);
    expect(followed!.ids).toEqual(inTurn!.ids);
    expect(followed!.run.accounting).toMatchObject({ extracted: 52, loaded: 49, rejected: 3, balanced: true });
  });

  it("starts over with transform when the source is read again: only the read that served the data is written", async () => {
    const { opened, open } = gate();
    const source = pagedSource((read) => (read === 1 ? { lines: lines("first", 30), more: true } : { lines: lines("second", 25), more: false }), opened, 503);
    network.use(source.handler);
    const name = uniquePipeline("load-follow-again");
    const { runId, read } = await start(name, { retry: { ...allPolicies({ maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 }), source: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 } } });
    await eventually(() => rowsAside(name, runId), (rows) => (rows ?? 0) >= 10);
    open();
    const run = await finished(read, 20_000);
    expect(run.status).toBe("succeeded");
    expect(source.reads()).toBe(2);
    expect(stageOf(run, "load")).toMatchObject({ attempts: 1, inputCount: 25, outputCount: 25 });
    expect(stageOf(run, "load").aheadMs).toBeGreaterThan(0);
    const ids = await idsOfRun(runId);
    expect(ids).toHaveLength(25);
    expect(ids.every((id) => id.startsWith("second-"))).toBe(true);
    expect(run.accounting).toMatchObject({ extracted: 25, loaded: 25, balanced: true });
    expect(await rowsAside(name, runId)).toBeNull();
  });

  it("is stopped when the dataset checks block the run: nothing written, the rows aside dropped", async () => {
    const { opened, open } = gate();
    network.use(pagedSource(() => ({ lines: lines("k", 30), more: true }), opened, lines("l", 25)).handler);
    const name = uniquePipeline("load-follow-checks", { ...defaultPipeline, checks: [{ type: "row_count", max: 40 }] } as Pipeline);
    const { runId, read } = await start(name, {});
    await eventually(() => rowsAside(name, runId), (rows) => (rows ?? 0) >= 10);
    open();
    const run = await finished(read, 20_000);
    expect(run.status).toBe("failed");
    expect(run.errorCode).toBe("checks_failed");
    expect(stageOf(run, "load")).toMatchObject({ attempts: 0 });
    expect(run.accounting.loaded).toBe(0);
    expect(await idsOfRun(runId)).toEqual([]);
    expect(await rowsAside(name, runId)).toBeNull();
  });

  it("is stopped by a cancel: nothing written, the rows aside dropped", async () => {
    const { opened, open } = gate();
    network.use(pagedSource(() => ({ lines: lines("x", 30), more: true }), opened, lines("y", 10)).handler);
    const name = uniquePipeline("load-follow-cancel");
    const { coordinator, runId } = await start(name, {});
    await eventually(() => rowsAside(name, runId), (rows) => (rows ?? 0) >= 10);
    const cancelled = await coordinator.cancelRun(runId, "enough");
    open();
    expect(cancelled.outcome).toBe("cancelled");
    const run = (await coordinator.getRun(runId))!;
    expect(stageOf(run, "load").attempts).toBe(0);
    expect(run.accounting.loaded).toBe(0);
    expect(await idsOfRun(runId)).toEqual([]);
    await eventually(() => rowsAside(name, runId), (rows) => rows === null);
  });

  it("loads in its turn when the load agent lost what it was following (reset): the same rows, no time ahead", async () => {
    const { opened, open } = gate();
    network.use(pagedSource(() => ({ lines: lines("m", 30), more: true }), opened, lines("n", 25)).handler);
    const name = uniquePipeline("load-follow-reset");
    const { runId, read } = await start(name, { stageTimeoutMs: 30_000 });
    await eventually(() => rowsAside(name, runId), (rows) => (rows ?? 0) >= 10);
    // As a reset agent would: what it kept in memory of the load it was following is gone.
    const load = env.LoadStage.getByName(shardInstanceName(runKey(name, runId), "load", 0));
    await runInDurableObject(load, (instance) => (instance as unknown as { following: Map<number, unknown> }).following.clear());
    open();
    const run = await finished(read, 20_000);
    expect(run.status).toBe("succeeded");
    expect(stageOf(run, "load")).toMatchObject({ status: "succeeded", attempts: 1, inputCount: 55, outputCount: 55 });
    expect(stageOf(run, "load").aheadMs).toBeUndefined();
    expect(run.accounting).toMatchObject({ extracted: 55, loaded: 55, balanced: true });
    expect((await idsOfRun(runId)).length).toBe(55);
    await eventually(() => rowsAside(name, runId), (rows) => rows === null);
  });

  it("never starts for a run smaller than a chunk", async () => {
    network.use(pagedSource(() => ({ lines: lines("s", 7), more: false }), Promise.resolve(), []).handler);
    const name = uniquePipeline("load-follow-small");
    const { runId, read } = await start(name, {});
    const run = await finished(read, 20_000);
    expect(run.status).toBe("succeeded");
    expect(stageOf(run, "load").aheadMs).toBeUndefined();
    expect(run.accounting.loaded).toBe(7);
    expect(await rowsAside(name, runId)).toBeNull();
  });
  it("leaves no staging behind a crash: the coordinator's ledger drops it on its next sweep, the run's record gone or not", async () => {
    network.use(pagedSource(() => ({ lines: lines("k", 30), more: false }), Promise.resolve(), []).handler);
    const name = uniquePipeline("load-follow-ledger");
    const { coordinator, runId, read } = await start(name, {});
    expect((await finished(read, 20_000)).status).toBe("succeeded");
    // As a follower that died with its machine would leave it: its table, the run marked, no record left.
    const orphan = `${runId}-orphan`;
    const settings = settingsFor(name, {});
    await env.DB.prepare(`CREATE TABLE "${stagedTableName("metrics", name, orphan)}" (id TEXT)`).run();
    const ledger = (work: (loads: { mark(runId: string, settings: unknown): void; marked(): string[] }) => unknown) =>
      runInDurableObject(coordinator as unknown as DurableObjectStub, (instance: unknown) => work((instance as { stagedLoads: never }).stagedLoads)) as Promise<unknown>;
    await ledger((loads) => loads.mark(orphan, settings));
    expect(await rowsAside(name, orphan)).toBe(0);
    await coordinator.watchdog();
    expect(await rowsAside(name, orphan)).toBeNull();
    expect(await ledger((loads) => loads.marked())).toEqual([]);
  });
});
