/**
 * The text of a response body, chunk by chunk, for the format parsers. Two things every parser needs from
 * a hostile source: a stop signal that is honoured between chunks (a cancel or a stage timeout stops a
 * parse in the middle of a 50 MB line), and a turn of the event loop every MiB or so, because locally the
 * Worker and every agent share one thread and a parser that never yields starves them all.
 *
 * The decoder removes one leading byte order mark (the WHATWG default); a second one is text, as it is for
 * every other reader of UTF-8.
 */
const YIELD_EVERY_CHARS = 1 << 20;

export async function* textChunks(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let sinceYield = 0;
  try {
    for (;;) {
      signal.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (text.length === 0) continue;
      yield text;
      sinceYield += text.length;
      if (sinceYield >= YIELD_EVERY_CHARS) {
        sinceYield = 0;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    const rest = decoder.decode();
    if (rest.length > 0) yield rest;
  } finally {
    // Stop the source sending when the parse ends early (a payload error, a cancel).
    reader.cancel().catch(() => undefined);
  }
}

/**
 * The UTF-8 size of `text` in bytes. A lone surrogate counts as the three bytes of the replacement
 * character an encoder writes for it.
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // the pair's two units become four bytes
      i += 1;
    } else bytes += 2;
  }
  return bytes;
}

/** The UTF-8 size of `text`, counted only as far as needed to know whether it exceeds `limit`. */
export function utf8LengthExceeds(text: string, limit: number): boolean {
  // Every UTF-16 unit is 1 to 3 bytes of UTF-8, so most texts are decided by their length alone.
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return utf8Length(text) > limit;
}

/** A record that grew past the limit: its size in UTF-8 bytes and its first characters, to show what it was. */
export interface Oversized {
  oversized: true;
  bytes: number;
  preview: string;
  /** The whole text, when it was still held (it was within the limit in characters, over it in bytes). */
  whole: string | null;
}

/**
 * Parts of one record gathered across chunks, up to a limit in UTF-8 bytes; past it only the size is kept.
 * Characters are a lower bound of bytes, so the cheap count decides until it says "over"; from then on the
 * bytes of what arrives are counted exactly, so a size in a message is a size in bytes.
 */
export class RecordBuffer {
  private parts: string[] = [];
  private chars = 0;
  private overflowBytes = 0;
  private overflowed = false;
  private preview = "";

  constructor(private readonly limitBytes: number) {}

  /** Characters of the record seen so far, kept or not. */
  get length(): number {
    return this.chars;
  }

  /** Characters actually held in memory (never much more than the limit). */
  get heldChars(): number {
    return this.overflowed ? this.preview.length : this.chars;
  }

  get isOverflowing(): boolean {
    return this.overflowed;
  }

  /** The text held so far (empty once the record overflowed). */
  held(): string {
    return this.overflowed ? "" : this.parts.join("");
  }

  add(text: string): void {
    if (text.length === 0) return;
    this.chars += text.length;
    if (this.overflowed) {
      this.overflowBytes += utf8Length(text);
      // The preview is the record's first characters however its text was cut into pieces.
      if (this.preview.length < PREVIEW_CHARS) this.preview += text.slice(0, PREVIEW_CHARS - this.preview.length);
      return;
    }
    if (this.chars > this.limitBytes) {
      this.overflow(text);
      return;
    }
    this.parts.push(text);
  }

  /** The whole record (when it stayed within the limit), then empty for the next one. */
  take(last = ""): { text: string } | Oversized {
    this.add(last);
    if (this.overflowed) {
      const result: Oversized = { oversized: true, bytes: this.overflowBytes, preview: this.preview, whole: null };
      this.reset();
      return result;
    }
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join("");
    this.reset();
    if (utf8LengthExceeds(text, this.limitBytes)) return { oversized: true, bytes: utf8Length(text), preview: text.slice(0, PREVIEW_CHARS), whole: text };
    return { text };
  }

  /** The record's text with `last` added, whatever its size, or null if earlier parts were already dropped. */
  takeWhole(last: string): string | null {
    const text = this.overflowed ? null : this.parts.join("") + last;
    this.reset();
    return text;
  }

  reset(): void {
    this.parts = [];
    this.chars = 0;
    this.overflowBytes = 0;
    this.overflowed = false;
    this.preview = "";
  }

  private overflow(latest: string): void {
    const kept = this.parts.join("");
    this.overflowed = true;
    this.overflowBytes = utf8Length(kept) + utf8Length(latest);
    this.preview = (kept + latest.slice(0, PREVIEW_CHARS)).slice(0, PREVIEW_CHARS);
    this.parts = [];
  }
}

/** How much of an oversized record is kept to show what it was. */
export const PREVIEW_CHARS = 1_024;

/** A size in bytes, for messages: `512 bytes`, `3.0 KiB`, `64.0 MiB`. */
export function describeSize(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
