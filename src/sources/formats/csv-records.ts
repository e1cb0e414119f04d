import { rawForStorage } from "../../domain/records";
import { PayloadError, type SourceItem } from "../source-items";
import { describeSize, PREVIEW_CHARS, RecordBuffer, textChunks, utf8Length, utf8LengthExceeds } from "../text-chunks";
import { NEWLINE, QUOTE, RETURN } from "./char-codes";

/** What a broken quote does to a run: fail it (the default), or reject the row it is on and read on. */
export const CSV_QUOTE_POLICIES = ["fail", "reject-row"] as const;
export type CsvQuotePolicy = (typeof CSV_QUOTE_POLICIES)[number];

export interface CsvOptions {
  /** One character ("," ";" "\t" "|"). */
  delimiter: string;
  /** Columns the header must have (the fields the pipeline reads). */
  requiredColumns: readonly string[];
  quoteErrors: CsvQuotePolicy;
  /**
   * How many lines one record may span. 1 (the default) means a quoted field may not contain a line
   * break: a quote that does not close on its own line is a broken quote. Sources whose fields really
   * hold line breaks raise it.
   */
  maxRecordLines: number;
  /** A row larger than this (in UTF-8 bytes) is rejected as one record, without being held. */
  maxRecordBytes: number;
  signal: AbortSignal;
}

/**
 * Streams CSV with a header row (RFC 4180): each row becomes an object keyed by the header, values as text.
 *
 * Quotes are where CSV loses data silently: one quote that never closes swallows the rest of the file
 * into a single field, and a stray pair of quotes swallows the rows between them. So a quoted field may
 * span at most `maxRecordLines` lines (by default it may not contain a line break at all), and a quote
 * error is never guessed around. An unterminated quote, a quoted field running over the line limit, or
 * text after a closing quote fails the payload with the line it is on,
 * or with `quoteErrors: "reject-row"` rejects exactly that row and reads on from the line after it (the
 * lines a broken quote had swallowed are read again). A row with the wrong number of fields, or over the
 * record limit, is one rejected record. Every line ends up in a record, a rejection or an error.
 *
 * Only a quote at the start of a field opens a quoted field; one inside an unquoted field is part of its
 * text (`37°36'37.8"N`, as csv-spectrum and every common reader have it), since it cannot swallow anything.
 *
 * Lines end at LF, CRLF or a bare CR (exports from old Mac tools and some Windows ones), in any mix and
 * wherever the body's chunks split them; inside quotes each is part of the field. A blank line (nothing,
 * or only spaces and tabs) is not a record in a file of two or more columns; in a one-column file it is
 * one, with that text as its value (`""`, `" "`).
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
  /** Recovering from a broken row: everything up to the end of the line belongs to it. */
  SkipLine,
}

/** A line of nothing but spaces and tabs. */
const BLANK = /^[ \t]*$/;

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

  /** Line breaks inside the record's quoted fields so far. */
  private recordBreaks = 0;
  /** The record holds a quoted field (so a row of one empty quoted field is a record, not a blank line). */
  private quoted = false;
  /**
   * The record runs over from an earlier piece of text. Then only its raw text is kept (never more than
   * the record limit) and its fields are split from that text when it ends, rather than held twice.
   */
  private spanning = false;
  /** Fields of the current record so far (kept or not), for messages. */
  private fieldCount = 0;
  /** Why the row being skipped is broken. */
  private skipReason = "";
  private restart: string[] | null = null;
  /** A CR just ended a line: an LF right after it (in this piece of text or the next) is the same line end. */
  private afterReturn = false;
  /** Inside quotes, the last character was a CR: an LF right after it is the same line break. */
  private quotedReturn = false;

  constructor(private readonly options: Omit<CsvOptions, "signal">) {
    if (options.delimiter.length !== 1 || /["\r\n]/.test(options.delimiter)) throw new Error("a CSV delimiter is one character other than a quote or a line break");
    this.delimiter = options.delimiter.charCodeAt(0);
    this.raw = new RecordBuffer(options.maxRecordBytes);
  }

  /** Characters of the current record held in memory, for the tests that pin memory to the limit. */
  get heldChars(): number {
    return this.raw.heldChars + this.fieldParts.reduce((sum, part) => sum + part.length, 0) + this.fields.reduce((sum, field) => sum + field.length, 0);
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
        if (this.fieldCount > 0) {
          if (!this.spanning) this.fields.push("");
          this.endRecord("", 0, out);
        }
        break;
      case Field.Unquoted:
        this.endField("", 0);
        this.endRecord("", 0, out);
        break;
      case Field.QuoteInQuoted:
        this.endField("", 0, 0);
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
    const ends = new LineEnds(text);
    this.recordStart = 0;
    this.fieldStart = 0;
    for (let i = 0; i < length; i += 1) {
      const c = text.charCodeAt(i);
      if (this.afterReturn) {
        this.afterReturn = false;
        if (c === NEWLINE) {
          // The LF of a CRLF whose CR ended the line (perhaps at the end of the last piece).
          this.recordStart = i + 1;
          this.fieldStart = i + 1;
          continue;
        }
      }
      switch (this.state) {
        case Field.Start:
          if (c === QUOTE) {
            this.state = Field.Quoted;
            this.quoted = true;
            this.quotedReturn = false;
            this.quoteLine = this.line;
            this.quoteOffset = this.raw.length + (i - this.recordStart);
            this.fieldStart = i + 1;
          } else if (c === delimiter) {
            if (!this.spanning) this.fields.push("");
            this.fieldCount += 1;
            this.fieldStart = i + 1;
          } else if (c === NEWLINE || c === RETURN) {
            if (!this.spanning) this.fields.push("");
            this.fieldCount += 1;
            this.endLine(text, i, c, out);
          } else {
            this.state = Field.Unquoted;
            this.fieldStart = i;
          }
          break;
        case Field.Unquoted:
          if (c === delimiter) {
            this.endField(text, i);
            this.state = Field.Start;
          } else if (c === NEWLINE || c === RETURN) {
            this.endField(text, i);
            this.endLine(text, i, c, out);
          }
          break;
        case Field.Quoted: {
          const afterReturn = this.quotedReturn;
          this.quotedReturn = false;
          if (c === QUOTE) {
            this.keepFieldPart(text.slice(this.fieldStart, i));
            this.state = Field.QuoteInQuoted;
          } else if (c === RETURN || (c === NEWLINE && !afterReturn)) {
            this.quotedReturn = c === RETURN;
            this.line += 1;
            this.recordBreaks += 1;
            if (this.recordBreaks >= this.options.maxRecordLines) {
              const why =
                this.options.maxRecordLines === 1
                  ? `a quoted field opened on line ${this.quoteLine} does not close on that line (an unterminated or misplaced quote; if the source's fields hold line breaks, raise csvMaxRecordLines)`
                  : `a quoted field opened on line ${this.quoteLine} runs past ${this.options.maxRecordLines} lines (an unterminated or misplaced quote?)`;
              return [...this.quoteError(text, i + 1, why, out), text.slice(i + 1)];
            }
          }
          break;
        }
        case Field.QuoteInQuoted:
          if (c === QUOTE) {
            this.keepFieldPart('"');
            this.fieldStart = i + 1;
            this.state = Field.Quoted;
          } else if (c === delimiter) {
            this.endField(text, i, i);
            this.state = Field.Start;
          } else if (c === NEWLINE || c === RETURN) {
            this.endField(text, i, i);
            this.endLine(text, i, c, out);
          } else {
            const restart = this.textAfterClosingQuote(text, i, out);
            if (restart) return restart;
            i -= 1;
          }
          break;
        case Field.SkipLine: {
          const end = ends.next(i);
          if (end === -1) {
            i = length;
            break;
          }
          this.rejectSkipped(text, end, out);
          if (text.charCodeAt(end) === RETURN) this.afterReturn = true;
          i = end;
          break;
        }
      }
    }
    this.carryOver(text);
    const restart = this.restart;
    this.restart = null;
    return restart;
  }

  /** The record's line ends at `i` (an LF or a CR); after a CR, an LF that follows belongs to it. */
  private endLine(text: string, i: number, c: number, out: SourceItem[]): void {
    this.endRecord(text, i, out);
    if (c === RETURN) this.afterReturn = true;
  }

  /** At the end of a piece of text: the unfinished record's raw text is kept (within the limit), nothing else. */
  private carryOver(text: string): void {
    const tail = text.slice(this.recordStart);
    if (tail.length === 0 && !this.spanning && this.fieldCount === 0 && this.state === Field.Start) return;
    this.raw.add(tail);
    this.spanning = true;
    this.fields = [];
    this.fieldParts = [];
  }

  private keepFieldPart(part: string): void {
    if (!this.spanning && part.length > 0) this.fieldParts.push(part);
  }

  /** Ends the field at `i`; `from` is where its text in this piece starts (a quoted field's text is in its parts). */
  private endField(text: string, i: number, from = this.fieldStart): void {
    let value = text.slice(from, i);
    if (this.fieldParts.length > 0) {
      value = this.fieldParts.join("") + value;
      this.fieldParts = [];
    }
    if (!this.spanning) this.fields.push(value);
    this.fieldCount += 1;
    this.fieldStart = i + 1;
  }

  /** The record ending at `i` (its line end, or the end of the input); its fields are complete. */
  private endRecord(text: string, i: number, out: SourceItem[]): void {
    const line = this.recordLine;
    const spanning = this.spanning;
    let fields = this.fields;
    const quoted = this.quoted;
    const tail = text.slice(this.recordStart, i);
    const chars = this.raw.length + tail.length;
    let whole: string | null = null;
    let preview = "";
    let bytes = 0;
    if (this.raw.isOverflowing) {
      const taken = this.raw.take(tail);
      if ("oversized" in taken) ({ preview, bytes } = taken);
    } else {
      whole = this.raw.takeWhole(tail);
    }
    if (i < text.length) this.line += 1;
    this.startFresh(i + 1);
    const limit = this.options.maxRecordBytes;
    if (whole === null || chars > limit || (chars * 3 > limit && utf8LengthExceeds(whole, limit))) {
      const shown = whole === null ? preview : whole.slice(0, PREVIEW_CHARS);
      const size = whole === null ? bytes : utf8Length(whole);
      // Without its header no row can be read: an oversized one fails the payload, not one record.
      if (this.header === null && !(whole !== null && BLANK.test(whole))) {
        throw new PayloadError(`the CSV header row (line ${line}) is ${describeSize(size)}, over the record limit of ${describeSize(limit)}`);
      }
      out.push({ ok: false, raw: rawForStorage(`${shown}…`), reason: `CSV line ${line} is ${describeSize(size)}, over the record limit of ${describeSize(limit)}` });
      return;
    }
    if (spanning) fields = splitFields(whole, this.options.delimiter);
    // A blank line is not a record, except in a one-column file, where it is that column's value.
    if (!quoted && fields.length === 1 && BLANK.test(fields[0]!) && this.header?.length !== 1) return;
    if (this.header === null) {
      this.setHeader(fields);
      return;
    }
    if (fields.length !== this.header.length) {
      const problem = fields.length < this.header.length ? "Too few fields" : "Too many fields";
      out.push({ ok: false, raw: rawForStorage(whole), reason: `CSV line ${line}: ${problem}: expected ${this.header.length} fields but parsed ${fields.length}` });
      return;
    }
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
   * Text after a closing quote. When the quoted field had run over a line break, the quote that "closed"
   * it was most likely the opening quote of a later field: the field's own opening quote was the broken
   * one, so that line is the broken row and the lines after it are read again. Otherwise the row is
   * broken on this line.
   */
  private textAfterClosingQuote(text: string, i: number, out: SourceItem[]): string[] | null {
    if (this.recordBreaks > 0) {
      const why = `a quoted field opened on line ${this.quoteLine} does not close where a field can end (an unterminated or misplaced quote?)`;
      return [...this.quoteError(text, i, why, out), text.slice(i)];
    }
    this.misplacedQuote(`text after the closing quote of field ${this.fieldCount + 1}`);
    return null;
  }

  /**
   * Text after a closing quote on a single line: the row is broken up to the end of its line. Fails the payload, or with "reject-row" skips to the
   * line's end and rejects it.
   */
  private misplacedQuote(why: string): void {
    const message = `CSV line ${this.line}: ${why}`;
    if (this.options.quoteErrors === "fail" || this.header === null) throw new PayloadError(`${message}${this.advice()}`);
    this.skipReason = message;
    this.state = Field.SkipLine;
  }

  private rejectSkipped(text: string, end: number, out: SourceItem[]): void {
    const taken = this.raw.take(text.slice(this.recordStart, end));
    const raw = "text" in taken ? taken.text : `${taken.preview}…`;
    out.push({ ok: false, raw: rawForStorage(raw), reason: this.skipReason });
    if (end < text.length) this.line += 1;
    this.startFresh(end + 1);
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
    // Past the limit what the quote swallowed is not kept (or, when one chunk held it all, would not be
    // kept had the chunks been cut otherwise), so it cannot be read again: the payload fails either way.
    if (whole === null || utf8LengthExceeds(whole, this.options.maxRecordBytes)) {
      throw new PayloadError(`${message}, in a row over the record limit of ${describeSize(this.options.maxRecordBytes)}: the lines after it cannot be read again`);
    }
    const end = lineEnd(whole, this.quoteOffset);
    if (end === -1) {
      // The quote's line goes on past here: the rest of it belongs to the broken row too (it is rejected
      // when that line ends), and nothing of it is read as a record of its own.
      this.startFresh(i);
      this.raw.add(whole);
      this.skipReason = message;
      this.state = Field.SkipLine;
      return [];
    }
    out.push({ ok: false, raw: rawForStorage(whole.slice(0, end)), reason: message });
    this.line = this.quoteLine + 1;
    this.startFresh(i);
    let next = end + 1;
    if (whole.charCodeAt(end) === RETURN) {
      if (next === whole.length) this.afterReturn = true; // its LF, if any, is the next character scanned
      else if (whole.charCodeAt(next) === NEWLINE) next += 1;
    }
    return [whole.slice(next)];
  }

  private startFresh(at: number, resetRaw = true): void {
    this.state = Field.Start;
    this.quotedReturn = false;
    this.fields = [];
    this.fieldParts = [];
    this.quoted = false;
    this.spanning = false;
    this.fieldCount = 0;
    this.recordBreaks = 0;
    if (resetRaw) this.raw.reset();
    this.recordStart = at;
    this.fieldStart = at;
    this.recordLine = this.line;
  }

  private advice(): string {
    return this.header === null ? "" : ' (set csvQuoteErrors to "reject-row" to reject such rows and read the rest)';
  }
}

/**
 * The line ends of one piece of text, found in order: each search for LF and for CR passes over the text
 * once, however many lines are skipped in it.
 */
class LineEnds {
  private newline = -2;
  private carriage = -2;

  constructor(private readonly text: string) {}

  /** Where the first LF or CR at or after `from` is, or -1. */
  next(from: number): number {
    if (this.newline !== -1 && this.newline < from) this.newline = this.text.indexOf("\n", from);
    if (this.carriage !== -1 && this.carriage < from) this.carriage = this.text.indexOf("\r", from);
    if (this.newline === -1) return this.carriage;
    return this.carriage === -1 ? this.newline : Math.min(this.newline, this.carriage);
  }
}

/** Where the first line end (LF or CR) at or after `from` is, or -1. */
function lineEnd(text: string, from: number): number {
  const newline = text.indexOf("\n", from);
  const carriage = text.indexOf("\r", from);
  if (newline === -1) return carriage;
  return carriage === -1 ? newline : Math.min(newline, carriage);
}

/** The fields of one complete, well-formed record (the scanner has checked its quotes), without its line end. */
function splitFields(record: string, delimiter: string): string[] {
  const fields: string[] = [];
  const length = record.length;
  let i = 0;
  for (;;) {
    if (record.charCodeAt(i) === QUOTE) {
      let value = "";
      i += 1;
      for (;;) {
        const quote = record.indexOf('"', i);
        value += record.slice(i, quote);
        if (record.charCodeAt(quote + 1) === QUOTE) {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      fields.push(value);
      if (i >= length) return fields;
      i += 1; // the delimiter
      continue;
    }
    const next = record.indexOf(delimiter, i);
    const value = record.slice(i, next === -1 ? length : next);
    if (next === -1) {
      fields.push(value);
      return fields;
    }
    fields.push(value);
    i = next + 1;
  }
}
