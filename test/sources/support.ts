import type { SourceItem } from "../../src/sources/source-items";

/** A body delivered `size` bytes at a time, so parsers must carry state across chunk boundaries. */
export function body(text: string, size = 7): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

export async function collect(items: AsyncGenerator<SourceItem[]>): Promise<SourceItem[]> {
  const all: SourceItem[] = [];
  for await (const batch of items) all.push(...batch);
  return all;
}

export const records = (items: SourceItem[]) => items.map((item) => (item.ok ? item.record : { bad: item.reason }));

export const reasons = (items: SourceItem[]) => items.filter((item) => !item.ok).map((item) => (item as { reason: string }).reason);

export const MiB = 1024 * 1024;

export const never = new AbortController().signal;

export async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof Error)) throw new Error(`expected a failure, got ${JSON.stringify(error)}`);
  return error;
}

/** A body of raw bytes delivered in pieces of the given sizes (the last size repeats), for byte-exact fixtures. */
export function bytesBody(bytes: Uint8Array, sizes: readonly number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let piece = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      const size = sizes[Math.min(piece, sizes.length - 1)]!;
      piece += 1;
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

/** mulberry32: small, seeded, good enough to shuffle test input. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The ways a body is cut in the conformance and fuzz tests: whole, 1 byte, 7 bytes, and random sizes (1 to
 * 64) from a seed, so every splitter is shown to give the same answer whatever the chunking.
 */
export function chunkings(length: number, seed: number): { name: string; sizes: number[] }[] {
  const next = random(seed);
  const sizes: number[] = [];
  for (let total = 0; total < length; ) {
    const size = 1 + Math.floor(next() * 64);
    sizes.push(size);
    total += size;
  }
  return [
    { name: "whole", sizes: [Math.max(1, length)] },
    { name: "1-byte", sizes: [1] },
    { name: "7-byte", sizes: [7] },
    { name: "random", sizes: sizes.length > 0 ? sizes : [1] },
  ];
}
