/** Which extract attempts a transform follows, and the feed it follows them by (src/staging/chunk-feed.ts). */
import { describe, expect, it } from "vitest";
import { stageAttemptFailed, stageFailed, stageStarted, startRun } from "../../src/domain/run";
import { transformFollows } from "../../src/domain/overlap";
import { ChunkFeed, FEED_START_WAIT_MS } from "../../src/staging/chunk-feed";

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

describe("ChunkFeed", () => {
  it("hands a follower the chunks after the ones it has, then extract's output", async () => {
    const feed = new ChunkFeed(0);
    feed.restart();
    feed.publish({ key: "k0", count: 10 });
    feed.publish({ key: "k1", count: 10 });
    expect(await feed.next(1, 0, 0)).toEqual({ kind: "chunks", generation: 1, from: 0, chunks: [{ key: "k0", count: 10 }, { key: "k1", count: 10 }] });
    expect(await feed.next(1, 1, 0)).toEqual({ kind: "chunks", generation: 1, from: 1, chunks: [{ key: "k1", count: 10 }] });
    const output = { keys: ["k0", "k1", "k2"], counts: [10, 10, 3], count: 23 };
    feed.finish(output);
    expect(await feed.next(1, 2, 0)).toEqual({ kind: "done", generation: 1, output });
  });

  it("wakes a waiting follower as soon as a chunk is staged, and answers an empty batch when nothing came in time", async () => {
    const feed = new ChunkFeed(0);
    feed.restart();
    const waiting = feed.next(1, 0, 5_000);
    feed.publish({ key: "k0", count: 1 });
    expect(await waiting).toMatchObject({ kind: "chunks", chunks: [{ key: "k0", count: 1 }] });
    expect(await feed.next(1, 1, 20)).toEqual({ kind: "chunks", generation: 1, from: 1, chunks: [] });
  });

  it("tells a follower of an earlier read to start over, with every chunk of the new one", async () => {
    const feed = new ChunkFeed(0);
    feed.restart();
    feed.publish({ key: "k0", count: 10 });
    feed.restart();
    expect(await feed.next(1, 1, 0)).toEqual({ kind: "chunks", generation: 2, from: 0, chunks: [] });
    feed.publish({ key: "k0", count: 4 });
    expect(await feed.next(1, 1, 0)).toEqual({ kind: "chunks", generation: 2, from: 0, chunks: [{ key: "k0", count: 4 }] });
  });

  it("says the attempt failed, and keeps saying so; the first ending stands", async () => {
    const feed = new ChunkFeed(0);
    feed.restart();
    feed.fail("the source said 404");
    feed.finish({ keys: [], counts: [], count: 0 });
    expect(await feed.next(1, 0, 0)).toEqual({ kind: "failed", reason: "the source said 404" });
  });

  it("gives up on an attempt that never begins", () => {
    const feed = new ChunkFeed(1_000);
    expect(feed.news(0, 0, 1_000 + FEED_START_WAIT_MS)).toBeNull();
    expect(feed.news(0, 0, 1_001 + FEED_START_WAIT_MS)).toMatchObject({ kind: "failed" });
    feed.begin();
    expect(feed.news(0, 0, 1_001 + FEED_START_WAIT_MS)).toBeNull();
  });
});
