/**
 * The examples in the README and docs/, read as a person would run them: each `bash` block's commands in
 * order, and the answer the page shows after a command (the `json` or `http` block that follows a
 * block of one command, or a `# → …` comment under it). Pure, so test/docs/doc-examples.test.ts shows that
 * a wrong example fails; scripts/docs-test.ts runs them against a real `wrangler dev`.
 */

export interface Expectation {
  /** The HTTP status the page shows, when it shows one. */
  status?: number;
  /** The JSON body the page shows. */
  json?: unknown;
  /**
   * The page shows some fields only (`# → "accounting": {…}, "status": "failed"`): they are compared
   * with the answer's run (a trigger or retry that waited) or else the answer itself.
   */
  fragment?: boolean;
}

export interface DocStep {
  /** The command as a person types it (continuation lines joined). */
  command: string;
  /** 1-based line of the command in the page. */
  line: number;
  expect: Expectation | null;
}

/** Commands the examples check by running them; everything else in a block (installs, deploys, logins) is read, not run. */
const RUN_PREFIXES = ["curl ", "npx wrangler d1 execute ", "npm run pipeline ", "npm run check", "npx vitest run ", "psql "];
/** Put before a block that cannot be run as it stands (it needs a slow source, a real CRM, …). */
const UNCHECKED = "<!-- example: not run -->";
/** A page whose examples need a PostgreSQL database: run against a throwaway cluster, as DATABASE_URL. */
const POSTGRES = "<!-- example: postgres -->";

export function needsPostgres(markdown: string): boolean {
  return markdown.includes(POSTGRES);
}

interface Fence {
  lang: string;
  body: string;
  /** Line of the opening fence. */
  line: number;
  /** What stands between the previous fence's end and this one. */
  before: string;
}

function fences(markdown: string): Fence[] {
  const found: Fence[] = [];
  const pattern = /^```(\w*)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm;
  let previousEnd = 0;
  for (let match = pattern.exec(markdown); match; match = pattern.exec(markdown)) {
    found.push({ lang: match[1]!, body: match[2]!, line: markdown.slice(0, match.index).split("\n").length, before: markdown.slice(previousEnd, match.index) });
    previousEnd = match.index + match[0].length;
  }
  return found;
}

/** `400 {"errors": …}`, `{…}`, `[…]`: what a `# →` comment says, when its JSON is exact (not `…`-elided text). */
function commentAnswer(text: string): Expectation | null {
  if (text.trim().startsWith('"')) {
    const fields = jsonOrUndefined(`{${text.trim().replace(/,$/, "")}, "${ELIDED}": "${ELIDED}"}`);
    return fields === undefined ? null : { json: fields, fragment: true };
  }
  const match = /^(?:(\d{3})\b\s*)?(.*)$/s.exec(text.trim())!;
  const status = match[1] === undefined ? undefined : Number(match[1]);
  const json = jsonOrUndefined(match[2]!);
  if (json === undefined) return status === undefined ? null : { status };
  return status === undefined ? { json } : { status, json };
}

/** An http block: the status line, headers, a blank line, the JSON body. */
function httpAnswer(text: string, line: number): Expectation {
  const [head, ...rest] = text.split(/\n\s*\n/);
  const status = /^HTTP\/[\d.]+ (\d{3})/.exec(head!.trim());
  const json = jsonOrUndefined(rest.join("\n\n"));
  if (!status || json === undefined) throw new Error(`line ${line}: an http block is a status line, headers, a blank line and a JSON body`);
  return { status: Number(status[1]), json };
}

function jsonOrUndefined(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function docSteps(markdown: string): DocStep[] {
  const steps: DocStep[] = [];
  const all = fences(markdown);
  all.forEach((fence, index) => {
    if (fence.lang !== "bash" || fence.before.trimEnd().endsWith(UNCHECKED)) return;
    const block: DocStep[] = [];
    const lines = fence.body.split("\n");
    for (let at = 0; at < lines.length; at += 1) {
      let text = lines[at]!;
      const line = fence.line + 1 + at;
      while (text.endsWith("\\") && at + 1 < lines.length) text = `${text.slice(0, -1).trimEnd()} ${lines[++at]!.trim()}`;
      const trimmed = text.trim();
      const answer = /^#\s*→\s*(.*)$/.exec(trimmed) ?? /\s#\s*→\s*(.*)$/.exec(trimmed);
      // An answer may go on in comment lines indented under it ("#   …").
      while (answer && at + 1 < lines.length && /^\s*#\s{3,}\S/.test(lines[at + 1]!)) answer[1] = `${answer[1]} ${lines[++at]!.trim().replace(/^#\s+/, "")}`;
      const command = trimmed.replace(/\s+#.*$/, "");
      if (command !== "" && !command.startsWith("#") && RUN_PREFIXES.some((prefix) => command.startsWith(prefix))) block.push({ command, line, expect: null });
      if (answer && block.length > 0 && block.at(-1)!.expect === null && (command === "" || command.startsWith("#") || RUN_PREFIXES.some((prefix) => command.startsWith(prefix)))) {
        block.at(-1)!.expect = commentAnswer(answer[1]!);
      }
    }
    const next = all[index + 1];
    if (block.length === 1 && block[0]!.expect === null && next && next.before.trim() === "" && (next.lang === "json" || next.lang === "http")) {
      block[0]!.expect = next.lang === "json" ? { json: JSON.parse(next.body) } : httpAnswer(next.body, next.line);
    }
    steps.push(...block);
  });
  return steps;
}

/** An elided part: `"…"` as a key (more keys may follow) or as an array's last element (more elements). */
export const ELIDED = "…";
/** The accounting's counts: compared exactly wherever a page shows them. */
const EXACT_NUMBERS = new Set(["extracted", "loaded", "rejected", "skipped"]);
/** Values that differ every run: compared by type only. */
const VOLATILE_KEYS = new Set(["id", "nextCursor"]);
/** Ids, times, hashes (a definition's fingerprints: they change with the code) and version ids. */
const VOLATILE_TEXT = [/\d{10,}/, /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/, /^[0-9a-f]{16}$/, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/];
/** Ids a page names (and the next commands use) as the run gave them: `manual-1795…`, `bf-1795…`. */
export const RUN_ID = /\b(?:manual|retry|scheduled)-\d{13}\b|\bbackfill-\d{13}-bf-\d{13}\b|\bbf-\d{13}\b/g;

function kind(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

/**
 * Where `actual` differs from what the page shows: every key the API sends must be on the page (unless the
 * page elides with `"…"`), and every key on the page must be sent; values must have the same type, and
 * text and booleans the same value, except text that differs run to run (ids, times). Ids the page names
 * are mapped to the ones this run gave (`ids`), for the commands that follow.
 */
export function differences(expected: unknown, actual: unknown, ids: Map<string, string>, path = "$", key = ""): string[] {
  if (kind(expected) !== kind(actual)) return [`${path}: the page shows ${kind(expected)} ${JSON.stringify(expected)?.slice(0, 60)}, the API sent ${kind(actual)} ${JSON.stringify(actual)?.slice(0, 60)}`];
  if (Array.isArray(expected)) {
    const list = actual as unknown[];
    const elided = expected.at(-1) === ELIDED;
    const shown = elided ? expected.slice(0, -1) : expected;
    const problems = elided ? (list.length < shown.length ? [`${path}: the page shows at least ${shown.length} elements, the API sent ${list.length}`] : []) : list.length !== shown.length ? [`${path}: the page shows ${shown.length} elements, the API sent ${list.length}`] : [];
    return [...problems, ...shown.flatMap((item, index) => (index < list.length ? differences(item, list[index], ids, `${path}[${index}]`) : []))];
  }
  if (expected !== null && typeof expected === "object") {
    const page = expected as Record<string, unknown>;
    const sent = actual as Record<string, unknown>;
    const elided = ELIDED in page;
    const missing = Object.keys(sent).filter((name) => !(name in page));
    const extra = Object.keys(page).filter((name) => name !== ELIDED && !(name in sent));
    return [
      ...(elided || missing.length === 0 ? [] : [`${path}: the API sends ${missing.join(", ")}, which the page does not show`]),
      ...(extra.length === 0 ? [] : [`${path}: the page shows ${extra.join(", ")}, which the API does not send`]),
      ...Object.keys(page)
        .filter((name) => name !== ELIDED && name in sent)
        .flatMap((name) => differences(page[name], sent[name], ids, `${path}.${name}`, name)),
    ];
  }
  if (typeof expected === "string") {
    const volatile = VOLATILE_KEYS.has(key) || VOLATILE_TEXT.some((pattern) => pattern.test(expected));
    if (volatile) {
      mapIds(expected, actual as string, ids);
      return [];
    }
  }
  // Counts that say what a run did are the same every run, and a page that shows them wrong misleads:
  // compared exactly. Other numbers (times, durations, sizes) only by type.
  if (typeof expected === "number") return EXACT_NUMBERS.has(key) && expected !== actual ? [`${path}: the page shows ${expected}, the API sent ${JSON.stringify(actual)}`] : [];
  return expected === actual ? [] : [`${path}: the page shows ${JSON.stringify(expected)}, the API sent ${JSON.stringify(actual)}`];
}

/** The page's ids in `shown`, paired in order with this run's ids in `sent`. */
function mapIds(shown: string, sent: string, ids: Map<string, string>): void {
  const pageIds = shown.match(RUN_ID) ?? [];
  const runIds = sent.match(RUN_ID) ?? [];
  pageIds.forEach((id, index) => {
    if (runIds[index] !== undefined && !ids.has(id)) ids.set(id, runIds[index]!);
  });
}

/** The command with the page's ids replaced by this run's; an id no earlier answer gave is an error. */
export function withRunIds(command: string, ids: ReadonlyMap<string, string>): string {
  return command.replace(RUN_ID, (id) => {
    const mapped = ids.get(id);
    if (mapped === undefined) throw new Error(`the command names ${id}, which no earlier example's answer gave`);
    return mapped;
  });
}

/** A file a page has the reader write (a tutorial's pipeline, its migration, a line in a list). */
export interface DocFile {
  path: string;
  body: string;
  /** Line of the block in the page. */
  line: number;
}

/** Blocks marked `<!-- example: file <path> -->`: what the page has the reader put in that file. */
export function docFiles(markdown: string): DocFile[] {
  return fences(markdown).flatMap((fence) => {
    const marker = /<!-- example: file (\S+) -->\s*$/.exec(fence.before);
    return marker ? [{ path: marker[1]!, body: fence.body, line: fence.line }] : [];
  });
}

/**
 * A snippet for a file that exists: its imports are added (once), and each `export const NAME = …;` line
 * replaces the line of the same name, so "add this line" reads as a person would apply it.
 */
export function applySnippet(existing: string, snippet: string): string {
  let text = existing;
  for (const line of snippet.split("\n").filter((candidate) => candidate.trim() !== "")) {
    const declared = /^export const (\w+)\b/.exec(line);
    if (declared) {
      const pattern = new RegExp(`^export const ${declared[1]}\\b.*$`, "m");
      if (!pattern.test(text)) throw new Error(`the file has no line "export const ${declared[1]}" to replace`);
      text = text.replace(pattern, line);
    } else if (line.startsWith("import ")) {
      if (!text.includes(line)) {
        const lastImport = [...text.matchAll(/^import .*$/gm)].at(-1);
        const at = lastImport ? lastImport.index! + lastImport[0].length + 1 : 0;
        text = `${text.slice(0, at)}${line}\n${text.slice(at)}`;
      }
    } else throw new Error(`a snippet line that is neither an import nor an export const: ${line}`);
  }
  return text;
}
