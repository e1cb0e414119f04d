/** The R2 staging store: fixed-size NDJSON chunks under runs/<pipeline>/<runId>/<stage>/, read back in order, deleted per run. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ChunkWriter, deleteRunStaging, INLINE_CHUNK_CHARS, MAX_CHUNK_CHARS, MissingChunkError, readChunk, readStaged, readStagedChunk, UnstorableRecord } from "../../src/staging/staging-store";
import { uniqueName } from "../support/runtime";

describe("ChunkWriter", () => {
  it("splits records into chunks with deterministic keys per attempt and reports their count", async () => {
    const runId = uniqueName("manual");
    const writer = new ChunkWriter(env.STAGING, runId, "extract", 1, "part", 2);
    for (const value of [1, 2, 3, 4, 5]) await writer.add({ value });
    const staged = await writer.finish();
    expect(staged).toEqual({
      count: 5,
      counts: [2, 2, 1],
      keys: [`runs/${runId}/extract/attempt-1/part-00000.ndjson`, `runs/${runId}/extract/attempt-1/part-00001.ndjson`, `runs/${runId}/extract/attempt-1/part-00002.ndjson`],
    });
    expect(await (await env.STAGING.get(staged.keys[0]!))!.text()).toBe('{"value":1}\n{"value":2}\n');

    const chunks = [];
    for await (const chunk of readStaged(env.STAGING, staged)) chunks.push(chunk);
    expect(chunks).toEqual([
      { offset: 0, records: [{ value: 1 }, { value: 2 }] },
      { offset: 2, records: [{ value: 3 }, { value: 4 }] },
      { offset: 4, records: [{ value: 5 }] },
    ]);
  });

  it("hands a small output on inline, without a round trip to the store, and reads it back like a stored one", async () => {
    const runId = uniqueName("manual");
    const small = new ChunkWriter(env.STAGING, runId, "transform", 1, "part", 100);
    for (const value of [1, 2, 3]) await small.add({ value });
    const staged = await small.finish();
    expect(staged).toEqual({ keys: [`runs/${runId}/transform/attempt-1/part-00000.ndjson`], counts: [3], count: 3, inline: ['{"value":1}\n{"value":2}\n{"value":3}\n'] });
    expect((await env.STAGING.list({ prefix: `runs/${runId}/` })).objects).toEqual([]);
    const chunks = [];
    for await (const chunk of readStaged(env.STAGING, staged, 10)) chunks.push(chunk);
    expect(chunks).toEqual([{ offset: 10, records: [{ value: 1 }, { value: 2 }, { value: 3 }] }]);

    const large = new ChunkWriter(env.STAGING, runId, "extract", 1, "part", 100);
    await large.add({ text: "x".repeat(INLINE_CHUNK_CHARS) });
    const stored = await large.finish();
    expect(stored.inline).toBeUndefined();
    expect((await env.STAGING.list({ prefix: `runs/${runId}/` })).objects).toHaveLength(1);
  });

  it("closes a chunk at MAX_CHUNK_CHARS of text before its record count when records are large", async () => {
    const writer = new ChunkWriter(env.STAGING, uniqueName("manual"), "extract", 1, "part", 1_000);
    const big = "x".repeat(1.5 * 1024 * 1024);
    for (let index = 0; index < 7; index += 1) await writer.add({ index, big });
    const staged = await writer.finish();
    expect(staged.counts).toEqual([2, 2, 2, 1]); // 2 × 1.5 MiB reaches 3 MiB
    expect(staged.count).toBe(7);
    const sizes = await Promise.all(staged.keys.map(async (key) => (await env.STAGING.head(key))!.size));
    expect(Math.max(...sizes)).toBeLessThan(MAX_CHUNK_CHARS + 1.6 * 1024 * 1024);
  });

  it("refuses a record JSON cannot hold on its own, and keeps the others of its chunk", async () => {
    const writer = new ChunkWriter(env.STAGING, uniqueName("manual"), "extract", 1, "part", 10);
    await writer.add({ value: 1 });
    const error = await writer.add({ value: 10n }).then(null, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnstorableRecord);
    expect((error as Error).message).toMatch(/^the record cannot be stored as JSON: /);
    await writer.add({ value: 2 });
    const staged = await writer.finish();
    expect(staged.count).toBe(2);
    expect(await readStagedChunk(env.STAGING, staged, 0)).toEqual([{ value: 1 }, { value: 2 }]);
  });

  it("writes nothing for no records", async () => {
    const writer = new ChunkWriter(env.STAGING, uniqueName("manual"), "transform", 1, "rejected", 10);
    expect(await writer.finish()).toEqual({ keys: [], counts: [], count: 0 });
  });
});

describe("staging cleanup", () => {
  it("deletes everything one run staged and nothing of another run", async () => {
    const runId = uniqueName("manual");
    const otherRun = `${runId}0`;
    for (const stage of ["extract", "transform"] as const) {
      const writer = new ChunkWriter(env.STAGING, runId, stage, 1, "part", 1);
      for (const value of [1, 2, 3]) await writer.add(value);
      await writer.finish();
    }
    const keep = new ChunkWriter(env.STAGING, otherRun, "extract", 1, "part", 1);
    await keep.add("x");
    await keep.add("y"); // two chunks: a stage's only small chunk would travel inline, not through R2
    const kept = await keep.finish();

    expect(await deleteRunStaging(env.STAGING, runId)).toBe(6);
    expect((await env.STAGING.list({ prefix: `runs/${runId}/` })).objects).toEqual([]);
    expect(await readChunk(env.STAGING, kept.keys[0]!)).toEqual(["x"]);
  });

  it("reports a missing chunk by key", async () => {
    const error = await readChunk(env.STAGING, "runs/none/extract/attempt-1/part-00000.ndjson").then(null, (e: unknown) => e);
    expect(error).toBeInstanceOf(MissingChunkError);
    expect((error as Error).message).toBe("staged chunk runs/none/extract/attempt-1/part-00000.ndjson is missing");
  });
});
