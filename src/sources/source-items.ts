/**
 * What a source format yields: records as parsed, or a piece of input that could not be parsed at all
 * (an NDJSON line that is not JSON, a CSV row with the wrong number of fields). Both keep their order,
 * so every item gets a position in the run, and neither is ever dropped.
 */
export type SourceItem = { ok: true; record: unknown } | { ok: false; raw: string; reason: string };

/** A problem with the payload as a whole: the run cannot use this source's answer. */
export class PayloadError extends Error {
  override readonly name = "PayloadError";
}

/** Reads the first non-whitespace character of a stream without consuming it. */
export async function sniff(body: ReadableStream<Uint8Array>): Promise<{ first: string | null; stream: ReadableStream<Uint8Array> }> {
  const reader = body.getReader();
  const buffered: Uint8Array[] = [];
  let first: string | null = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered.push(value);
    const text = new TextDecoder().decode(value, { stream: true }).replace(/^\uFEFF/, "").trimStart();
    if (text.length > 0) {
      first = text[0]!;
      break;
    }
  }
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = buffered.shift();
      if (next) {
        controller.enqueue(next);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { first, stream };
}
