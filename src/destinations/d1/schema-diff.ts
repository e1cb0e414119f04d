import { BOOKKEEPING_COLUMNS, type ColumnSettings } from "../../engine/columns";
import { BOOKKEEPING_SHAPE, SQL_TYPES, type SqlType } from "./table-ddl";

/**
 * A D1 destination's table as its definition says it must be, against the table as it is: what differs,
 * and the SQL migration that makes it match. Pure: the load stage reads a table's shape from D1 with
 * SHAPE_QUERY (one round trip), `npm run pipeline -- migration` from the migrations applied to an empty
 * SQLite, and both hand it here, so the migration a failed load prints is the one the command writes.
 *
 * What counts as a difference (docs/pipelines.md, "The table and its definition"):
 * - a column the definition has (or one of the engine's run_id, loaded_at, position) that the table lacks;
 * - a column whose type has another SQLite affinity than the definition's (text and timestamp are TEXT,
 *   integer and boolean INTEGER, where NUMERIC, which stores integers alike, is accepted too; real REAL);
 * - a column the table has NOT NULL that the definition allows null in (inserting the null fails);
 * - a primary key on other columns than the definition's key (the upsert's ON CONFLICT names the key);
 * - a column the definition does not know: it blocks the load only when it is NOT NULL without a default
 *   (every insert would fail); a nullable one, or one with a default, is harmless to the load, but still
 *   a difference the migration removes.
 * A column the table allows null in that the definition does not is not a difference: the engine refuses
 * a null for it before writing, and SQLite can add a column to a table with rows only allowing null.
 */

/** The part of a D1 destination's settings its table is made from. */
export interface DeclaredTable {
  table: string;
  key: readonly string[];
  columns: readonly ColumnSettings[];
}

/** A column as `pragma_table_info` describes it. */
export interface ActualColumn {
  name: string;
  /** The declared type as written ("TEXT", "VARCHAR(40)", "" when none). */
  type: string;
  notNull: boolean;
  defaultValue: string | null;
  /** Its place in the primary key (1-based), 0 when not in it. */
  pk: number;
}

/** A table as it is: its columns (none: no such table), its CREATE statement and its indexes' statements. */
export interface TableShape {
  table: string;
  columns: ActualColumn[];
  sql: string | null;
  indexes: { name: string; sql: string }[];
}

/** A table's columns and its own and its indexes' statements, in one query: bind the table's name twice. */
export const SHAPE_QUERY =
  `SELECT 'column' AS what, name, type, "notnull" AS required, dflt_value AS dflt, pk, NULL AS sql FROM pragma_table_info(?) ` +
  `UNION ALL SELECT type, name, NULL, NULL, NULL, NULL, sql FROM sqlite_master WHERE tbl_name = ? COLLATE NOCASE AND type IN ('table', 'index') AND sql IS NOT NULL`;

export interface ShapeRow {
  what: string;
  name: string;
  type: string | null;
  required: number | null;
  dflt: string | null;
  pk: number | null;
  sql: string | null;
}

export function shapeOf(table: string, rows: readonly ShapeRow[]): TableShape {
  const columns = rows.filter((row) => row.what === "column").map((row) => ({ name: row.name, type: row.type ?? "", notNull: Number(row.required) === 1, defaultValue: row.dflt, pk: Number(row.pk ?? 0) }));
  const sql = rows.find((row) => row.what === "table")?.sql ?? null;
  const indexes = rows.filter((row) => row.what === "index" && row.sql !== null).map((row) => ({ name: row.name, sql: row.sql! }));
  return { table, columns, sql: columns.length === 0 ? null : sql, indexes: columns.length === 0 ? [] : indexes };
}

export type Difference = { text: string; blocksLoad: boolean } & (
  | { kind: "no_table" }
  | { kind: "missing"; column: string }
  | { kind: "type"; column: string; actual: string; expected: SqlType }
  | { kind: "not_null"; column: string }
  | { kind: "key"; actual: string[] }
  | { kind: "extra"; column: string }
);

/** A column the table must have: the definition's, then the engine's. */
interface Expected {
  name: string;
  type: SqlType;
  nullable: boolean;
  /** How the definition says it: "integer", "boolean", "the engine's". */
  declared: string;
}

function expectedColumns(declared: DeclaredTable): Expected[] {
  return [
    ...declared.columns.map((column) => ({ name: column.name, type: SQL_TYPES[column.type], nullable: column.nullable, declared: column.type })),
    ...BOOKKEEPING_COLUMNS.map((name) => ({ name, ...BOOKKEEPING_SHAPE[name], declared: "the engine's" })),
  ];
}

/** SQLite's type affinity of a declared type (https://sqlite.org/datatype3.html#determination_of_column_affinity). */
export function affinity(type: string): "INTEGER" | "TEXT" | "BLOB" | "REAL" | "NUMERIC" {
  const upper = type.toUpperCase();
  if (upper.includes("INT")) return "INTEGER";
  if (/CHAR|CLOB|TEXT/.test(upper)) return "TEXT";
  if (upper.includes("BLOB") || upper.trim() === "") return "BLOB";
  if (/REAL|FLOA|DOUB/.test(upper)) return "REAL";
  return "NUMERIC";
}

/**
 * Whether a column's declared type stores what the engine writes: its affinity, or NUMERIC for integers,
 * and for timestamps (ISO text never looks like a number, so a DATETIME column keeps it as text).
 */
function typeFits(column: Expected, actual: string): boolean {
  const found = affinity(actual);
  return found === column.type || (found === "NUMERIC" && (column.type === "INTEGER" || column.declared === "timestamp"));
}

const list = (names: readonly string[]) => `(${names.join(", ")})`;
const lower = (name: string) => name.toLowerCase();

/** Every way the table differs from its definition, in the order of the definition's columns, then the table's others, then the key. */
export function compareShape(declared: DeclaredTable, shape: TableShape): Difference[] {
  if (shape.columns.length === 0) return [{ kind: "no_table", text: `the table ${declared.table} does not exist`, blocksLoad: true }];
  const expected = expectedColumns(declared);
  const actual = new Map(shape.columns.map((column) => [lower(column.name), column]));
  const differences: Difference[] = [];
  for (const column of expected) {
    const found = actual.get(lower(column.name));
    if (!found) {
      differences.push({ kind: "missing", column: column.name, text: `column ${column.name} is missing (${column.declared})`, blocksLoad: true });
      continue;
    }
    if (!typeFits(column, found.type)) {
      const said = column.declared === "the engine's" ? `the engine's ${column.type}` : `${column.declared} (${column.type})`;
      differences.push({ kind: "type", column: column.name, actual: found.type, expected: column.type, text: `column ${column.name} is ${found.type || "untyped"} in the table, ${said} in the definition`, blocksLoad: true });
    }
    if (found.notNull && column.nullable) differences.push({ kind: "not_null", column: column.name, text: `column ${column.name} is NOT NULL in the table, nullable in the definition`, blocksLoad: true });
  }
  const known = new Set(expected.map((column) => lower(column.name)));
  for (const column of shape.columns) {
    if (known.has(lower(column.name))) continue;
    const required = column.notNull && column.defaultValue === null;
    differences.push({
      kind: "extra",
      column: column.name,
      text: required ? `column ${column.name} is not in the definition, and is NOT NULL without a default (every insert fails)` : `column ${column.name} is not in the definition`,
      blocksLoad: required,
    });
  }
  const key = shape.columns.filter((column) => column.pk > 0).sort((a, b) => a.pk - b.pk).map((column) => column.name);
  const sameKey = key.length === declared.key.length && declared.key.every((name) => key.some((other) => lower(other) === lower(name)));
  if (!sameKey) {
    const theirs = key.length === 0 ? "the table has no primary key" : `the table's primary key is ${list(key)}`;
    differences.push({ kind: "key", actual: key, text: `${theirs}, the definition's key is ${list(declared.key)}`, blocksLoad: true });
  }
  return differences;
}

/** What is worth knowing about a table that does not count as a difference. */
export function shapeNotes(declared: DeclaredTable, shape: TableShape): string[] {
  const actual = new Map(shape.columns.map((column) => [lower(column.name), column]));
  return expectedColumns(declared)
    .filter((column) => !column.nullable && actual.get(lower(column.name))?.notNull === false && !declared.key.includes(column.name) && column.declared !== "the engine's")
    .map((column) => `column ${column.name} allows null in the table, not in the definition: that is allowed (the engine writes no null into it); to enforce it in the table too, rebuild the table by hand`);
}

// ---- SQL ---------------------------------------------------------------------------------------------

/** One statement: plain SQL, or a CREATE TABLE whose column lines a file shows aligned. */
export interface Statement {
  /** Comment lines the file shows above it. */
  comments: string[];
  sql: string;
  /** A CREATE TABLE's items, each its cells (name, type, constraints), and what follows the parenthesis. */
  table?: { items: string[][]; suffix: string };
}

export interface Migration {
  /** What the file is named after its number: `orders`, `orders_note`, `orders_rebuild`. */
  name: string;
  /** The file's heading, as lines of text (made comments). */
  heading: string[];
  statements: Statement[];
  /** What the reader should know: columns added allowing null, constraints not carried over. Also comments in the file. */
  notes: string[];
}

/**
 * SQLite's keywords that cannot stand as a bare column or table name (the others, such as PLAN, KEY or
 * ROWS, fall back to names in its grammar), and a few that mean something else in an expression.
 */
const KEYWORDS = new Set(
  (
    "ADD ALL ALTER AND AS AUTOINCREMENT BETWEEN CASE CAST CHECK COLLATE COMMIT CONSTRAINT CREATE CROSS CURRENT_DATE CURRENT_TIME " +
    "CURRENT_TIMESTAMP DEFAULT DEFERRABLE DELETE DISTINCT DROP ELSE ESCAPE EXCEPT EXISTS FILTER FOREIGN FROM FULL GLOB GROUP HAVING IN " +
    "INDEX INDEXED INNER INSERT INTERSECT INTO IS ISNULL JOIN LEFT LIKE LIMIT MATCH NATURAL NOT NOTHING NOTNULL NULL ON OR ORDER " +
    "OUTER OVER PRIMARY RAISE REFERENCES REGEXP RETURNING RIGHT ROLLBACK SELECT SET TABLE THEN TO TRANSACTION UNION UNIQUE UPDATE USING " +
    "VALUES WHEN WHERE WINDOW"
  ).split(" "),
);

/** A name as SQL: bare when it is a plain name and no keyword (as the hand-written migrations have them), else quoted. */
export function sqlName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name.toUpperCase()) ? name : `"${name.replaceAll('"', '""')}"`;
}

const nameList = (columns: readonly string[]) => columns.map(sqlName).join(", ");

function createStatement(table: string, items: string[][], suffix = "", comments: string[] = []): Statement {
  const sql = `CREATE TABLE ${sqlName(table)} (${items.map((cells) => cells.filter((cell) => cell !== "").join(" ")).join(", ")})${suffix}`;
  return { comments, sql, table: { items, suffix } };
}

const plain = (sql: string, comments: string[] = []): Statement => ({ comments, sql });

/**
 * The migration that makes the table match its definition, or null when nothing differs: a CREATE TABLE
 * for a table that does not exist; ADD COLUMN and DROP COLUMN where SQLite can change the table in place;
 * otherwise (a type, nullability or key changed, or a column that cannot be dropped in place) the table
 * rebuilt: created anew, its rows copied, the old one dropped, the new one renamed, its indexes made again,
 * its CHECK constraints carried over where they name no dropped column.
 */
export function migrationFor(declared: DeclaredTable, shape: TableShape, pipeline: string): Migration | null {
  const differences = compareShape(declared, shape);
  if (differences.length === 0) return null;
  const expected = expectedColumns(declared);
  const command = `npm run pipeline -- migration ${pipeline}`;
  if (differences.some((difference) => difference.kind === "no_table")) {
    const items = [...expected.map((column) => [sqlName(column.name), column.type, column.nullable ? "" : "NOT NULL"]), [`PRIMARY KEY (${nameList(declared.key)})`]];
    return {
      name: lower(declared.table),
      heading: [`The ${pipeline} pipeline's table, from its definition (${command}): one row per ${list(declared.key)}. run_id, loaded_at and position are written by the engine on every destination table.`],
      statements: [createStatement(declared.table, items)],
      notes: [],
    };
  }
  const parsed = shape.sql === null ? null : parseCreate(shape.sql);
  const heading = [`The ${pipeline} pipeline's table brought to its definition (${command}): ${differences.map((difference) => difference.text).join("; ")}.`];
  const missing = differences.flatMap((difference) => (difference.kind === "missing" ? [expected.find((column) => column.name === difference.column)!] : []));
  const extra = differences.flatMap((difference) => (difference.kind === "extra" ? [difference.column] : []));
  const inPlace = differences.every((difference) => difference.kind === "missing" || difference.kind === "extra") && extra.every((column) => droppable(shape, parsed, column));
  if (inPlace) {
    const notes = [...missing.filter((column) => !column.nullable).map(addedNullable), ...extra.map((column) => `column ${column} is dropped, with its values`)];
    const statements = [
      ...missing.map((column) => plain(`ALTER TABLE ${sqlName(declared.table)} ADD COLUMN ${sqlName(column.name)} ${column.type}`)),
      ...extra.map((column) => plain(`ALTER TABLE ${sqlName(declared.table)} DROP COLUMN ${sqlName(column)}`)),
    ];
    const suffix = extra.length === 0 ? missing.map((column) => lower(column.name)).join("_") : missing.length === 0 ? `drop_${extra.map(lower).join("_")}` : "columns";
    return { name: `${lower(declared.table)}_${suffix.length > 40 ? "columns" : suffix}`, heading, statements, notes };
  }
  return rebuild(declared, shape, parsed, differences, heading);
}

const addedNullable = (column: Expected) =>
  `column ${column.name} is added allowing null: SQLite adds a NOT NULL column only with a default, and the rows already there have no value for it; the engine writes no null into it`;

/** Whether SQLite can `DROP COLUMN` it in place: not in the key, an index, a constraint or another column's definition. */
function droppable(shape: TableShape, parsed: ParsedTable | null, column: string): boolean {
  const name = lower(column);
  if (parsed === null || shape.columns.find((candidate) => lower(candidate.name) === name)!.pk > 0) return false;
  const own = parsed.columns.get(name);
  if (!own || own.flags.has("UNIQUE") || own.flags.has("REFERENCES") || own.flags.has("PRIMARY")) return false;
  if (shape.indexes.some((index) => identifiers(lex(index.sql)).has(name))) return false;
  if (parsed.constraints.some((constraint) => constraint.words.has(name))) return false;
  return [...parsed.columns.entries()].every(([other, definition]) => other === name || !definition.words.has(name));
}

function rebuild(declared: DeclaredTable, shape: TableShape, parsed: ParsedTable | null, differences: Difference[], heading: string[]): Migration {
  const table = declared.table;
  const fresh = `${table}_new`;
  const expected = expectedColumns(declared);
  const old = new Map(shape.columns.map((column) => [lower(column.name), column]));
  const dropped = new Set(shape.columns.map((column) => lower(column.name)).filter((name) => !expected.some((column) => lower(column.name) === name)));
  const droppedIn = (words: ReadonlySet<string>) => [...words].filter((word) => dropped.has(word));
  const notes: string[] = [];
  const items = expected.map((column) => {
    const before = old.get(lower(column.name));
    // Null stays allowed where the table allowed it (the rows there may hold it), and in a column it gains.
    const notNull = !column.nullable && (before?.notNull ?? false);
    if (!before && !column.nullable) notes.push(addedNullable(column));
    const kept = parsed?.columns.get(lower(column.name));
    const carried: string[] = [];
    for (const check of kept?.checks ?? []) {
      if (droppedIn(check.words).length === 0) carried.push(check.text);
      else notes.push(`the constraint ${check.text} of column ${column.name} names ${droppedIn(check.words).join(", ")}, which is dropped: not carried over`);
    }
    if (kept?.collate) carried.push(kept.collate);
    const lost = ["UNIQUE", "REFERENCES", "DEFAULT", "GENERATED"].filter((word) => kept?.flags.has(word));
    if (lost.length > 0) notes.push(`column ${column.name}'s ${lost.join(", ")} in the old table is not carried over`);
    return [sqlName(column.name), column.type, [notNull ? "NOT NULL" : "", ...carried].filter((part) => part !== "").join(" ")];
  });
  items.push([`PRIMARY KEY (${nameList(declared.key)})`]);
  for (const constraint of parsed?.constraints ?? []) {
    if (constraint.primary) continue;
    if (droppedIn(constraint.words).length === 0) items.push([constraint.text]);
    else notes.push(`the constraint ${constraint.text} names ${droppedIn(constraint.words).join(", ")}, which is dropped: not carried over`);
  }
  if (shape.sql !== null && parsed === null) notes.push("the old table's statement could not be read: none of its constraints are carried over");
  for (const column of dropped) notes.push(`column ${old.get(column)!.name} is dropped, with its values`);
  const indexes: Statement[] = [];
  for (const index of shape.indexes) {
    const words = identifiers(lex(index.sql));
    if (droppedIn(words).length === 0) indexes.push(plain(index.sql.trim().replace(/;$/, "")));
    else notes.push(`index ${index.name} names ${droppedIn(words).join(", ")}, which is dropped: not made again`);
  }
  const copied = expected.filter((column) => old.has(lower(column.name))).map((column) => column.name);
  const copyNotes = [
    ...differences.flatMap((difference) =>
      difference.kind === "type" ? [`${difference.column} becomes ${difference.expected}: SQLite stores each value copied as ${difference.expected} where it can without loss, and keeps the others as they are.`] : [],
    ),
    ...differences.flatMap((difference) => (difference.kind === "key" ? [`the key becomes ${list(declared.key)}: rows that share a value of it make this INSERT fail (UNIQUE constraint failed); settle them first.`] : [])),
  ];
  return {
    name: `${lower(table)}_rebuild`,
    heading: [...heading, "SQLite cannot make this change in place (a column's type or nullability, the primary key, or dropping a column that a key, an index or a constraint names), so the table is rebuilt: created anew as the definition declares it, its rows copied, the old table dropped and the new one renamed, its indexes made again."],
    statements: [
      createStatement(fresh, items, parsed?.options ? ` ${parsed.options}` : ""),
      plain(`INSERT INTO ${sqlName(fresh)} (${nameList(copied)}) SELECT ${nameList(copied)} FROM ${sqlName(table)}`, copyNotes),
      plain(`DROP TABLE ${sqlName(table)}`),
      plain(`ALTER TABLE ${sqlName(fresh)} RENAME TO ${sqlName(table)}`),
      ...indexes,
    ],
    notes,
  };
}

/** The migration as a file: its heading and notes as comments, each statement on its lines, ending with `;`. */
export function migrationText(migration: Migration): string {
  const lines = [...migration.heading, ...migration.notes.map((note) => `Note: ${note}.`)].flatMap((text) => comment(text));
  for (const statement of migration.statements) {
    lines.push(...statement.comments.flatMap((text) => comment(text)));
    if (!statement.table) {
      lines.push(`${statement.sql};`);
      continue;
    }
    const { items, suffix } = statement.table;
    const widths = [0, 1].map((cell) => Math.max(...items.filter((cells) => cells.length > 1).map((cells) => cells[cell]!.length)));
    const body = items.map((cells) => `  ${cells.length === 1 ? cells[0] : cells.map((cell, index) => (index < cells.length - 1 ? cell.padEnd(widths[index]!) : cell)).join(" ").trimEnd()}`);
    lines.push(`${statement.sql.slice(0, statement.sql.indexOf("(")).trimEnd()} (`, body.join(",\n"), `)${suffix};`);
  }
  return `${lines.join("\n")}\n`;
}

/** The migration's statements on one line each, joined by "; ": what a command line takes. */
export function migrationSql(migration: Migration): string {
  return migration.statements.map((statement) => statement.sql).join("; ");
}

/** A text as `-- ` comment lines of at most 110 characters. */
function comment(text: string): string[] {
  const lines: string[] = [];
  let line = "--";
  for (const word of text.split(/\s+/)) {
    if (line.length + 1 + word.length > 110 && line !== "--") {
      lines.push(line);
      line = "--";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

const shellQuoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
const NOW = (sql: string) => `npx wrangler d1 execute DB --local --command ${shellQuoted(sql)} (--remote instead of --local for the deployed database; docs/operating.md, "Recovering a destination")`;

/**
 * Why a load into this table would fail, and how to put it right; null when the load can go on (nothing
 * differs, or only columns the load does not mind). `applied` is what D1's migration ledger says, for a
 * table that does not exist.
 */
export function shapeProblem(declared: DeclaredTable, shape: TableShape, pipeline: string | null, applied: { count: number; newest: string | null } = { count: 0, newest: null }): string | null {
  const differences = compareShape(declared, shape);
  if (!differences.some((difference) => difference.blocksLoad)) return null;
  const migration = migrationFor(declared, shape, pipeline ?? "<pipeline>")!;
  const command = `npm run pipeline -- migration ${pipeline ?? "<pipeline>"}`;
  if (shape.columns.length === 0) {
    const create = `create it: ${NOW(migrationSql(migration))}`;
    if (applied.count === 0) return `the D1 table ${declared.table} does not exist: apply the migrations (npm run db:migrate:local, or npm run deploy; ${command} writes a new pipeline's), or ${create}`;
    return `the D1 table ${declared.table} does not exist, though ${applied.count} migration${applied.count === 1 ? " is" : "s are"} recorded as applied (the newest ${applied.newest}), so npm run db:migrate:local will not create it again; ${create}`;
  }
  return `the D1 table ${declared.table} differs from ${pipeline === null ? "its pipeline's definition" : `the definition of pipeline ${pipeline}`}: ${differences.map((difference) => difference.text).join("; ")}. Make it match: ${NOW(migrationSql(migration))}; when the definition changed, ${command} writes this as a migration (then npm run db:migrate:local, or npm run deploy)`;
}

// ---- Reading a CREATE TABLE statement ------------------------------------------------------------------

interface Token {
  text: string;
  kind: "word" | "quoted" | "string" | "punct";
  start: number;
  end: number;
}

/** SQLite's tokens, enough to find a statement's parentheses, commas, names and constraints. */
function lex(sql: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < sql.length) {
    const char = sql[at]!;
    if (/\s/.test(char)) at += 1;
    else if (sql.startsWith("--", at)) at = sql.includes("\n", at) ? sql.indexOf("\n", at) : sql.length;
    else if (sql.startsWith("/*", at)) at = sql.includes("*/", at + 2) ? sql.indexOf("*/", at + 2) + 2 : sql.length;
    else if (char === "'" || char === '"' || char === "`" || char === "[") {
      const close = char === "[" ? "]" : char;
      let end = at + 1;
      for (;;) {
        const found = sql.indexOf(close, end);
        if (found < 0) {
          end = sql.length;
          break;
        }
        end = found + 1;
        if (close !== "]" && sql[end] === close) end += 1;
        else break;
      }
      tokens.push({ text: sql.slice(at, end), kind: char === "'" ? "string" : "quoted", start: at, end });
      at = end;
    } else if (/[A-Za-z0-9_$]/.test(char)) {
      let end = at;
      while (end < sql.length && /[A-Za-z0-9_$]/.test(sql[end]!)) end += 1;
      tokens.push({ text: sql.slice(at, end), kind: "word", start: at, end });
      at = end;
    } else {
      tokens.push({ text: char, kind: "punct", start: at, end: at + 1 });
      at += 1;
    }
  }
  return tokens;
}

function nameOf(token: Token): string {
  if (token.kind !== "quoted") return token.text;
  const inner = token.text.slice(1, -1);
  return token.text.startsWith("[") ? inner : inner.replaceAll(token.text[0]! + token.text[0]!, token.text[0]!);
}

/** The names a run of tokens mentions (lower case), strings left out. */
function identifiers(tokens: readonly Token[]): Set<string> {
  return new Set(tokens.filter((token) => token.kind === "word" || token.kind === "quoted").map((token) => lower(nameOf(token))));
}

interface ParsedTable {
  columns: Map<string, { checks: { text: string; words: Set<string> }[]; collate: string | null; flags: Set<string>; words: Set<string> }>;
  constraints: { text: string; words: Set<string>; primary: boolean }[];
  /** What follows the columns: `STRICT`, `WITHOUT ROWID`. */
  options: string;
}

const TABLE_CONSTRAINTS = new Set(["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]);

/** A table's columns with their CHECK and COLLATE clauses, its table constraints and options; null when it does not read as one. */
function parseCreate(sql: string): ParsedTable | null {
  const tokens = lex(sql);
  const open = tokens.findIndex((token) => token.text === "(");
  if (open < 0) return null;
  const parts: Token[][] = [[]];
  let depth = 0;
  let close = -1;
  for (let index = open + 1; index < tokens.length; index += 1) {
    const token = tokens[index]!;
    if (token.text === "(") depth += 1;
    if (token.text === ")") {
      if (depth === 0) {
        close = index;
        break;
      }
      depth -= 1;
    }
    if (token.text === "," && depth === 0) parts.push([]);
    else parts.at(-1)!.push(token);
  }
  if (close < 0 || parts.some((part) => part.length === 0)) return null;
  const text = (from: Token, to: Token) => sql.slice(from.start, to.end);
  const parsed: ParsedTable = { columns: new Map(), constraints: [], options: sql.slice(tokens[close]!.end).trim().replace(/;$/, "").trim() };
  for (const part of parts) {
    const first = part[0]!;
    if (first.kind === "word" && TABLE_CONSTRAINTS.has(first.text.toUpperCase())) {
      const words = part.filter((token) => token.kind === "word").map((token) => token.text.toUpperCase());
      parsed.constraints.push({ text: text(first, part.at(-1)!), words: identifiers(part), primary: words.slice(0, 3).includes("PRIMARY") });
      continue;
    }
    const checks: { text: string; words: Set<string> }[] = [];
    let collate: string | null = null;
    let level = 0;
    for (let index = 1; index < part.length; index += 1) {
      const token = part[index]!;
      if (token.text === "(") level += 1;
      if (token.text === ")") level -= 1;
      if (level !== 0 || token.kind !== "word") continue;
      const word = token.text.toUpperCase();
      if (word === "COLLATE" && part[index + 1]) collate = `COLLATE ${part[index + 1]!.text}`;
      if (word !== "CHECK" || part[index + 1]?.text !== "(") continue;
      let end = index + 1;
      for (let inner = 0; end < part.length; end += 1) {
        if (part[end]!.text === "(") inner += 1;
        if (part[end]!.text === ")" && --inner === 0) break;
      }
      const named = index >= 3 && part[index - 2]!.text.toUpperCase() === "CONSTRAINT" ? index - 2 : index;
      checks.push({ text: text(part[named]!, part[Math.min(end, part.length - 1)]!), words: identifiers(part.slice(index + 1, end + 1)) });
    }
    const flags = new Set(part.slice(1).filter((token) => token.kind === "word").map((token) => token.text.toUpperCase()));
    parsed.columns.set(lower(nameOf(first)), { checks, collate, flags, words: identifiers(part.slice(1)) });
  }
  return parsed;
}
