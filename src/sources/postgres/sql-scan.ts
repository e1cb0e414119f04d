/**
 * Just enough of PostgreSQL's lexical rules to check a source query before it is sent: its words and
 * `$n` parameters outside 'strings', E'strings', "names", $tag$dollar quotes$tag$ and comments (nested
 * block comments too). The server is what keeps a query read-only (it runs in a READ ONLY transaction);
 * this only catches what can be said before a run: a second statement, a query that is not a SELECT, a
 * parameter params does not bind.
 */
export interface ScannedSql {
  words: string[];
  /** `$1`, `$2`, … as numbers. */
  parameters: number[];
  separators: number;
  problem: string | null;
}

export function scanSql(sql: string): ScannedSql {
  const words: string[] = [];
  const parameters: number[] = [];
  let separators = 0;
  let index = 0;
  const unclosed = (what: string): ScannedSql => ({ words, parameters, separators, problem: `has ${what} that is never closed` });
  while (index < sql.length) {
    const char = sql[index]!;
    const next = sql[index + 1];
    if (char === "-" && next === "-") {
      const end = sql.indexOf("\n", index);
      index = end === -1 ? sql.length : end + 1;
    } else if (char === "/" && next === "*") {
      let depth = 1;
      index += 2;
      while (depth > 0) {
        if (index >= sql.length) return unclosed("a comment");
        if (sql.startsWith("/*", index)) (depth += 1), (index += 2);
        else if (sql.startsWith("*/", index)) (depth -= 1), (index += 2);
        else index += 1;
      }
    } else if (char === "'" || ((char === "E" || char === "e") && next === "'")) {
      const escapes = char !== "'";
      let end = index + (escapes ? 2 : 1);
      for (;;) {
        if (end >= sql.length) return unclosed("a string");
        if (escapes && sql[end] === "\\") end += 2;
        else if (sql[end] === "'" && sql[end + 1] === "'") end += 2;
        else if (sql[end] === "'") break;
        else end += 1;
      }
      index = end + 1;
    } else if (char === '"') {
      let end = index + 1;
      for (;;) {
        end = sql.indexOf('"', end);
        if (end === -1) return unclosed("a quoted name");
        if (sql[end + 1] === '"') end += 2;
        else break;
      }
      index = end + 1;
    } else if (char === "$") {
      const number = /^\$(\d+)/.exec(sql.slice(index, index + 12));
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(index, index + 66));
      if (number) {
        parameters.push(Number(number[1]));
        index += number[0].length;
      } else if (tag) {
        const end = sql.indexOf(tag[0], index + tag[0].length);
        if (end === -1) return unclosed("a dollar-quoted string");
        index = end + tag[0].length;
      } else index += 1;
    } else if (char === ";") {
      separators += 1;
      index += 1;
    } else if (/[A-Za-z_]/.test(char)) {
      const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(index, index + 200))![0];
      words.push(word.toLowerCase());
      index += word.length;
    } else index += 1;
  }
  return { words, parameters, separators, problem: null };
}

/** What keeps a query from being a source's one SELECT, or null. */
export function sourceQueryProblem(sql: string): string | null {
  const { words, separators, problem } = scanSql(sql);
  if (problem) return problem;
  if (separators > 0) return "must be one statement, without ; (it is wrapped in the query that pages it)";
  if (!["select", "with", "values", "table"].includes(words[0] ?? "")) return "must be a SELECT (or WITH … SELECT, VALUES, TABLE)";
  return null;
}
