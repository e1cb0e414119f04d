/**
 * What the CLI writes to a terminal comes from the server (run ids, errors, rejected records' ids, a
 * source's text), and a terminal obeys control characters: ESC sequences clear the screen, retitle the
 * window or plant OSC 8 links; C1 codes (U+009B is a one-character CSI) do the same. Every such character
 * is shown as its escape instead, as are the bidirectional overrides that make text read other than it is.
 * Tab and newline stay, except inside one table cell or one line of a table.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_IN_CELL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escape = (character: string) => {
  if (character === "\n") return "\\n";
  if (character === "\t") return "\\t";
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`;
};

/**
 * Text safe to write to a terminal. JSON stays JSON: the characters replaced can only stand inside its
 * strings, and their escapes mean the same there.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** Text for one cell or one line: newlines and tabs escaped too, so a value cannot break the layout. */
export function oneLine(text: string): string {
  return text.replace(UNSAFE_IN_CELL, escape);
}
