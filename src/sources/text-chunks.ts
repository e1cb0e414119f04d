/**
 * The text of a response body, chunk by chunk, for the format parsers. Two things every parser needs from
 * a hostile source: a stop signal that is honoured between chunks (a cancel or a stage timeout stops a
 * parse in the middle of a 50 MB line), and a turn of the event loop every MiB or so, because locally the
 * Worker and every agent share one thread and a parser that never yields starves them all.
 */
const YIELD_EVERY_CHARS = 1 << 20;

export async function* textChunks(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let sinceYield = 0;
  let first = true;
  try {
    for (;;) {
      signal.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      let text = decoder.decode(value, { stream: true });
      if (first && text.length > 0) {
        first = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
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

/** The UTF-8 size of `text`, counted only as far as needed to know whether it exceeds `limit`. */
export function utf8LengthExceeds(text: string, limit: number): boolean {
  // Every UTF-16 unit is 1 to 3 bytes of UTF-8, so most texts are decided by their length alone.
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return new TextEncoder().encode(text).byteLength > limit;
}

/** Parts of one record gathered across chunks, up to a limit; past it only the size is kept. */
export class RecordBuffer {
  private parts: string[] = [];
  private chars = 0;
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

  add(text: string): void {
    if (text.length === 0) return;
    this.chars += text.length;
    if (this.overflowed) return;
    if (this.chars > this.limitBytes) {
      this.overflow(text);
      return;
    }
    this.parts.push(text);
  }

  /** The whole record (when it stayed within the limit), then empty for the next one. */
  take(last = ""): { text: string } | { oversized: true; chars: number; preview: string } {
    this.add(last);
    const result = this.overflowed
      ? { oversized: true as const, chars: this.chars, preview: this.preview }
      : { text: this.parts.length === 1 ? this.parts[0]! : this.parts.join("") };
    if (!this.overflowed && utf8LengthExceeds((result as { text: string }).text, this.limitBytes)) {
      const text = (result as { text: string }).text;
      this.reset();
      return { oversized: true, chars: text.length, preview: text.slice(0, PREVIEW_CHARS) };
    }
    this.reset();
    return result;
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
    this.overflowed = false;
    this.preview = "";
  }

  private overflow(latest: string): void {
    this.overflowed = true;
    this.preview = (this.parts.join("") + latest.slice(0, PREVIEW_CHARS)).slice(0, PREVIEW_CHARS);
    this.parts = [];
  }
}

/** How much of an oversized record is kept to show what it was. */
export const PREVIEW_CHARS = 1_024;

export function describeSize(chars: number): string {
  if (chars >= 1 << 20) return `${(chars / (1 << 20)).toFixed(1)} MiB`;
  if (chars >= 1 << 10) return `${(chars / (1 << 10)).toFixed(1)} KiB`;
  return `${chars} bytes`;
}
