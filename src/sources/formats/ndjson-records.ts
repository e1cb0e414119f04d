import { rawForStorage } from "../../domain/records";
import { PayloadError, sniff, type SourceItem } from "../source-items";

const BATCH = 1_000;

/**
 * Streams newline-delimited JSON: one record per line. A line that is not JSON is one bad record
 * (rejected with its line number), not a bad payload; blank lines are skipped.
 */
export async function* ndjsonRecords(body: ReadableStream<Uint8Array>): AsyncGenerator<SourceItem[]> {
  const { first, stream } = await sniff(body);
  if (first === "<") throw new PayloadError("the source answered with HTML or XML, not NDJSON");
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  let line = 0;
  let batch: SourceItem[] = [];
  const take = (text: string): void => {
    line += 1;
    const trimmed = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (trimmed.trim() === "") return;
    try {
      batch.push({ ok: true, record: JSON.parse(trimmed) });
    } catch (error) {
      batch.push({ ok: false, raw: rawForStorage(trimmed), reason: `line ${line} is not valid JSON: ${error instanceof Error ? error.message : String(error)}` });
    }
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const text = rest + value;
    let start = 0;
    for (let newline = text.indexOf("\n"); newline !== -1; newline = text.indexOf("\n", start)) {
      take(text.slice(start, newline));
      start = newline + 1;
    }
    rest = text.slice(start);
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (rest.length > 0) take(rest);
  if (batch.length > 0) yield batch;
}
