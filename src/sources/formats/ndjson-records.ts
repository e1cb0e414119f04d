import { rawForStorage } from "../../domain/records";
import { PayloadError, type SourceItem } from "../source-items";
import { describeSize, PREVIEW_CHARS, RecordBuffer, textChunks, type Oversized } from "../text-chunks";
import { NEWLINE } from "./char-codes";

export interface NdjsonOptions {
  /** A line longer than this (in UTF-8 bytes) is rejected as one record, without being held. */
  maxRecordBytes: number;
  signal: AbortSignal;
}

/**
 * Streams newline-delimited JSON: one record per line. A line ends at LF, CRLF or a bare CR (exports from
 * old Mac tools), in any mix, wherever the chunks of the body split them. A line that is not JSON, or that
 * is over the record limit, is one bad record (rejected with its line number), never a lost one; blank
 * lines are not records.
 *
 * JSON allows a CR as whitespace between tokens, so a record written with one inside it is split there:
 * its pieces are not JSON, and each is rejected with its line (the record is refused, not lost).
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

const BLANK = /^[ \t]*$/;

/**
 * The incremental splitter behind `ndjsonRecords`. Linear in its input: the searches for LF and for CR each
 * pass over a piece of text at most once (`scannedChars` counts the characters passed), the pieces of a
 * line that spans chunks are joined once, and a line that grows past the limit stops being kept: only its
 * size is counted until its line end arrives.
 */
export class NdjsonSplitter {
  /** Characters the line-end search went past, for the tests that pin the work to one pass. */
  scannedChars = 0;

  /** Characters of the current line held in memory, for the tests that pin memory to the limit. */
  get heldChars(): number {
    return this.pending.heldChars;
  }
  private readonly pending: RecordBuffer;
  private line = 0;
  private sniffed = false;
  /** The last piece ended with a CR: an LF that starts the next one belongs to the same line end. */
  private afterReturn = false;

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
    if (this.afterReturn && text.length > 0) {
      this.afterReturn = false;
      if (text.charCodeAt(0) === NEWLINE) start = 1;
    }
    // The next LF and CR at or after `start`, each searched for again only once passed.
    let newline = text.indexOf("\n", start);
    let carriage = text.indexOf("\r", start);
    for (;;) {
      if (newline !== -1 && newline < start) newline = text.indexOf("\n", start);
      if (carriage !== -1 && carriage < start) carriage = text.indexOf("\r", start);
      const end = newline === -1 ? carriage : carriage === -1 ? newline : Math.min(newline, carriage);
      if (end === -1) break;
      this.line += 1;
      this.take(this.pending.take(text.slice(start, end)), batch);
      let next = end + 1;
      if (end === carriage) {
        if (next === text.length) this.afterReturn = true;
        else if (text.charCodeAt(next) === NEWLINE) next += 1;
      }
      this.scannedChars += next - start;
      start = next;
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

  private take(record: { text: string } | Oversized, batch: SourceItem[]): void {
    if ("oversized" in record) {
      batch.push({
        ok: false,
        raw: rawForStorage(`${record.preview}…`),
        reason: `line ${this.line} is ${describeSize(record.bytes)}, over the record limit of ${describeSize(this.maxRecordBytes)}`,
      });
      return;
    }
    const { text } = record;
    // Blank: nothing but spaces and tabs. Anything else that is not JSON is a rejected record, not blank.
    if (text.length === 0 || ((text.charCodeAt(0) === 32 || text.charCodeAt(0) === 9) && BLANK.test(text))) return;
    try {
      batch.push({ ok: true, record: JSON.parse(text) });
    } catch (error) {
      batch.push({ ok: false, raw: rawForStorage(text.slice(0, PREVIEW_CHARS * 16)), reason: `line ${this.line} is not valid JSON: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
}
