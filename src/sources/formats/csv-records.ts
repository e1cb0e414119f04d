import { rawForStorage } from "../../domain/records";
import { PayloadError, type SourceItem } from "../source-items";
import { describeSize, PREVIEW_CHARS, RecordBuffer, textChunks } from "../text-chunks";

/** What a broken quote does to a run: fail it (the default), or reject the row it is on and read on. */
export const CSV_QUOTE_POLICIES = ["fail", "reject-row"] as const;
export type CsvQuotePolicy = (typeof CSV_QUOTE_POLICIES)[number];

export interface CsvOptions {
  /** One character ("," ";" "\t" "|"). */
  delimiter: string;
  /** Columns the header must have (the fields the pipeline reads). */
  requiredColumns: readonly string[];
  quoteErrors: CsvQuotePolicy;
  /** A quoted field may run over at most this many lines; more is taken for a quote that never closes. */
  maxRecordLines: number;
  /** A row larger than this is rejected as one record, without being held. */
  maxRecordBytes: number;
  signal: AbortSignal;
}

/**
 * Streams CSV with a header row (RFC 4180): each row becomes an object keyed by the header, values as text.
 *
 * Quotes are where CSV loses data silently: one quote that never closes swallows the rest of the file
 * into a single field. So a quote error is never guessed around. An unterminated quote (the file ends
 * inside it), a quoted field running over more than `maxRecordLines` lines, a quote inside an unquoted
 * field, or text after a closing quote fails the payload with the line it is on, or with
 * `quoteErrors: "reject-row"` rejects exactly that row and reads on from the line after it. A row with
 * the wrong number of fields, or over the record limit, is one rejected record. Every line ends up in a
 * record, a rejection or an error.
 */
export async function* csvRecords(body: ReadableStream<Uint8Array>, options: CsvOptions): AsyncGenerator<SourceItem[]> {
  const splitter = new CsvSplitter(options);
  for await (const text of textChunks(body, options.signal)) {
    const batch = splitter.push(text);
    if (batch.length > 0) yield batch;
  }
  const rest = splitter.end();
  if (rest.length > 0) yield rest;
}

const enum Field {
  /** At the start of a field. */
  Start,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: the field's end, or the first of a doubled quote. */
  QuoteInQuoted,
  /** After a closing quote and a carriage return: only the line's end may follow. */
  ClosedReturn,
  /** Recovering from a broken row: everything up to the end of the line belongs to it. */
  SkipLine,
}

const QUOTE = 34;
const NEWLINE = 10;
const RETURN = 13;

/** The incremental splitter behind `csvRecords`, exported for its tests. */
export class CsvSplitter {
  private readonly delimiter: number;
  private header: string[] | null = null;
  private sniffed = false;
  private state = Field.Start;
  private fields: string[] = [];
  /** Pieces of the current field from earlier chunks (and the halves of doubled quotes). */
  private fieldParts: string[] = [];
  private fieldStart = 0;
  /** Raw text of the current record from earlier chunks. */
  private readonly raw: RecordBuffer;
  private recordStart = 0;
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  /** Where the open quote is, as an offset into the record's raw text. */
  private quoteOffset = 0;
  private quotedLines = 0;
  private oversized = false;
  /** Why the row being skipped is broken. */
  private skipReason = "";
  private restart: string[] | null = null;

  constructor(private readonly options: Omit<CsvOptions, "signal">) {
    if (options.delimiter.length !== 1) throw new Error("a CSV delimiter is one character");
    this.delimiter = options.delimiter.charCodeAt(0);
    this.raw = new RecordBuffer(options.maxRecordBytes);
  }

  push(text: string): SourceItem[] {
    const out: SourceItem[] = [];
    if (!this.sniffed) {
      const first = text.trimStart()[0];
      if (first !== undefined) {
        this.sniffed = true;
        if (first === "<") throw new PayloadError("the source answered with HTML or XML, not CSV");
      }
    }
    const work = [text];
    while (work.length > 0) {
      const restart = this.scan(work.shift()!, out);
      if (restart) work.unshift(...restart.filter((part) => part.length > 0));
    }
    return out;
  }

  end(): SourceItem[] {
    const out: SourceItem[] = [];
    if (!this.sniffed) throw new PayloadError("the source answered with an empty body (a CSV needs at least a header row)");
    while (this.state === Field.Quoted) {
      const leftover = this.quoteError("", 0, `a quoted field opened on line ${this.quoteLine} never closes (the file ends inside it)`, out);
      out.push(...this.push(leftover.join("")));
    }
    switch (this.state) {
      case Field.SkipLine:
        this.rejectSkipped("", 0, out);
        break;
      case Field.Start:
        if (this.fields.length > 0) {
          this.fields.push("");
          this.endRecord("", 0, out);
        }
        break;
      case Field.Unquoted:
        this.endField("", 0, true);
        this.endRecord("", 0, out);
        break;
      case Field.QuoteInQuoted:
      case Field.ClosedReturn:
        this.endField("", 0);
        this.endRecord("", 0, out);
        break;
    }
    if (this.header === null) throw new PayloadError("the CSV has no header row");
    return out;
  }

  /** Scans one piece of text. Returns text to scan again when a broken quote had swallowed it. */
  private scan(text: string, out: SourceItem[]): string[] | null {
    const length = text.length;
    const delimiter = this.delimiter;
    this.recordStart = 0;
    this.fieldStart = 0;
    for (let i = 0; i < length; i += 1) {
      const c = text.charCodeAt(i);
      switch (this.state) {
        case Field.Start:
          if (c === QUOTE) {
            this.state = Field.Quoted;
            this.quoteLine = this.line;
            this.quoteOffset = this.raw.length + (i - this.recordStart);
            this.quotedLines = 0;
            this.fieldStart = i + 1;
          } else if (c === delimiter) {
            this.fields.push("");
            this.fieldStart = i + 1;
          } else if (c === NEWLINE) {
            this.fields.push("");
            this.endRecord(text, i, out);
          } else {
            this.state = Field.Unquoted;
            this.fieldStart = i;
          }
          break;
        case Field.Unquoted:
          if (c === delimiter) {
            this.endField(text, i);
            this.state = Field.Start;
          } else if (c === NEWLINE) {
            this.endField(text, i, true);
            this.endRecord(text, i, out);
          } else if (c === QUOTE) {
            this.misplacedQuote(`a quote inside an unquoted field (field ${this.fields.length + 1})`);
            i -= 1; // the skip starts here
          }
          break;
        case Field.Quoted:
          if (c === QUOTE) {
            this.keepFieldPart(text.slice(this.fieldStart, i));
            this.state = Field.QuoteInQuoted;
          } else if (c === NEWLINE) {
            this.line += 1;
            this.quotedLines += 1;
            if (this.quotedLines > this.options.maxRecordLines) {
              const why = `a quoted field opened on line ${this.quoteLine} runs over more than ${this.options.maxRecordLines} lines (an unterminated or misplaced quote?)`;
              return [...this.quoteError(text, i + 1, why, out), text.slice(i + 1)];
            }
          }
          break;
        case Field.QuoteInQuoted:
          if (c === QUOTE) {
            this.keepFieldPart('"');
            this.fieldStart = i + 1;
            this.state = Field.Quoted;
          } else if (c === delimiter) {
            this.endField(text, i, false, i);
            this.state = Field.Start;
          } else if (c === NEWLINE) {
            this.endField(text, i, false, i);
            this.endRecord(text, i, out);
          } else if (c === RETURN) {
            this.state = Field.ClosedReturn;
          } else {
            this.misplacedQuote(`text after the closing quote of field ${this.fields.length + 1}`);
            i -= 1;
          }
          break;
        case Field.ClosedReturn:
          if (c === NEWLINE) {
            this.endField(text, i, false, i);
            this.endRecord(text, i, out);
          } else {
            this.misplacedQuote(`text after the closing quote of field ${this.fields.length + 1}`);
            i -= 1;
          }
          break;
        case Field.SkipLine: {
          const newline = text.indexOf("\n", i);
          if (newline === -1) {
            i = length;
            break;
          }
          this.rejectSkipped(text, newline, out);
          i = newline;
          break;
        }
      }
    }
    this.carryOver(text, out);
    const restart = this.restart;
    this.restart = null;
    return restart;
  }

  /** At the end of a piece of text: what belongs to the unfinished field and record is kept (within limits). */
  private carryOver(text: string, out: SourceItem[]): void {
    const tail = text.slice(this.recordStart);
    if (this.state === Field.Quoted && this.options.quoteErrors === "reject-row" && this.raw.length + tail.length > this.options.maxRecordBytes) {
      // Too big to be a real field for this pipeline: taken as a quote that never closes.
      const why = `a quoted field opened on line ${this.quoteLine} is over the record limit of ${describeSize(this.options.maxRecordBytes)} (an unterminated or misplaced quote?)`;
      this.restart = this.quoteError(text, text.length, why, out);
      return;
    }
    if (this.state === Field.Unquoted || this.state === Field.Quoted) this.keepFieldPart(text.slice(this.fieldStart));
    this.raw.add(tail);
    if (this.raw.isOverflowing && !this.oversized) {
      this.oversized = true;
      this.fieldParts = [];
    }
  }

  private keepFieldPart(part: string): void {
    if (!this.oversized && part.length > 0) this.fieldParts.push(part);
  }

  /** Ends the field at `i`; `from` is where its text in this piece starts (a quoted field's text is in its parts). */
  private endField(text: string, i: number, stripReturn = false, from = this.fieldStart): void {
    let value = text.slice(from, i);
    if (this.fieldParts.length > 0) {
      value = this.fieldParts.join("") + value;
      this.fieldParts = [];
    }
    if (stripReturn && value.endsWith("\r")) value = value.slice(0, -1);
    if (!this.oversized) this.fields.push(value);
    this.fieldStart = i + 1;
  }

  /** The record ending at `i` (a newline, or the end of the input); its fields are complete. */
  private endRecord(text: string, i: number, out: SourceItem[]): void {
    const line = this.recordLine;
    const fields = this.fields;
    const oversized = this.oversized || this.raw.isOverflowing;
    const rawTail = text.slice(this.recordStart, i);
    if (i < text.length) this.line += 1;
    this.startFresh(i + 1, false);
    if (oversized) {
      const taken = this.raw.take(rawTail);
      const chars = "oversized" in taken ? taken.chars : taken.text.length;
      const preview = "oversized" in taken ? taken.preview : taken.text.slice(0, PREVIEW_CHARS);
      out.push({ ok: false, raw: rawForStorage(`${preview}…`), reason: `CSV line ${line} is ${describeSize(chars)}, over the record limit of ${describeSize(this.options.maxRecordBytes)}` });
      return;
    }
    if (fields.length === 1 && fields[0]!.trim() === "") {
      this.raw.reset();
      return; // a blank line is not a record
    }
    if (this.header === null) {
      this.raw.reset();
      this.setHeader(fields);
      return;
    }
    if (fields.length !== this.header.length) {
      const taken = this.raw.take(rawTail);
      const raw = "text" in taken ? taken.text.replace(/\r$/, "") : `${taken.preview}…`;
      const problem = fields.length < this.header.length ? "Too few fields" : "Too many fields";
      out.push({ ok: false, raw: rawForStorage(raw), reason: `CSV line ${line}: ${problem}: expected ${this.header.length} fields but parsed ${fields.length}` });
      return;
    }
    this.raw.reset();
    // No prototype: a column named "__proto__" is just a column.
    const row: Record<string, string> = Object.create(null);
    for (let index = 0; index < fields.length; index += 1) row[this.header[index]!] = fields[index]!;
    out.push({ ok: true, record: row });
  }

  private setHeader(columns: string[]): void {
    const seen = new Set<string>();
    for (const column of columns) {
      if (seen.has(column)) throw new PayloadError(`the CSV header names the column ${JSON.stringify(column)} twice`);
      seen.add(column);
    }
    const missing = this.options.requiredColumns.filter((column) => !seen.has(column));
    if (missing.length > 0) {
      throw new PayloadError(`the CSV header has no column ${missing.map((column) => JSON.stringify(column)).join(", ")} (columns: ${columns.join(", ")})`);
    }
    this.header = columns;
  }

  /**
   * A quote in the wrong place (inside an unquoted field, or text after a closing quote): the row is broken
   * up to the end of its line. Fails the payload, or with "reject-row" skips to the line's end and rejects it.
   */
  private misplacedQuote(why: string): void {
    const message = `CSV line ${this.line}: ${why}`;
    if (this.options.quoteErrors === "fail" || this.header === null) throw new PayloadError(`${message}${this.advice()}`);
    this.skipReason = message;
    this.state = Field.SkipLine;
  }

  private rejectSkipped(text: string, newline: number, out: SourceItem[]): void {
    const taken = this.raw.take(text.slice(this.recordStart, newline));
    const raw = "text" in taken ? taken.text.replace(/\r$/, "") : `${taken.preview}…`;
    out.push({ ok: false, raw: rawForStorage(raw), reason: this.skipReason });
    if (newline < text.length) this.line += 1;
    this.startFresh(newline + 1);
  }

  /**
   * A quote that does not close where a real field would. Fails the payload, or (with "reject-row")
   * rejects the record up to the end of the line its quote opened on, and returns the text after that
   * line, which the broken quote had swallowed, to be read again.
   */
  private quoteError(text: string, i: number, why: string, out: SourceItem[]): string[] {
    const message = `CSV line ${this.quoteLine}: ${why}`;
    if (this.options.quoteErrors === "fail" || this.header === null) throw new PayloadError(`${message}${this.advice()}`);
    const whole = this.raw.takeWhole(text.slice(this.recordStart, i));
    if (whole === null) {
      // The row was over the limit before its quote opened, so what the quote swallowed was not kept.
      throw new PayloadError(`${message}, on a row over the record limit of ${describeSize(this.options.maxRecordBytes)}: the lines after it cannot be read again`);
    }
    const newline = whole.indexOf("\n", this.quoteOffset);
    const broken = newline === -1 ? whole : whole.slice(0, newline);
    out.push({ ok: false, raw: rawForStorage(broken.replace(/\r$/, "")), reason: message });
    this.line = this.quoteLine + (newline === -1 ? 0 : 1);
    this.startFresh(i);
    return newline === -1 ? [] : [whole.slice(newline + 1)];
  }

  private startFresh(at: number, resetRaw = true): void {
    this.state = Field.Start;
    this.fields = [];
    this.fieldParts = [];
    this.oversized = false;
    if (resetRaw) this.raw.reset();
    this.recordStart = at;
    this.fieldStart = at;
    this.recordLine = this.line;
  }

  private advice(): string {
    return this.header === null ? "" : ' (set csvQuoteErrors to "reject-row" to reject such rows and read the rest)';
  }
}
