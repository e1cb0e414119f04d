import type { StagedData } from "../domain/staged-data";
import type { StageName } from "../domain/stages";
import { decodeNdjson, encodeLine } from "./ndjson";

/**
 * Stages hand records to each other through R2 rather than inside RPC arguments: each stage writes NDJSON
 * chunks under runs/<runId>/<stage>/ and reports only their keys and counts. This keeps every RPC small
 * whatever the size of the run.
 */

export type ChunkKind = string;

/** Everything a run stages, under its run key (`<pipeline>/<runId>`). */
export function runPrefix(key: string): string {
  return `runs/${key}/`;
}

/** Each attempt writes under its own prefix, so an abandoned attempt can never overwrite a newer one's output. */
export function chunkKey(key: string, stage: StageName, attempt: number, kind: ChunkKind, index: number): string {
  return `${runPrefix(key)}${stage}/attempt-${attempt}/${kind}-${String(index).padStart(5, "0")}.ndjson`;
}

/** A record that cannot be written as JSON (nested deeper than the runtime can serialise). */
export class UnstorableRecord extends Error {
  override readonly name = "UnstorableRecord";
}

/**
 * A chunk is written once it holds `chunkRecords` records or this much text, whichever comes first, so
 * what a stage holds is bounded by bytes even when records are large. `npm run bench` measures the load
 * stage, the hungriest, holding 15 to 23 times its chunk's text while it works (33-50 MiB for 20,000 rows
 * of 110 bytes): 3 MiB of text keeps a stage under about 80 MB of the 128 MB a Durable Object has.
 */
export const MAX_CHUNK_CHARS = 3 * 1024 * 1024;

/** A stage output of one chunk up to this size travels inline, not through the store (see StagedData). */
export const INLINE_CHUNK_CHARS = 8 * 1024;

/**
 * Buffers records and writes them as chunks under deterministic keys. Each record is encoded
 * when it is added, so one that cannot be stored is refused on its own, never taking its chunk with it.
 */
export class ChunkWriter {
  /** `kind` may carry a sub-prefix, e.g. "shard-1/b0-part", so shards and buckets never collide. */
  private buffer: string[] = [];
  private keys: string[] = [];
  private counts: number[] = [];
  private count = 0;
  private chars = 0;
  /** Hears of each chunk once it is in the store (a stage following this one works on it meanwhile). */
  onFlush: ((chunk: { key: string; count: number }) => void) | null = null;

  constructor(
    private readonly bucket: R2Bucket,
    /** The run's key: `<pipeline>/<runId>`. */
    private readonly runKey: string,
    private readonly stage: StageName,
    private readonly attempt: number,
    private readonly kind: ChunkKind,
    private readonly chunkRecords: number,
  ) {}

  async add(record: unknown): Promise<void> {
    let line: string;
    try {
      line = encodeLine(record);
    } catch (error) {
      throw new UnstorableRecord(`the record cannot be stored as JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.buffer.push(line);
    this.chars += line.length;
    if (this.buffer.length >= this.chunkRecords || this.chars >= MAX_CHUNK_CHARS) await this.flush();
  }

  /** Records accepted so far, written or buffered. */
  get written(): number {
    return this.count + this.buffer.length;
  }

  async finish(): Promise<StagedData> {
    if (this.keys.length === 0 && this.buffer.length > 0 && this.chars <= INLINE_CHUNK_CHARS) {
      const key = chunkKey(this.runKey, this.stage, this.attempt, this.kind, 0);
      return { keys: [key], counts: [this.buffer.length], count: this.buffer.length, inline: [this.buffer.join("")] };
    }
    await this.flush();
    return { keys: [...this.keys], counts: [...this.counts], count: this.count };
  }

  /** Starts over (a source read from the beginning again); later chunks overwrite the earlier ones. */
  reset(): void {
    this.buffer = [];
    this.chars = 0;
    this.keys = [];
    this.counts = [];
    this.count = 0;
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const key = chunkKey(this.runKey, this.stage, this.attempt, this.kind, this.keys.length);
    await this.bucket.put(key, this.buffer.join(""), { httpMetadata: { contentType: "application/x-ndjson" } });
    this.keys.push(key);
    this.counts.push(this.buffer.length);
    this.onFlush?.({ key, count: this.buffer.length });
    this.count += this.buffer.length;
    this.buffer = [];
    this.chars = 0;
  }
}

export class MissingChunkError extends Error {
  override readonly name = "MissingChunkError";
}

export async function readChunk(bucket: R2Bucket, key: string): Promise<unknown[]> {
  const object = await bucket.get(key);
  if (object === null) throw new MissingChunkError(`staged chunk ${key} is missing`);
  // Decoded by hand: the body is UTF-8 NDJSON, which workerd does not recognise as text and warns about.
  return decodeNdjson(new TextDecoder().decode(await object.arrayBuffer()));
}

/** The records of one chunk of `staged`: from its inline text, or from the store. */
export async function readStagedChunk(bucket: R2Bucket, staged: StagedData, index: number): Promise<unknown[]> {
  const text = staged.inline?.[index];
  return typeof text === "string" ? decodeNdjson(text) : readChunk(bucket, staged.keys[index]!);
}

/** Reads staged chunks in order, with the position of each chunk's first record (counting from `offset`). */
export async function* readStaged(bucket: R2Bucket, staged: StagedData, offset = 0): AsyncGenerator<{ offset: number; records: unknown[] }> {
  for (let index = 0; index < staged.keys.length; index += 1) {
    const records = await readStagedChunk(bucket, staged, index);
    yield { offset, records };
    offset += records.length;
  }
}

/** Deletes everything a run staged. Returns how many objects were removed. */
export async function deleteRunStaging(bucket: R2Bucket, key: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: runPrefix(key), cursor, limit: 1000 });
    const keys = page.objects.map((object) => object.key);
    if (keys.length > 0) {
      await bucket.delete(keys);
      deleted += keys.length;
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return deleted;
}
