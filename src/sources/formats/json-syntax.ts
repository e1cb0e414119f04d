/**
 * A streaming check of JSON syntax (RFC 8259), for what the splitter does not hand to `JSON.parse`:
 * a record or a value beside the records that is over the record limit or nested too deep to keep, and
 * the envelope's keys. It holds one bit per open bracket and a few counters, never the value, so a 64 MiB
 * value is checked in little memory; it accepts exactly what `JSON.parse` accepts, up to
 * MAX_CHECKED_DEPTH levels of nesting (test/sources/json-syntax.test.ts holds it to that).
 */
import { BACKSLASH, NEWLINE, QUOTE, RETURN, SPACE, TAB } from "./char-codes";

const enum State {
  /** A value must come next (at the start, after ":" or after "," in an array). */
  Value,
  /** Just after "[": a value or "]". */
  ValueOrClose,
  /** Just after "{": a key or "}". */
  KeyOrClose,
  /** After "," in an object: a key. */
  Key,
  Colon,
  /** After a value: "," or a closing bracket (or, at the top, nothing but whitespace). */
  AfterValue,
  String,
  Escape,
  /** Inside `\uXXXX`; `hex` counts the digits still to come. */
  Unicode,
  /** After "-": a digit. */
  Minus,
  /** After a leading 0: ".", "e" or the number's end. */
  Zero,
  Integer,
  /** After ".": a digit. */
  Dot,
  Fraction,
  /** After "e": a sign or a digit. */
  Exponent,
  /** After the exponent's sign: a digit. */
  ExponentSign,
  ExponentDigits,
  /** Inside true, false or null. */
  Literal,
}


const isDigit = (c: number) => c >= 48 && c <= 57;
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isSpace = (c: number) => c === SPACE || c === NEWLINE || c === TAB || c === RETURN;
/** The characters `\` may be followed by. */
const ESCAPES = new Set([QUOTE, BACKSLASH, 47, 98, 102, 110, 114, 116, 117]);

/**
 * Deeper than this the payload fails: JSON.parse has no limit, but a check whose memory grows with depth
 * must have one (a bit per level: 16 million levels are 2 MiB).
 */
export const MAX_CHECKED_DEPTH = 16 * 1024 * 1024;

export class JsonSyntaxChecker {
  private state = State.Value;
  /** Open brackets as bits, innermost last: 1 an object, 0 an array. */
  private brackets = new Uint32Array(4);
  private depth = 0;
  private stringIsKey = false;
  private hex = 0;
  private literal = "";
  private literalAt = 0;
  /** The line the check has reached, counted from `firstLine`. */
  line: number;

  constructor(firstLine = 1) {
    this.line = firstLine;
  }

  /** Checks the next piece of the value; returns what is wrong with it, or null. */
  push(text: string): string | null {
    const length = text.length;
    for (let i = 0; i < length; i += 1) {
      const c = text.charCodeAt(i);
      switch (this.state) {
        case State.String: {
          // Jump to the next quote or backslash; only control characters in between need a look.
          let j = i;
          for (; j < length; j += 1) {
            const d = text.charCodeAt(j);
            if (d === QUOTE || d === BACKSLASH) break;
            if (d < 0x20) return `a control character (U+${d.toString(16).padStart(4, "0").toUpperCase()}) inside a string must be escaped`;
          }
          if (j === length) return null;
          i = j;
          if (text.charCodeAt(j) === BACKSLASH) this.state = State.Escape;
          else this.state = this.stringIsKey ? State.Colon : State.AfterValue;
          break;
        }
        case State.Escape:
          if (!ESCAPES.has(c)) return `a bad escape "\\${text[i]}" in a string`;
          if (c === 117) {
            this.state = State.Unicode;
            this.hex = 4;
          } else this.state = State.String;
          break;
        case State.Unicode:
          if (!isHex(c)) return `a \\u escape needs four hex digits, got ${JSON.stringify(text[i])}`;
          this.hex -= 1;
          if (this.hex === 0) this.state = State.String;
          break;
        case State.Literal:
          if (c !== this.literal.charCodeAt(this.literalAt)) return `expected ${this.literal}`;
          this.literalAt += 1;
          if (this.literalAt === this.literal.length) this.state = State.AfterValue;
          break;
        case State.Minus:
          if (c === 48) this.state = State.Zero;
          else if (isDigit(c)) this.state = State.Integer;
          else return "a minus sign must be followed by a digit";
          break;
        case State.Dot:
          if (!isDigit(c)) return "a decimal point must be followed by a digit";
          this.state = State.Fraction;
          break;
        case State.Exponent:
          if (c === 43 || c === 45) this.state = State.ExponentSign;
          else if (isDigit(c)) this.state = State.ExponentDigits;
          else return "an exponent needs digits";
          break;
        case State.ExponentSign:
          if (!isDigit(c)) return "an exponent needs digits";
          this.state = State.ExponentDigits;
          break;
        case State.Zero:
        case State.Integer:
        case State.Fraction:
        case State.ExponentDigits: {
          if (isDigit(c)) {
            if (this.state === State.Zero) return "a number may not start with 0 followed by digits";
            break;
          }
          if (c === 46 && (this.state === State.Zero || this.state === State.Integer)) {
            this.state = State.Dot;
            break;
          }
          if ((c === 101 || c === 69) && this.state !== State.ExponentDigits) {
            this.state = State.Exponent;
            break;
          }
          // The number ended; this character is read again as what follows a value.
          this.state = State.AfterValue;
          i -= 1;
          break;
        }
        default: {
          if (isSpace(c)) {
            if (c === NEWLINE) this.line += 1;
            break;
          }
          const problem = this.structural(c, text, i);
          if (problem) return problem;
        }
      }
    }
    return null;
  }

  /** The value is complete: returns what is missing, or null. */
  end(): string | null {
    switch (this.state) {
      case State.Zero:
      case State.Integer:
      case State.Fraction:
      case State.ExponentDigits:
        return this.depth === 0 ? null : "it ends inside an array or object";
      case State.AfterValue:
        return this.depth === 0 ? null : "it ends inside an array or object";
      case State.Value:
        return this.depth === 0 ? "there is no value" : "it ends inside an array or object";
      default:
        return "it ends inside a value";
    }
  }

  /** A character outside strings, numbers and literals. */
  private structural(c: number, text: string, i: number): string | null {
    switch (this.state) {
      case State.KeyOrClose:
      case State.Key:
        if (c === 125 && this.state === State.KeyOrClose) return this.close(true);
        if (c !== QUOTE) return `expected a key, got ${show(text, i)}`;
        this.state = State.String;
        this.stringIsKey = true;
        return null;
      case State.Colon:
        if (c !== 58) return `expected ":" after a key, got ${show(text, i)}`;
        this.state = State.Value;
        return null;
      case State.AfterValue:
        if (this.depth === 0) return `unexpected ${show(text, i)} after the value`;
        if (c === 44) {
          this.state = this.inObject() ? State.Key : State.Value;
          return null;
        }
        if (c === 93 || c === 125) return this.close(c === 125);
        return `expected "," or a closing bracket, got ${show(text, i)}`;
      case State.ValueOrClose:
        if (c === 93) return this.close(false);
        return this.startValue(c, text, i);
      default:
        return this.startValue(c, text, i);
    }
  }

  private startValue(c: number, text: string, i: number): string | null {
    switch (c) {
      case 123:
        this.state = State.KeyOrClose;
        return this.open(true);
      case 91:
        this.state = State.ValueOrClose;
        return this.open(false);
      case QUOTE:
        this.state = State.String;
        this.stringIsKey = false;
        return null;
      case 45:
        this.state = State.Minus;
        return null;
      case 48:
        this.state = State.Zero;
        return null;
      case 116:
        return this.startLiteral("true");
      case 102:
        return this.startLiteral("false");
      case 110:
        return this.startLiteral("null");
      default:
        if (isDigit(c)) {
          this.state = State.Integer;
          return null;
        }
        return `expected a value, got ${show(text, i)}`;
    }
  }

  private startLiteral(literal: string): null {
    this.literal = literal;
    this.literalAt = 1;
    this.state = State.Literal;
    return null;
  }

  private open(object: boolean): string | null {
    if (this.depth >= MAX_CHECKED_DEPTH) return `it is nested deeper than ${MAX_CHECKED_DEPTH} levels`;
    const word = this.depth >>> 5;
    const bit = 1 << (this.depth & 31);
    if (word === this.brackets.length) {
      const grown = new Uint32Array(this.brackets.length * 2);
      grown.set(this.brackets);
      this.brackets = grown;
    }
    this.brackets[word] = object ? this.brackets[word]! | bit : this.brackets[word]! & ~bit;
    this.depth += 1;
    return null;
  }

  private inObject(): boolean {
    const top = this.depth - 1;
    return (this.brackets[top >>> 5]! & (1 << (top & 31))) !== 0;
  }

  private close(object: boolean): string | null {
    if (this.depth === 0 || this.inObject() !== object) return `${object ? '"}"' : '"]"'} does not close what was opened`;
    this.depth -= 1;
    this.state = State.AfterValue;
    return null;
  }
}

/** The character at `i`, quoted: one character, so a message does not depend on where the body's chunks end. */
function show(text: string, i: number): string {
  return JSON.stringify(String.fromCodePoint(text.codePointAt(i)!));
}
