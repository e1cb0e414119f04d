import { rawForStorage } from "../../domain/records";
import { PayloadError, type SourceItem } from "../source-items";
import { describeSize, RecordBuffer, textChunks, type Oversized } from "../text-chunks";
import { JsonSyntaxChecker } from "./json-syntax";
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, NEWLINE, OPEN_BRACE, OPEN_BRACKET, QUOTE, RETURN, SPACE, TAB } from "./char-codes";

export interface JsonOptions {
  /** Where the records array is, as a dot path ("data", "result.items"); empty: the body is the array. */
  recordsPath: string;
  /** A value beside the records to read (the next page's URL or cursor), as a dot path; null for none. */
  pageField: string | null;
  /** An element larger than this (in UTF-8 bytes) is rejected as one record, without being held. */
  maxRecordBytes: number;
  signal: AbortSignal;
}

export interface JsonPage {
  items: AsyncGenerator<SourceItem[]>;
  /** After `items` is exhausted: the value of the pagination field, if one was asked for. */
  pageField(): unknown;
}

/**
 * Streams the records of a JSON body: the body is an array of records, or an object with the records
 * array at `recordsPath` (and `pageField` beside it). The splitter finds where each element starts and
 * ends, looking at every character once, and hands each element to `JSON.parse` on its own: memory is
 * one element, never the payload, and an element over the record limit is rejected without being held.
 * Broken syntax anywhere fails the payload with the line it is on: what is not parsed whole (a value over
 * the limit, or nested too deep, a record or beside the records) goes through a streaming syntax check
 * instead. A records path that is not in the body fails it too, rather than reading as zero records.
 */
export function jsonRecords(body: ReadableStream<Uint8Array>, options: JsonOptions): JsonPage {
  const splitter = new JsonSplitter(options.recordsPath, options.pageField, options.maxRecordBytes);
  async function* items(): AsyncGenerator<SourceItem[]> {
    for await (const text of textChunks(body, options.signal)) {
      const batch = splitter.push(text);
      if (batch.length > 0) yield batch;
    }
    splitter.end();
  }
  return { items: items(), pageField: () => splitter.fieldValue };
}

const enum State {
  Root,
  KeyOrEnd,
  Key,
  KeyString,
  Colon,
  ObjectValue,
  AfterObjectValue,
  ElementOrEnd,
  Element,
  AfterElement,
  Done,
}

const enum Capture {
  None,
  Record,
  Field,
  Skip,
}

interface Frame {
  kind: "envelope" | "records";
  path: string[];
}

/** Keys in the envelope are short; a longer one is not a key we are looking for, so it is not kept. */
const MAX_KEY_CHARS = 4_096;
/** Deeper than this, a record could not be written back as JSON by the runtime; it is rejected. */
export const MAX_DEPTH = 512;

/** The incremental splitter behind `jsonRecords`, exported for its tests. */
export class JsonSplitter {
  fieldValue: unknown = undefined;
  private readonly recordsPath: string[];
  private readonly fieldPath: string[] | null;
  private state = State.Root;
  private readonly frames: Frame[] = [];
  private key = "";
  private keyEscape = false;
  private keyTooLong = false;
  /** Checks a key's syntax as it streams (escapes, control characters), whether or not it is kept. */
  private keySyntax: JsonSyntaxChecker | null = null;
  private line = 1;
  private records = 0;
  private foundRecords = false;
  private readonly topKeys: string[] = [];
  private started = false;
  // The value being captured.
  private capture = Capture.None;
  private depth = 0;
  private inString = false;
  private escape = false;
  private scalar = false;
  private captureLine = 1;
  /** The brackets open in the captured value (up to MAX_DEPTH), so `[}` is caught even in what is not kept. */
  private readonly open: number[] = [];
  private tooDeep = false;
  private readonly buffer: RecordBuffer;
  /** Checks the syntax of a captured value that will not be parsed whole (over the limit, or too deep). */
  private checker: JsonSyntaxChecker | null = null;

  constructor(recordsPath: string, fieldPath: string | null, private readonly maxRecordBytes: number) {
    this.recordsPath = recordsPath === "" ? [] : recordsPath.split(".");
    this.fieldPath = fieldPath ? fieldPath.split(".") : null;
    this.buffer = new RecordBuffer(maxRecordBytes);
  }

  /** Characters of the current value held in memory, for the tests that pin memory to the limit. */
  get heldChars(): number {
    return this.buffer.heldChars + this.key.length;
  }

  push(text: string): SourceItem[] {
    const out: SourceItem[] = [];
    const length = text.length;
    let i = 0;
    while (i < length) {
      if (this.capture !== Capture.None) {
        i = this.continueCapture(text, i, out);
        continue;
      }
      if (this.state === State.KeyString) {
        i = this.readKey(text, i);
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === SPACE || c === NEWLINE || c === TAB || c === RETURN) {
        if (c === NEWLINE) this.line += 1;
        i += 1;
        continue;
      }
      this.step(c, text, i);
      i += this.capture === Capture.None ? 1 : 0;
    }
    return out;
  }

  end(): void {
    if (!this.started) throw new PayloadError("the source answered with an empty body");
    if (this.capture !== Capture.None) throw new PayloadError(`the source answered with truncated JSON (it ends inside a value on line ${this.line})`);
    if (this.state !== State.Done) throw new PayloadError(`the source answered with truncated JSON (it ends on line ${this.line})`);
    if (this.recordsPath.length > 0 && !this.foundRecords) {
      const keys = this.topKeys.length > 0 ? `keys: ${this.topKeys.join(", ")}` : "no keys";
      throw new PayloadError(`the source's JSON has no records array at "${this.recordsPath.join(".")}" (${keys})`);
    }
  }

  /** One structural character outside any captured value. */
  private step(c: number, text: string, i: number): void {
    switch (this.state) {
      case State.Root:
        this.started = true;
        this.startRoot(c);
        return;
      case State.KeyOrEnd:
      case State.Key:
        if (c === QUOTE) {
          this.state = State.KeyString;
          this.key = "";
          this.keyEscape = false;
          this.keySyntax = new JsonSyntaxChecker(this.line);
          this.keySyntax.push('"');
          return;
        }
        if (c === CLOSE_BRACE && this.state === State.KeyOrEnd) return this.closeFrame();
        throw this.malformed(`expected a key, got ${show(text, i)}`);
      case State.Colon:
        if (c === COLON) {
          this.state = State.ObjectValue;
          return;
        }
        throw this.malformed(`expected ":" after the key "${this.key}", got ${show(text, i)}`);
      case State.ObjectValue:
        return this.startObjectValue(c, text, i);
      case State.AfterObjectValue:
        if (c === COMMA) {
          this.state = State.Key;
          return;
        }
        if (c === CLOSE_BRACE) return this.closeFrame();
        throw this.malformed(`expected "," or "}", got ${show(text, i)}`);
      case State.ElementOrEnd:
      case State.Element:
        if (c === CLOSE_BRACKET && this.state === State.ElementOrEnd) return this.closeFrame();
        if (c === CLOSE_BRACKET || c === COMMA) throw this.malformed(`expected a record, got ${show(text, i)}`);
        return this.startCapture(Capture.Record, c);
      case State.AfterElement:
        if (c === COMMA) {
          this.state = State.Element;
          return;
        }
        if (c === CLOSE_BRACKET) return this.closeFrame();
        throw this.malformed(`expected "," or "]" after record ${this.records}, got ${show(text, i)}`);
      case State.Done:
        throw this.malformed(`unexpected ${show(text, i)} after the end of the JSON`);
      case State.KeyString:
        return;
    }
  }

  private startRoot(c: number): void {
    if (c === 0x3c) throw new PayloadError("the source answered with HTML or XML, not JSON");
    if (this.recordsPath.length === 0) {
      if (c !== OPEN_BRACKET) throw new PayloadError(`the source must answer with a JSON array of records, got ${describeStart(c)}`);
      this.foundRecords = true;
      this.frames.push({ kind: "records", path: [] });
      this.state = State.ElementOrEnd;
      return;
    }
    if (c !== OPEN_BRACE) {
      throw new PayloadError(`the source must answer with a JSON object holding the records at "${this.recordsPath.join(".")}", got ${describeStart(c)}`);
    }
    this.frames.push({ kind: "envelope", path: [] });
    this.state = State.KeyOrEnd;
  }

  private startObjectValue(c: number, text: string, i: number): void {
    const parent = this.frames.at(-1)!;
    const path = [...parent.path, this.key];
    if (parent.path.length === 0 && this.topKeys.length < 20) this.topKeys.push(this.key);
    if (samePath(path, this.recordsPath)) {
      if (this.foundRecords) throw new PayloadError(`the source's JSON has the records at "${this.recordsPath.join(".")}" twice`);
      if (c !== OPEN_BRACKET) {
        throw new PayloadError(`the records at "${this.recordsPath.join(".")}" must be an array, got ${describeStart(c)}`);
      }
      this.foundRecords = true;
      this.frames.push({ kind: "records", path });
      this.state = State.ElementOrEnd;
      return;
    }
    const leadsToRecords = startsWith(this.recordsPath, path);
    const leadsToField = this.fieldPath !== null && startsWith(this.fieldPath, path) && this.fieldPath.length > path.length;
    if (c === OPEN_BRACE && (leadsToRecords || leadsToField)) {
      this.frames.push({ kind: "envelope", path });
      this.state = State.KeyOrEnd;
      return;
    }
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === COLON) throw this.malformed(`expected a value, got ${show(text, i)}`);
    this.startCapture(this.fieldPath !== null && samePath(path, this.fieldPath) ? Capture.Field : Capture.Skip, c);
  }

  private startCapture(kind: Capture, c: number): void {
    this.capture = kind;
    this.captureLine = this.line;
    this.depth = 0;
    this.open.length = 0;
    this.tooDeep = false;
    this.inString = false;
    this.escape = false;
    this.checker = null;
    this.scalar = c !== OPEN_BRACE && c !== OPEN_BRACKET && c !== QUOTE;
  }

  /** Scans a captured value from `i`; returns where scanning stopped (after the value, or the chunk's end). */
  private continueCapture(text: string, i: number, out: SourceItem[]): number {
    const start = i;
    const length = text.length;
    let depth = this.depth;
    let inString = this.inString;
    let escape = this.escape;
    let line = this.line;
    const open = this.open;
    let end = -1;
    if (this.scalar) {
      for (; i < length; i += 1) {
        const c = text.charCodeAt(i);
        if (c === COMMA || c === CLOSE_BRACKET || c === CLOSE_BRACE || c === SPACE || c === NEWLINE || c === TAB || c === RETURN) {
          end = i;
          break;
        }
      }
    } else {
      // Where the next quote and backslash are, each found once per stretch of text: strings jump from
      // one to the next, so a string of escapes costs no more than any other string.
      let quote = -1;
      let backslash = -1;
      for (; i < length; i += 1) {
        if (inString) {
          if (escape) {
            escape = false;
            continue;
          }
          if (quote < i) {
            quote = text.indexOf('"', i);
            if (quote === -1) quote = Infinity;
          }
          if (backslash < i) {
            backslash = text.indexOf("\\", i);
            if (backslash === -1) backslash = Infinity;
          }
          if (backslash < quote) {
            i = backslash;
            escape = true;
            continue;
          }
          if (quote === Infinity) {
            i = length;
            break;
          }
          i = quote;
          inString = false;
          if (depth === 0) {
            end = i + 1;
            break;
          }
          continue;
        }
        const c = text.charCodeAt(i);
        if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          depth += 1;
          if (depth <= MAX_DEPTH) open.push(c);
          else this.tooDeep = true;
        } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (depth <= MAX_DEPTH && open.pop() !== (c === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET)) {
            this.line = line;
            throw this.malformed(`${JSON.stringify(text[i])} does not close what was opened`);
          }
          depth -= 1;
          if (depth === 0) {
            end = i + 1;
            break;
          }
        } else if (c === NEWLINE) line += 1;
      }
    }
    this.line = line;
    const piece = end === -1 ? text.slice(start) : text.slice(start, end);
    if (this.checker === null && (this.tooDeep || this.buffer.length + piece.length > this.maxRecordBytes)) {
      // From here on the value is not kept whole, so its syntax is checked as it streams past.
      this.checker = new JsonSyntaxChecker(this.captureLine);
      this.checkSyntax(this.buffer.held());
    }
    if (this.checker) this.checkSyntax(piece);
    if (end === -1) {
      this.depth = depth;
      this.inString = inString;
      this.escape = escape;
      this.buffer.add(piece);
      return length;
    }
    this.finishCapture(this.buffer.take(piece), out);
    return end;
  }

  private checkSyntax(text: string): void {
    const problem = this.checker!.push(text);
    if (problem) throw new PayloadError(`the source answered with malformed JSON: ${problem} (line ${this.checker!.line})`);
  }

  /** The end of a value that was not parsed whole: it must be complete JSON. */
  private endSyntax(value: { text: string } | Oversized): void {
    if (this.checker === null) {
      // Over the limit only in bytes, or too deep: its text is still here.
      this.checker = new JsonSyntaxChecker(this.captureLine);
      this.checkSyntax("oversized" in value ? (value.whole ?? "") : value.text);
    }
    const problem = this.checker.end();
    this.checker = null;
    if (problem) throw new PayloadError(`the source answered with malformed JSON: ${problem} (line ${this.line})`);
  }

  private finishCapture(value: { text: string } | Oversized, out: SourceItem[]): void {
    const kind = this.capture;
    this.capture = Capture.None;
    const tooDeep = this.tooDeep;
    this.tooDeep = false;
    if ("oversized" in value || tooDeep) this.endSyntax(value);
    this.checker = null;
    if (kind === Capture.Record) {
      this.records += 1;
      this.state = State.AfterElement;
      if (tooDeep && !("oversized" in value)) {
        out.push({ ok: false, raw: rawForStorage(`${value.text.slice(0, 1_024)}…`), reason: `record ${this.records} (line ${this.captureLine}) is nested deeper than ${MAX_DEPTH} levels` });
        return;
      }
      if ("oversized" in value) {
        out.push({
          ok: false,
          raw: rawForStorage(`${value.preview}…`),
          reason: `record ${this.records} (line ${this.captureLine}) is ${describeSize(value.bytes)}, over the record limit of ${describeSize(this.maxRecordBytes)}`,
        });
        return;
      }
      out.push({ ok: true, record: this.parse(value.text, `record ${this.records}`) });
      return;
    }
    this.state = State.AfterObjectValue;
    if (kind === Capture.Field && ("oversized" in value || tooDeep)) {
      throw new PayloadError(`the value at "${this.fieldPath!.join(".")}" is over the record limit of ${describeSize(this.maxRecordBytes)} or nested deeper than ${MAX_DEPTH} levels`);
    }
    if ("oversized" in value || tooDeep) return;
    const parsed = this.parse(value.text, `the value of "${this.key}"`);
    if (kind === Capture.Field) this.fieldValue = parsed;
  }

  private parse(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new PayloadError(`the source answered with malformed JSON: ${what} (line ${this.captureLine}): ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private readKey(text: string, i: number): number {
    const length = text.length;
    const start = i;
    for (; i < length; i += 1) {
      const c = text.charCodeAt(i);
      if (this.keyEscape) {
        this.keyEscape = false;
        continue;
      }
      if (c === BACKSLASH) this.keyEscape = true;
      else if (c === QUOTE) {
        this.appendKey(text.slice(start, i));
        this.checkKey('"');
        const problem = this.keySyntax!.end();
        if (problem) throw this.malformed(`a key: ${problem}`);
        // A key too long to be one of ours is kept as a name no path can have.
        this.key = this.keyTooLong ? "\u0000long key" : this.decodeKey(this.key);
        this.keyTooLong = false;
        this.state = State.Colon;
        return i + 1;
      }
    }
    this.appendKey(text.slice(start));
    return length;
  }

  private checkKey(part: string): void {
    const problem = this.keySyntax!.push(part);
    if (problem) throw this.malformed(`a key: ${problem}`);
  }

  private appendKey(part: string): void {
    this.checkKey(part);
    if (this.keyTooLong) return;
    if (this.key.length + part.length > MAX_KEY_CHARS) {
      this.keyTooLong = true;
      this.key = "";
      return;
    }
    this.key += part;
  }

  private decodeKey(raw: string): string {
    if (!raw.includes("\\")) return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch (error) {
      throw this.malformed(`a key with a bad escape: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private closeFrame(): void {
    this.frames.pop();
    const parent = this.frames.at(-1);
    if (!parent) this.state = State.Done;
    else this.state = parent.kind === "records" ? State.AfterElement : State.AfterObjectValue;
  }

  private malformed(detail: string): PayloadError {
    return new PayloadError(`the source answered with malformed JSON: ${detail} (line ${this.line})`);
  }
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, index) => part === b[index]);
}

/** Whether `path` is a prefix of `target`. */
function startsWith(target: readonly string[], path: readonly string[]): boolean {
  return path.length <= target.length && path.every((part, index) => part === target[index]);
}

/** The character at `i`, quoted: one character, so a message does not depend on where the body's chunks end. */
function show(text: string, i: number): string {
  return JSON.stringify(String.fromCodePoint(text.codePointAt(i)!));
}

function describeStart(c: number): string {
  if (c === OPEN_BRACE) return "object";
  if (c === OPEN_BRACKET) return "array";
  if (c === QUOTE) return "string";
  if (c === 0x6e) return "null";
  if (c === 0x74 || c === 0x66) return "boolean";
  if ((c >= 0x30 && c <= 0x39) || c === 0x2d) return "number";
  return `something that is not JSON (${JSON.stringify(String.fromCharCode(c))})`;
}
