import { rawForStorage } from "../../domain/records";
import { PayloadError, type SourceItem } from "../source-items";
import { describeSize, PREVIEW_CHARS, RecordBuffer, textChunks } from "../text-chunks";

export interface NdjsonOptions {
  /** A line longer than this is rejected as one record, without being held. */
  maxRecordBytes: number;
  signal: AbortSignal;
}

/**
 * Streams newline-delimited JSON: one record per line. A line that is not JSON, or that is longer than
 * the record limit, is one bad record (rejected with its line number), never a lost one; blank lines are
 * not records.
 */
export async function* ndjsonRecords(body: ReadableStream<Uint8Array>, options: NdjsonOptions): AsyncGenerator<SourceItem[]> {
  const splitter = new NdjsonSplitter(options.maxRecordBytes);
  for await (const text of textChunks(body, options.signal)) {
    const batch = splitter.push(text);
    if (batch.length > 0) yield batch;
  }
  const rest = splitter.end();
  if (rest.length > 0) yield rest;
}

/**
 * The incremental splitter behind `ndjsonRecords`. Linear in its input: each character is looked at once
 * (`scannedChars` counts them), the pieces of a line that spans chunks are joined once, and a line that
 * grows past the limit stops being kept: only its length is counted until its newline arrives.
 */
export class NdjsonSplitter {
  /** Characters the newline search went over, for the tests that pin the work to one look per character. */
  scannedChars = 0;

  /** Characters of the current line held in memory, for the tests that pin memory to the limit. */
  get heldChars(): number {
    return this.pending.heldChars;
  }
  private readonly pending: RecordBuffer;
  private line = 0;
  private sniffed = false;

  constructor(private readonly maxRecordBytes: number) {
    this.pending = new RecordBuffer(maxRecordBytes);
  }

  push(text: string): SourceItem[] {
    const batch: SourceItem[] = [];
    if (!this.sniffed) {
      const first = text.trimStart()[0];
      if (first === "<") throw new PayloadError("the source answered with HTML or XML, not NDJSON");
      if (first !== undefined) this.sniffed = true;
    }
    let start = 0;
    for (let newline = text.indexOf("\n"); newline !== -1; newline = text.indexOf("\n", start)) {
      this.scannedChars += newline + 1 - start;
      this.line += 1;
      this.take(this.pending.take(text.slice(start, newline)), batch);
      start = newline + 1;
    }
    this.scannedChars += text.length - start;
    this.pending.add(text.slice(start));
    return batch;
  }

  end(): SourceItem[] {
    const batch: SourceItem[] = [];
    if (this.pending.length > 0) {
      this.line += 1;
      this.take(this.pending.take(), batch);
    }
    return batch;
  }

  private take(record: ReturnType<RecordBuffer["take"]>, batch: SourceItem[]): void {
    if ("oversized" in record) {
      batch.push({
        ok: false,
        raw: rawForStorage(`${record.preview}…`),
        reason: `line ${this.line} is ${describeSize(record.chars)}, over the record limit of ${describeSize(this.maxRecordBytes)}`,
      });
      return;
    }
    const text = record.text.endsWith("\r") ? record.text.slice(0, -1) : record.text;
    if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === "")) return;
    try {
      batch.push({ ok: true, record: JSON.parse(text) });
    } catch (error) {
      batch.push({ ok: false, raw: rawForStorage(text.slice(0, PREVIEW_CHARS * 16)), reason: `line ${this.line} is not valid JSON: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
}
