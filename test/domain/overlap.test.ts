/** Which extract attempts a transform follows, which transform attempts a load follows, and the feed it follows them by (src/staging/chunk-feed.ts). */
import { describe, expect, it } from "vitest";
import { stageAttemptFailed, stageFailed, stageStarted, stageSucceeded, stageTakenUp, startRun } from "../../src/domain/run";
import { extractOutputOf, loadFollows, transformFollows } from "../../src/domain/overlap";
import type { StageReport } from "../../src/domain/stage-report";
import { ChunkFeed, FEED_START_WAIT_MS, FOLLOWER_WAIT_MS } from "../../src/staging/chunk-feed";

const fresh = { runId: "manual-1000", pipeline: "default", trigger: "manual" as const, scheduledFor: null, destination: "d1://db/metrics", now: 1000 };
const on = { overlap: true, parallelism: { transform: 1 } };

describe("transformFollows", () => {
  it("is a first extract attempt of a run whose transform never ran, one transform agent, overlap on", () => {
    const run = stageStarted(startRun(fresh), "extract", 1001);
    expect(transformFollows(run, on, 1)).toBe(true);
    expect(transformFollows(run, { ...on, overlap: false }, 1)).toBe(false);
    expect(transformFollows(run, { parallelism: { transform: 1 } }, 1)).toBe(false); // settings saved before overlap
    expect(transformFollows(run, { ...on, parallelism: { transform: 2 } }, 1)).toBe(false);
  });

  it("is never a retried extract: that one goes stage by stage", () => {
    const retried = stageStarted(stageAttemptFailed(stageStarted(startRun(fresh), "extract", 1001), "extract", "timed out", 1002), "extract", 1003);
    expect(transformFollows(retried, on, 2)).toBe(false);
  });

  it("is never a run whose transform has run already", () => {
    const run = stageStarted(startRun(fresh), "extract", 1001);
    const transformed = { ...run, stages: run.stages.map((stage) => (stage.name === "transform" ? { ...stage, attempts: 1 } : stage)) };
    expect(transformFollows(transformed, on, 1)).toBe(false);
    expect(transformFollows(stageFailed(run, "extract", "gone", 1002), on, 1)).toBe(false);
  });
});

describe("loadFollows", () => {
  const both = { overlap: true, parallelism: { transform: 1, load: 1 } };
  const transforming = stageStarted(stageStarted(startRun(fresh), "extract", 1001), "transform", 1002);

  it("is a first transform attempt, one transform and one load agent, a destination that stages, overlap on", () => {
    expect(loadFollows(transforming, both, 1, true)).toBe(true);
    expect(loadFollows(transforming, both, 1, false)).toBe(false); // the destination cannot hold rows aside
    expect(loadFollows(transforming, { ...both, overlap: false }, 1, true)).toBe(false);
    expect(loadFollows(transforming, { parallelism: { transform: 1, load: 1 } }, 1, true)).toBe(false);
    expect(loadFollows(transforming, { ...both, parallelism: { transform: 1, load: 2 } }, 1, true)).toBe(false);
    expect(loadFollows(transforming, { ...both, parallelism: { transform: 2, load: 1 } }, 1, true)).toBe(false);
  });

  it("is never a retried transform, nor a run whose load has run already", () => {
    expect(loadFollows(transforming, both, 2, true)).toBe(false);
    const loaded = { ...transforming, stages: transforming.stages.map((stage) => (stage.name === "load" ? { ...stage, attempts: 1 } : stage)) };
    expect(loadFollows(loaded, both, 1, true)).toBe(false);
    expect(loadFollows(stageFailed(transforming, "transform", "gone", 1003), both, 1, true)).toBe(false);
  });
});

describe("ChunkFeed", () => {
  it("hands a follower the chunks after the ones it has, then extract's output", async () => {
    const feed = new ChunkFeed(0, false, 0);
    feed.restart();
    feed.publish({ key: "k0", count: 10 });
    feed.publish({ key: "k1", count: 10 });
    expect(await feed.next(1, 0, 0)).toEqual({ kind: "chunks", generation: 1, from: 0, chunks: [{ key: "k0", count: 10 }, { key: "k1", count: 10 }], begun: true });
    expect(await feed.next(1, 1, 0)).toEqual({ kind: "chunks", generation: 1, from: 1, chunks: [{ key: "k1", count: 10 }], begun: true });
    const output = { keys: ["k0", "k1", "k2"], counts: [10, 10, 3], count: 23 };
    feed.finish(output);
    expect(await feed.next(1, 2, 0)).toEqual({ kind: "done", generation: 1, output });
  });

  it("wakes a waiting follower as soon as a chunk is staged, and answers an empty batch when nothing came in time", async () => {
    const feed = new ChunkFeed(0, false, 0);
    feed.restart();
    const waiting = feed.next(1, 0, 5_000);
    feed.publish({ key: "k0", count: 1 });
    expect(await waiting).toMatchObject({ kind: "chunks", chunks: [{ key: "k0", count: 1 }] });
    expect(await feed.next(1, 1, 20)).toEqual({ kind: "chunks", generation: 1, from: 1, chunks: [], begun: true });
  });

  it("tells a follower of an earlier read to start over, with every chunk of the new one", async () => {
    const feed = new ChunkFeed(0, false, 0);
    feed.restart();
    feed.publish({ key: "k0", count: 10 });
    feed.restart();
    expect(await feed.next(1, 1, 0)).toEqual({ kind: "chunks", generation: 2, from: 0, chunks: [], begun: true });
    feed.publish({ key: "k0", count: 4 });
    expect(await feed.next(1, 1, 0)).toEqual({ kind: "chunks", generation: 2, from: 0, chunks: [{ key: "k0", count: 4 }], begun: true });
  });

  it("says the attempt failed, and keeps saying so; the first ending stands", async () => {
    const feed = new ChunkFeed(0, false, 0);
    feed.restart();
    feed.fail("the source said 404");
    feed.finish({ keys: [], counts: [], count: 0 });
    expect(await feed.next(1, 0, 0)).toEqual({ kind: "failed", reason: "the source said 404" });
  });

  it("gives up on an attempt that never begins", () => {
    const feed = new ChunkFeed(1_000, false, 0);
    expect(feed.news(0, 0, 1_000 + FEED_START_WAIT_MS)).toBeNull();
    expect(feed.news(0, 0, 1_001 + FEED_START_WAIT_MS)).toMatchObject({ kind: "failed" });
    feed.begin();
    expect(feed.news(0, 0, 1_001 + FEED_START_WAIT_MS)).toBeNull();
  });

  it("counts generations from a random epoch: a follower of one agent's read never meets its generation in another's", async () => {
    const first = new ChunkFeed(0);
    const second = new ChunkFeed(0);
    first.restart();
    second.restart();
    const heard = await first.next(0, 0, 0);
    const other = await second.next(0, 0, 0);
    expect(heard.kind === "chunks" && other.kind === "chunks" && heard.generation !== other.generation).toBe(true);
  });

  it("says whether the attempt has begun, so a follower can tell a fresh agent from the one it followed", async () => {
    const feed = new ChunkFeed(Date.now(), false, 0);
    expect(await feed.next(0, 0, 0)).toMatchObject({ kind: "chunks", begun: false });
    feed.restart();
    expect(await feed.next(0, 0, 0)).toMatchObject({ kind: "chunks", generation: 1, begun: true });
  });

  it("is waited for while a follower that asked has not heard how the attempt ended, up to FOLLOWER_WAIT_MS", async () => {
    const feed = new ChunkFeed(Date.now(), false, 0);
    expect(feed.awaitsFollower(Date.now())).toBe(false); // nobody follows it
    await feed.next(0, 0, 0);
    expect(feed.awaitsFollower(Date.now())).toBe(false); // followed, but the attempt never began here
    feed.restart();
    await feed.next(1, 0, 0);
    feed.finish({ keys: [], counts: [], count: 0 });
    expect(feed.awaitsFollower(Date.now())).toBe(true);
    expect(feed.awaitsFollower(Date.now() + FOLLOWER_WAIT_MS + 1_000)).toBe(false);
    expect(await feed.next(1, 0, 0)).toMatchObject({ kind: "done" });
    expect(feed.awaitsFollower(Date.now())).toBe(false);
  });
});

describe("extractOutputOf", () => {
  const output = { keys: ["runs/default/manual-1000/extract/attempt-1/part-00000.ndjson"], counts: [3], count: 3 };
  const report: StageReport = { inputCount: 3, outputCount: 3, rejectedCount: 0, output: [output], rejected: { keys: [], counts: [], count: 0 }, rejectedSample: [] };

  it("is what the attempt staged once the run recorded it succeeded, and nothing before or for another attempt", () => {
    const extracting = stageStarted(startRun(fresh), "extract", 1001);
    expect(extractOutputOf(extracting, 1)).toBeNull();
    const extracted = stageSucceeded(extracting, "extract", report, 1002);
    expect(extractOutputOf(extracted, 1)).toEqual(output);
    expect(extractOutputOf(extracted, 2)).toBeNull();
  });
});

describe("aheadMs", () => {
  it("belongs to the attempt that followed: a later attempt of the stage starts without it", () => {
    const extracting = stageStarted(startRun(fresh), "extract", 1001);
    const followed = stageTakenUp(stageStarted(extracting, "transform", 2_000), "transform", 1_500);
    expect(followed.stages.find((stage) => stage.name === "transform")!.aheadMs).toBe(500);
    const again = stageStarted(stageAttemptFailed(followed, "transform", "gone", 2_100), "transform", 2_200);
    expect(again.stages.find((stage) => stage.name === "transform")).toMatchObject({ attempts: 2 });
    expect(again.stages.find((stage) => stage.name === "transform")!.aheadMs).toBeUndefined();
  });
});

