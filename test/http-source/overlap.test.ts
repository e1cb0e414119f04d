/**
 * Transform following extract: it starts on each chunk as soon as extract has staged it, and what it
 * hands on is exactly what a transform of extract's final output would. A source read over again (its
 * next try, a stage retry) starts the follower over; an extract that fails or a run cancelled meanwhile
 * leaves no transform behind and nothing written.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { http, HttpResponse } from "msw";
import { afterEach, describe, expect, it } from "vitest";
import { shardInstanceName } from "../../src/domain/shards";
import { runKey } from "../../src/domain/stages";
import { network } from "../support/network";
import { eventually, finished } from "../support/runtime";
import { allPolicies, httpSource, uniquePipeline } from "../support/settings";
import { gate, idsOfRun, lines, pagedSource, SOURCE, stageOf, start, transformChunks } from "../support/paged-source";

afterEach(() => network.resetHandlers());

describe("transform following extract", () => {
  it("transforms staged chunks while extract still reads, and hands on what a transform after extract would", async () => {
    const { opened, open } = gate();
    network.use(pagedSource(() => ({ lines: lines("a", 30), more: true }), opened, lines("b", 25)).handler);
    const name = uniquePipeline("follow");
    const { runId, read } = await start(name, {});
    // Extract holds the rest of the source back; transform has already staged its share of the first 30.
    await eventually(() => transformChunks(name, runId), (chunks) => chunks >= 3);
    expect((await read())!.currentStage).toBe("extract");
    open();
    const run = await finished(read, 20_000);
    expect(run.status).toBe("succeeded");
    expect(stageOf(run, "extract").outputCount).toBe(55);
    expect(stageOf(run, "transform")).toMatchObject({ inputCount: 55, outputCount: 55, attempts: 1 });
    // It started with extract: its turn began when extract ended, and it had worked all of extract's time.
    const { startTime, aheadMs } = stageOf(run, "transform");
    expect(startTime! - stageOf(run, "extract").endTime!).toBeGreaterThanOrEqual(0);
    expect(startTime! - stageOf(run, "extract").endTime!).toBeLessThan(50);
    expect(aheadMs).toBeGreaterThanOrEqual(stageOf(run, "extract").durationMs! - 50);
    expect(run.accounting.loaded).toBe(55);
    expect((await idsOfRun(runId)).length).toBe(55);

    // The same source stage by stage: the same counts and rows.
    network.use(pagedSource(() => ({ lines: lines("a", 30), more: true }), Promise.resolve(), lines("b", 25)).handler);
    const sequential = await start(uniquePipeline("in-turn"), { overlap: false });
    const alone = await finished(sequential.read, 20_000);
    expect(alone.status).toBe("succeeded");
    expect(stageOf(alone, "transform")).toMatchObject({ inputCount: 55, outputCount: 55 });
    expect(stageOf(alone, "transform").aheadMs).toBeUndefined();
    expect(await idsOfRun(sequential.runId)).toEqual(await idsOfRun(runId));
  });

  it("starts over when the source is read again: only the try that served the data is transformed", async () => {
    const { opened, open } = gate();
    // The first read's second page is unavailable: the source's next try reads it all again, from page 1.
    const source = pagedSource((read) => (read === 1 ? { lines: lines("first", 30), more: true } : { lines: lines("second", 25), more: false }), opened, 503);
    network.use(source.handler);
    const name = uniquePipeline("follow-again");
    const { runId, read } = await start(name, { retry: { ...allPolicies({ maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 }), source: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 } } });
    await eventually(() => transformChunks(name, runId), (chunks) => chunks >= 3);
    open();
    const run = await finished(read, 20_000);
    expect(run.status).toBe("succeeded");
    expect(source.reads()).toBe(2);
    expect(stageOf(run, "transform")).toMatchObject({ inputCount: 25, outputCount: 25, attempts: 1 });
    const ids = await idsOfRun(runId);
    expect(ids).toHaveLength(25);
    expect(ids.every((id) => id.startsWith("second-"))).toBe(true);
    expect(run.accounting.loaded).toBe(25);
  });

  it("starts over on the next source: only the source that served the data is transformed", async () => {
    const { opened, open } = gate();
    // The first source's second page is gone for good; the second source serves the run.
    network.use(pagedSource(() => ({ lines: lines("primary", 30), more: true }), opened, 404).handler);
    const FALLBACK = "https://overlap-fallback.example.test/records.ndjson";
    network.use(http.get(FALLBACK, () => new HttpResponse(lines("fallback", 20).join(""))));
    const name = uniquePipeline("follow-next-source");
    const sources = [httpSource(SOURCE, { format: "ndjson", timeoutMs: 30_000, pagination: { type: "link-header" } }), httpSource(FALLBACK, { format: "ndjson", timeoutMs: 30_000 })];
    const { runId, read } = await start(name, { sources, retry: allPolicies({ maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 }) });
    await eventually(() => transformChunks(name, runId), (chunks) => chunks >= 3);
    open();
    const run = await finished(read, 20_000);
    expect(run.status).toBe("succeeded");
    expect(run.source).toMatchObject({ url: FALLBACK });
    expect(stageOf(run, "transform")).toMatchObject({ inputCount: 20, outputCount: 20, attempts: 1 });
    expect(stageOf(run, "transform").aheadMs).toBeGreaterThan(0);
    const ids = await idsOfRun(runId);
    expect(ids).toHaveLength(20);
    expect(ids.every((id) => id.startsWith("fallback-"))).toBe(true);
    expect(run.accounting).toMatchObject({ extracted: 20, loaded: 20, balanced: true });
  });

  it("is stopped with its extract's failed attempt, and the retried extract's transform counts its data alone", async () => {
    // The first attempt's second page never comes: the attempt times out and the stage is tried again.
    const source = pagedSource((read) => (read === 1 ? { lines: lines("first", 30), more: true } : { lines: lines("retried", 40), more: false }), new Promise(() => {}), []);
    network.use(source.handler);
    const name = uniquePipeline("follow-retry");
    const { runId, read } = await start(name, { stageTimeoutMs: 1_500, retry: { ...allPolicies({ maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 }), stage: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 } } });
    await eventually(() => transformChunks(name, runId), (chunks) => chunks >= 3);
    const run = await finished(read, 20_000);
    expect(run.status).toBe("succeeded");
    expect(stageOf(run, "extract").attempts).toBe(2);
    expect(stageOf(run, "transform")).toMatchObject({ inputCount: 40, outputCount: 40, attempts: 1 });
    const ids = await idsOfRun(runId);
    expect(ids).toHaveLength(40);
    expect(ids.every((id) => id.startsWith("retried-"))).toBe(true);
  });

  it("ends with an extract that fails: the run fails in extract, its transform never counted as run, nothing written", async () => {
    const { opened, open } = gate();
    network.use(pagedSource(() => ({ lines: lines("doomed", 30), more: true }), opened, 404).handler);
    const name = uniquePipeline("follow-fail");
    const { runId, read } = await start(name, { retry: allPolicies({ maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 }) });
    await eventually(() => transformChunks(name, runId), (chunks) => chunks >= 3);
    open();
    const run = await finished(read, 20_000);
    expect(run.status).toBe("failed");
    expect(run.error).toContain("404");
    expect(stageOf(run, "extract").status).toBe("failed");
    expect(stageOf(run, "transform")).toMatchObject({ status: "skipped", attempts: 0 });
    expect(run.accounting.loaded).toBe(0);
    expect(await idsOfRun(runId)).toEqual([]);
  });

  it("is stopped by a cancel during extract: nothing written, the transform never started", async () => {
    const { opened, open } = gate();
    network.use(pagedSource(() => ({ lines: lines("c", 30), more: true }), opened, lines("d", 10)).handler);
    const name = uniquePipeline("follow-cancel");
    const { coordinator, runId } = await start(name, {});
    await eventually(() => transformChunks(name, runId), (chunks) => chunks >= 3);
    const cancelled = await coordinator.cancelRun(runId, "enough");
    open();
    expect(cancelled.outcome).toBe("cancelled");
    const run = (await coordinator.getRun(runId))!;
    expect(run.status).toBe("cancelled");
    expect(stageOf(run, "transform").attempts).toBe(0);
    expect(run.accounting.loaded).toBe(0);
    expect(await idsOfRun(runId)).toEqual([]);
  });

  it("finishes from the run's record when the extract agent it followed lost its memory (reset) before the end", async () => {
    const { opened, open } = gate();
    network.use(pagedSource(() => ({ lines: lines("r", 30), more: true }), opened, lines("s", 25)).handler);
    const name = uniquePipeline("follow-reset");
    // Time enough for the follower to poll the lost feed's stand-in (5 s a poll) before extract ends.
    const { runId, read } = await start(name, { stageTimeoutMs: 30_000 });
    await eventually(() => transformChunks(name, runId), (chunks) => chunks >= 3);
    // As a reset agent would: the feeds it kept in memory are gone; its next poll finds one that never began.
    const extract = env.ExtractStage.getByName(shardInstanceName(runKey(name, runId), "extract", 0));
    const feeds = () => runInDurableObject(extract, (instance) => (instance as unknown as { feeds: Map<number, unknown> }).feeds);
    (await feeds()).clear();
    // The follower has asked the agent again (a fresh feed stands in the lost one's place) before extract ends.
    await eventually(async () => (await feeds()).size, (size) => size === 1);
    open();
    const run = await finished(read, 30_000);
    expect(run.status).toBe("succeeded");
    expect(stageOf(run, "transform")).toMatchObject({ status: "succeeded", attempts: 1, inputCount: 55, outputCount: 55 });
    expect(stageOf(run, "transform").aheadMs).toBeGreaterThan(0);
    expect(run.accounting).toMatchObject({ extracted: 55, loaded: 55, balanced: true });
    expect((await idsOfRun(runId)).length).toBe(55);
  });

  it("is stopped with a stalled run, and the resumed run's transform counts the new read alone", async () => {
    // The first read's second page never comes; the read after the resume is whole.
    const source = pagedSource((read) => (read === 1 ? { lines: lines("stalled", 30), more: true } : { lines: lines("resumed", 35), more: false }), new Promise(() => {}), []);
    network.use(source.handler);
    const name = uniquePipeline("follow-stall");
    const { coordinator, runId, read } = await start(name, { stageTimeoutMs: 60_000, stall: { stallTimeoutMs: 150, maxResumes: 1 } });
    await eventually(() => transformChunks(name, runId), (chunks) => chunks >= 3);
    // The follower's own reports do not count as the run's progress while extract, its current stage, waits.
    await eventually(read, (run) => run!.lastProgressAt !== null && Date.now() - run!.lastProgressAt > 150);
    await coordinator.watchdog();
    expect(await read()).toMatchObject({ status: "running", resumes: 1 });
    const run = await finished(read, 20_000);
    expect(run.status).toBe("succeeded");
    expect(source.reads()).toBe(2);
    expect(stageOf(run, "extract").attempts).toBe(2);
    // A later extract attempt has no follower: this transform ran in its turn, on the second read only.
    expect(stageOf(run, "transform")).toMatchObject({ status: "succeeded", attempts: 1, inputCount: 35, outputCount: 35 });
    expect(stageOf(run, "transform").aheadMs).toBeUndefined();
    const ids = await idsOfRun(runId);
    expect(ids).toHaveLength(35);
    expect(ids.every((id) => id.startsWith("resumed-"))).toBe(true);
    expect(run.accounting).toMatchObject({ extracted: 35, loaded: 35, balanced: true });
  });

  it("counts a followed attempt's progress only once the run has taken it up", async () => {
    const { opened, open } = gate();
    network.use(pagedSource(() => ({ lines: lines("p", 30), more: true }), opened, lines("q", 5)).handler);
    const name = uniquePipeline("follow-progress");
    const { coordinator, runId, read } = await start(name, { overlap: false, stageTimeoutMs: 30_000 });
    // Its own reports have said all there is before the gate (30 lines): no other report lands meanwhile.
    await eventually(read, (run) => stageOf(run!, "extract").inputCount === 30);
    const counts = { inputCount: 9_999, outputCount: 9_999, rejectedCount: 0 };
    // Extract's attempt 1 was never taken up as a follower: a report that says it followed is not its own.
    await coordinator.recordStageProgress(runId, "extract", 1, 0, counts, true);
    expect(stageOf((await read())!, "extract").inputCount).not.toBe(9_999);
    await coordinator.recordStageProgress(runId, "extract", 1, 0, counts);
    expect(stageOf((await read())!, "extract").inputCount).toBe(9_999);
    open();
    expect((await finished(read, 20_000)).status).toBe("succeeded");
  });
});

