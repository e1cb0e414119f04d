import { MAX_OFFENDING_SAMPLE, type CheckFinding, type ColumnScalar, type OffendingRecord } from "../domain/check-results";
import type { CheckKey } from "./check-tally";
import { ROLE_PROVIDES, ROLE_VALUE } from "./check-tally";
import type { RelationshipCheck, ResolvedCheck, UniqueCheck } from "./checks";
import type { Columns } from "./columns";

/**
 * The partitioned half of the dataset checks: one partition's check keys (from every transform shard)
 * gathered in an SQLite scratch table, so memory stays bounded by a chunk whatever the batch's size, then
 * judged by SQL: values that occur twice (unique), references the batch does not provide itself, looked
 * up in the target table a page at a time (relationship), values a table row holds under another key
 * (unique against the table). The same code runs in a stage agent (its Durable Object's SQLite) and in
 * the test kit (node:sqlite).
 */

/** The scratch SQLite: a statement run with its parameters, its rows read lazily. */
export interface ScratchSql {
  exec(sql: string, ...params: (string | number | null)[]): Iterable<Record<string, unknown>>;
}

/**
 * Reads of the tables checks compare with, a page of value tuples at a time. Answers name tuples by their
 * index in the page: the table decides what matches (its column affinity and collation: a TEXT column
 * holding "42" matches 42, a NOCASE one "Berlin" matches "berlin"), never a comparison of values here.
 */
export interface TableLookups {
  /** Which of these tuples (their indexes) some row of `table` holds in `columns`. */
  present(table: string, columns: readonly string[], tuples: readonly unknown[][]): Promise<number[]>;
  /** The rows of `table` holding these tuples in `columns`: the tuple's index and the row's key (as a value key), each pair once. */
  holders(table: string, columns: readonly string[], key: readonly string[], tuples: readonly unknown[][]): Promise<{ index: number; key: string }[]>;
  /** Value tuples one lookup may carry for `columns` columns (the store's limit on bound parameters). */
  tuplesPerLookup(columns: number): number;
}

/** Where a check's lookups go: resolved by the caller (the agent or the test kit), null when there is no table to ask. */
export interface PassTargets {
  /** The destination's upsert key. */
  key: readonly string[];
  /** A relationship's target table. */
  relationship(check: RelationshipCheck<Columns> & ResolvedCheck): { lookups: TableLookups; table: string } | null;
  /** The destination table a unique check is also held against (D1, when the columns are not the upsert key). */
  unique(check: UniqueCheck<Columns> & ResolvedCheck): { lookups: TableLookups; table: string; key: readonly string[] } | null;
}

const CREATE = [
  "DROP TABLE IF EXISTS check_keys",
  "DROP TABLE IF EXISTS check_bad",
  "CREATE TABLE check_keys (c INTEGER NOT NULL, role INTEGER NOT NULL, v TEXT NOT NULL, pos INTEGER NOT NULL, id TEXT NOT NULL, k TEXT NOT NULL)",
  "CREATE TABLE check_bad (c INTEGER NOT NULL, v TEXT NOT NULL, PRIMARY KEY (c, v))",
];

/**
 * Keys go in a few hundred kilobytes of JSON at a time, unpacked by SQLite: one statement for thousands of
 * keys instead of one each. A statement a key was a third of the orders transform's time (1.1 million keys
 * at 1,000,000 lines, measured with workerd's profiler); a Durable Object's SQLite takes values of up to
 * 2 MB, so a batch stays well under.
 */
const INSERT_KEYS = `INSERT INTO check_keys SELECT ${[0, 1, 2, 3, 4, 5].map((index) => `json_extract(value, '$[${index}]')`).join(", ")} FROM json_each(?)`;
const BATCH_CHARS = 512 * 1024;

/** The keys as JSON arrays of about BATCH_CHARS; a key longer than that on its own, to be bound value by value. */
function* jsonBatches(keys: readonly CheckKey[]): Generator<string | CheckKey> {
  let parts: string[] = [];
  let chars = 0;
  for (const key of keys) {
    const text = JSON.stringify(key);
    if (text.length >= BATCH_CHARS) {
      yield key;
      continue;
    }
    parts.push(text);
    chars += text.length + 1;
    if (chars >= BATCH_CHARS) {
      yield `[${parts.join(",")}]`;
      parts = [];
      chars = 0;
    }
  }
  if (parts.length > 0) yield `[${parts.join(",")}]`;
}

/** How a pass is run: told to stop, and given a turn after each piece of work (the agent yields and says it is alive). */
export interface PassControl {
  signal?: AbortSignal;
  /** After each chunk of keys gathered and each page looked up, with how much work it was. */
  between?: (work: number) => Promise<void>;
}

export async function runCheckPass(checks: readonly ResolvedCheck[], sql: ScratchSql, keys: AsyncIterable<readonly CheckKey[]>, targets: PassTargets, control: PassControl = {}): Promise<Record<string, CheckFinding>> {
  const { signal } = control;
  const between = control.between ?? (async () => undefined);
  for (const statement of CREATE) drain(sql.exec(statement));
  for await (const chunk of keys) {
    signal?.throwIfAborted();
    for (const batch of jsonBatches(chunk)) {
      if (typeof batch === "string") drain(sql.exec(INSERT_KEYS, batch));
      else drain(sql.exec("INSERT INTO check_keys VALUES (?, ?, ?, ?, ?, ?)", ...batch));
    }
    await between(chunk.length);
  }
  // Built after the inserts: one sort instead of an index kept up row by row. Rows by key are looked up
  // only for a unique check held against the table (that index was about a fifth of the gathering's SQLite time).
  drain(sql.exec("CREATE INDEX check_keys_value ON check_keys (c, role, v)"));
  if (checks.some((check) => check.type === "unique")) drain(sql.exec("CREATE INDEX check_keys_key ON check_keys (c, k)"));

  const found: Record<string, CheckFinding> = {};
  for (const [index, check] of checks.entries()) {
    signal?.throwIfAborted();
    if (check.type === "unique") {
      const target = targets.unique(check as UniqueCheck<Columns> & ResolvedCheck);
      // On columns that hold the key, every second row is a second row. On others, a line sent twice (one key,
      // one value) leaves one row after the duplicate rule: only a value under two keys offends.
      const coversKey = targets.key.every((column) => check.columns.includes(column));
      const repeats = coversKey ? "COUNT(*)" : "COUNT(DISTINCT k)";
      drain(sql.exec(`INSERT OR IGNORE INTO check_bad SELECT c, v FROM check_keys WHERE c = ? AND role = ? GROUP BY v HAVING ${repeats} > 1`, index, ROLE_VALUE));
      if (target) await againstTable(sql, index, check.columns, target, control);
      found[check.name] = offendingRows(sql, index, check.columns);
    } else if (check.type === "relationship") {
      const target = targets.relationship(check as RelationshipCheck<Columns> & ResolvedCheck);
      await missingReferences(sql, index, check.to.columns, target, control);
      found[check.name] = offendingRows(sql, index, check.columns);
    }
  }
  for (const statement of ["DROP TABLE check_keys", "DROP TABLE check_bad"]) drain(sql.exec(statement));
  return found;
}

/** Distinct judged values of a check, a page at a time in value order (keyset), with the batch's keys for each. */
/** Distinct judged values of a check, a page at a time in value order (keyset); only what is not provided by the batch, when asked. */
function* valuePages(sql: ScratchSql, check: number, pageSize: number, unprovided: boolean): Generator<string[]> {
  let after = "";
  for (;;) {
    const filter = unprovided ? " AND NOT EXISTS (SELECT 1 FROM check_keys p WHERE p.c = n.c AND p.role = ? AND p.v = n.v)" : "";
    const params: (string | number)[] = unprovided ? [check, ROLE_VALUE, after, ROLE_PROVIDES, pageSize] : [check, ROLE_VALUE, after, pageSize];
    const rows = [...sql.exec(`SELECT DISTINCT n.v AS v FROM check_keys n WHERE n.c = ? AND n.role = ? AND n.v > ?${filter} ORDER BY n.v LIMIT ?`, ...params)];
    if (rows.length === 0) return;
    yield rows.map((row) => String(row.v));
    after = String(rows.at(-1)!.v);
    if (rows.length < pageSize) return;
  }
}

async function missingReferences(sql: ScratchSql, check: number, columns: readonly string[], target: { lookups: TableLookups; table: string } | null, { signal, between }: PassControl): Promise<void> {
  if (!target) {
    // Nothing to look in beyond the batch: every reference it does not provide itself is missing.
    drain(sql.exec("INSERT OR IGNORE INTO check_bad SELECT DISTINCT n.c, n.v FROM check_keys n WHERE n.c = ? AND n.role = ? AND NOT EXISTS (SELECT 1 FROM check_keys p WHERE p.c = n.c AND p.role = ? AND p.v = n.v)", check, ROLE_VALUE, ROLE_PROVIDES));
    return;
  }
  for (const page of valuePages(sql, check, target.lookups.tuplesPerLookup(columns.length), true)) {
    signal?.throwIfAborted();
    const present = new Set(await target.lookups.present(target.table, columns, page.map((value) => JSON.parse(value) as unknown[])));
    for (const [index, value] of page.entries()) if (!present.has(index)) drain(sql.exec("INSERT OR IGNORE INTO check_bad VALUES (?, ?)", check, value));
    await between?.(page.length);
  }
}

async function againstTable(sql: ScratchSql, check: number, columns: readonly string[], target: { lookups: TableLookups; table: string; key: readonly string[] }, { signal, between }: PassControl): Promise<void> {
  for (const page of valuePages(sql, check, target.lookups.tuplesPerLookup(columns.length), false)) {
    signal?.throwIfAborted();
    const holders = await target.lookups.holders(target.table, columns, target.key, page.map((value) => JSON.parse(value) as unknown[]));
    for (const holder of holders) {
      // A table row whose key this batch writes is rewritten by it (whatever value it gets): not a second holder.
      const rewritten = [...sql.exec("SELECT 1 AS hit FROM check_keys WHERE c = ? AND k = ? LIMIT 1", check, holder.key)].length > 0;
      if (!rewritten) drain(sql.exec("INSERT OR IGNORE INTO check_bad VALUES (?, ?)", check, page[holder.index]!));
    }
    await between?.(page.length);
  }
}

/** The rows whose value a check found wrong: how many, and the first by position with their values. */
function offendingRows(sql: ScratchSql, check: number, columns: readonly string[]): CheckFinding {
  const join = "FROM check_keys k JOIN check_bad b ON b.c = k.c AND b.v = k.v WHERE k.c = ? AND k.role = ?";
  const count = Number([...sql.exec(`SELECT COUNT(*) AS n ${join}`, check, ROLE_VALUE)][0]?.n ?? 0);
  const sample: OffendingRecord[] = [...sql.exec(`SELECT k.pos AS pos, k.id AS id, k.v AS v ${join} ORDER BY k.pos LIMIT ?`, check, ROLE_VALUE, MAX_OFFENDING_SAMPLE)].map((row) => {
    const values = JSON.parse(String(row.v)) as ColumnScalar[];
    return { position: Number(row.pos), id: String(row.id), values: Object.fromEntries(columns.map((column, index) => [column, values[index] ?? null])) };
  });
  return { offending: count, sample };
}

function drain(rows: Iterable<unknown>): void {
  for (const _ of rows) {
    // read to the end: a statement runs fully only when its cursor is
  }
}
