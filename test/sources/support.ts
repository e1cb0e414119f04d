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
