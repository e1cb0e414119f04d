/** How stages shard, how shard reports merge, and the rejected-record cursor. */
import { describe, expect, it } from "vitest";
import { decodePositionCursor, encodePositionCursor } from "../../src/domain/history";
import { bucketOf, planShards, shardInstanceName, splitContiguous } from "../../src/domain/shards";
import { mergeReports, type StageReport } from "../../src/domain/stage-report";

describe("sharding", () => {
  const staged = (counts: number[]) => ({ keys: counts.map((_, index) => `k${index}`), counts, count: counts.reduce((a, b) => a + b, 0) });
  const none = { keys: [], counts: [], count: 0 };

  it("splits ranges contiguously and never into empty parts", () => {
    expect(splitContiguous(5, 2)).toEqual([
      [0, 2],
      [2, 5],
    ]);
    expect(splitContiguous(1, 4)).toEqual([[0, 1]]);
    expect(splitContiguous(0, 3)).toEqual([[0, 0]]);
  });

  it("gives transform shards contiguous chunk ranges with their starting positions", () => {
    const plans = planShards("transform", { records: [staged([5, 5, 5, 2])], rejected: [], raw: none }, { transform: 2, load: 1 });
    expect(plans.map((plan) => [plan.shard, plan.offset, plan.input.records[0]!.keys, plan.input.records[0]!.count])).toEqual([
      [0, 0, ["k0", "k1"], 10],
      [1, 10, ["k2", "k3"], 7],
    ]);
  });

  it("gives each load shard one bucket and a share of the staged rejections", () => {
    const rejected = [staged([1]), staged([2]), staged([3])];
    const plans = planShards("load", { records: [staged([3]), staged([4])], rejected, raw: none }, { transform: 1, load: 2 });
    expect(plans.map((plan) => [plan.input.records[0]!.count, plan.input.rejected.map((r) => r.count)])).toEqual([
      [3, [1, 3]],
      [4, [2]],
    ]);
  });

  it("buckets an id the same way every time, spread over all buckets", () => {
    expect(bucketOf("rec-1", 4)).toBe(bucketOf("rec-1", 4));
    expect(bucketOf("anything", 1)).toBe(0);
    const used = new Set(Array.from({ length: 200 }, (_, index) => bucketOf(`id-${index}`, 4)));
    expect(used).toEqual(new Set([0, 1, 2, 3]));
  });

  it("names shard 0 like an unsharded stage", () => {
    expect(shardInstanceName("manual-1", "load", 0)).toBe("manual-1:load");
    expect(shardInstanceName("manual-1", "load", 2)).toBe("manual-1:load:2");
  });
});

describe("mergeReports", () => {
  const part = (keys: string[], count: number) => ({ keys, counts: keys.map(() => count / Math.max(1, keys.length)), count });
  it("sums counts, keeps partitions in shard order, and merges samples by position", () => {
    const a: StageReport = {
      inputCount: 10,
      outputCount: 8,
      rejectedCount: 2,
      output: [part(["a0"], 5), part(["a1"], 3)],
      rejected: part(["ar"], 2),
      rejectedSample: [{ position: 7, id: "x", stage: "transform", reason: "r" }],
      newestWatermark: "2024-01-02T00:00:00.000Z",
    };
    const b: StageReport = {
      inputCount: 4,
      outputCount: 4,
      rejectedCount: 0,
      output: [part(["b0"], 2), part(["b1"], 2)],
      rejected: part([], 0),
      rejectedSample: [{ position: 2, id: "y", stage: "transform", reason: "r" }],
      newestWatermark: "2024-03-01T00:00:00.000Z",
    };
    const merged = mergeReports([a, b]);
    expect(merged).toMatchObject({ inputCount: 14, outputCount: 12, rejectedCount: 2, newestWatermark: "2024-03-01T00:00:00.000Z" });
    expect(merged.output.map((bucket) => bucket.keys)).toEqual([
      ["a0", "b0"],
      ["a1", "b1"],
    ]);
    expect(merged.rejectedSample.map((sample) => sample.position)).toEqual([2, 7]);
  });
});

describe("rejected-record cursors", () => {
  it("round-trip and refuse anything else", () => {
    expect(decodePositionCursor(encodePositionCursor(1234))).toBe(1234);
    for (const text of ["garbage", btoa('["p",-1]'), btoa('["q",1]'), btoa("[1,2]"), ""]) expect(decodePositionCursor(text)).toBeNull();
  });
});

