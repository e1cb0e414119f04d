/**
 * Whether a query only reads: one statement, SELECT (or WITH … SELECT), none of the words that write,
 * change the schema or the connection, outside strings, quoted names and comments. The D1 source also
 * checks every page's answer for rows written, so a query this check let through by mistake still fails.
 */

/** Words that begin a statement that is not a read. `replace` is also a function, allowed when called. */
const WRITING_WORDS = new Set(["insert", "update", "delete", "replace", "upsert", "merge", "create", "drop", "alter", "attach", "detach", "pragma", "vacuum", "reindex", "analyze", "begin", "commit", "rollback", "savepoint", "release", "returning", "load_extension"]);

export interface SqlWords {
  /** The statement's words outside strings, quoted names and comments, lower-cased, with what follows each. */
  words: { word: string; next: string }[];
  /** Semicolons outside strings and comments (a query is wrapped for paging, so it may have none). */
  separators: number;
  /** `?`, `?NNN`, `:name`, `@name`, `$name` outside strings. */
  parameters: string[];
  problem: string | null;
}

/** Splits SQL into words, skipping 'strings', "names", `names`, [names], -- and block comments. */
export function sqlWords(sql: string): SqlWords {
  const words: SqlWords["words"] = [];
  const parameters: string[] = [];
  let separators = 0;
  let index = 0;
  const closing: Record<string, string> = { "'": "'", '"': '"', "`": "`", "[": "]" };
  while (index < sql.length) {
    const char = sql[index]!;
    if (char === "-" && sql[index + 1] === "-") {
      const end = sql.indexOf("\n", index);
      index = end === -1 ? sql.length : end + 1;
      continue;
    }
    if (char === "/" && sql[index + 1] === "*") {
      const end = sql.indexOf("*/", index + 2);
      if (end === -1) return { words, separators, parameters, problem: "has a comment that is never closed" };
      index = end + 2;
      continue;
    }
    if (char in closing) {
      const close = closing[char]!;
      let end = index + 1;
      for (;;) {
        end = sql.indexOf(close, end);
        if (end === -1) return { words, separators, parameters, problem: `has a ${char === "'" ? "string" : "quoted name"} that is never closed` };
        // A doubled quote is the quote itself.
        if (close !== "]" && sql[end + 1] === close) {
          end += 2;
          continue;
        }
        break;
      }
      index = end + 1;
      continue;
    }
    if (char === ";") {
      separators += 1;
      index += 1;
      continue;
    }
    if (/[?:@$]/.test(char)) {
      const match = /^(\?\d*|[:@$][A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(index));
      if (match) {
        parameters.push(match[1]!);
        index += match[1]!.length;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(char)) {
      const match = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(index))!;
      const rest = sql.slice(index + match[0].length).trimStart();
      words.push({ word: match[0].toLowerCase(), next: rest[0] ?? "" });
      index += match[0].length;
      continue;
    }
    index += 1;
  }
  return { words, separators, parameters, problem: null };
}

/** What makes a query not a single read-only SELECT, or null. */
export function readOnlyProblem(sql: string): string | null {
  const { words, separators, parameters, problem } = sqlWords(sql);
  if (problem) return problem;
  if (separators > 0) return "must be one statement, without ; (it is wrapped in the query that pages it)";
  const first = words[0]?.word;
  if (first !== "select" && first !== "with" && first !== "values") return "must be a SELECT (or WITH … SELECT)";
  for (const { word, next } of words) {
    if (word === "replace" && next === "(") continue; // replace(text, from, to)
    if (WRITING_WORDS.has(word)) return `must only read, but uses ${word.toUpperCase()}`;
  }
  const named = parameters.filter((parameter) => !/^\?\d+$/.test(parameter));
  if (named.length > 0) return `binds its values as ?1, ?2, … (in the order of params), not ${named[0]}`;
  return null;
}

/** The highest `?NNN` a query uses. */
export function highestParameter(sql: string): number {
  return Math.max(0, ...sqlWords(sql).parameters.map((parameter) => Number(parameter.slice(1))));
}
