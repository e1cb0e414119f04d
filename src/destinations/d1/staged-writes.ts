import { BOOKKEEPING_COLUMNS } from "../../engine/columns";
import type { StagedWrites, WriteControl } from "../kind";
import type { D1Destination } from "./settings";
import { createTableSql } from "./table-ddl";
import { loadRowsOnce, upsertRows } from "./writes";

/** Rows moved into the destination by one statement when a staged load is published. */
export const PUBLISH_ROWS = 50_000;

const quoteName = (name: string) => `"${name}"`;

/**
 * The table a run's rows wait in, beside the destination in the same database. Run ids are unique only
 * within a pipeline, and two pipelines may write one table, so the pipeline is in the name too (pipeline
 * names are `[a-z0-9-]`, run ids ours: letters, digits, `.:_-`).
 */
export function stagedTableName(table: string, pipeline: string, runId: string): string {
  const plain = (text: string) => text.replace(/[^A-Za-z0-9_]/g, "_");
  return `_staged_${table}_${plain(pipeline)}_${plain(runId)}`;
}

/**
 * The destination's own CREATE TABLE with another name, so the waiting rows meet every constraint the
 * destination has (its CHECKs too) when they are written, not when they are published. Without a row id
 * the publishing could not go in ranges, so WITHOUT ROWID is left off (nothing else depends on it). The row
 * id may be the key itself (a single INTEGER PRIMARY KEY): any 64-bit value, negative, sparse; see publish.
 */
export function stagedTableSql(destinationSql: string | null, destination: D1Destination, name: string): string {
  const sql = destinationSql ?? createTableSql(destination);
  const renamed = sql.replace(/^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_]*)/i, `CREATE TABLE ${quoteName(name)}`);
  // The table options (STRICT, WITHOUT ROWID) follow the last parenthesis.
  const close = renamed.lastIndexOf(")");
  const options = renamed
    .slice(close + 1)
    .split(",")
    .map((option) => option.trim())
    .filter((option) => option !== "" && !/^WITHOUT\s+ROWID$/i.test(option));
  return `${renamed.slice(0, close + 1)}${options.length > 0 ? ` ${options.join(", ")}` : ""}`;
}

/**
 * Where one range of the waiting rows is, by row id: after `from` (from the first row without it) up to
 * and including `to` (to the last without it), bound in that order. Row ids are bound as text and cast in SQL, so a 64-bit
 * key (a row id past 2^53) is never rounded by a JavaScript number; each bound stays a constant, so SQLite
 * seeks to the range instead of scanning the table.
 */
function rangeSql(from: boolean, to: boolean): string {
  const bounds = [from ? "rowid > CAST(? AS INTEGER)" : null, to ? "rowid <= CAST(? AS INTEGER)" : null].filter(Boolean);
  return bounds.length > 0 ? ` WHERE ${bounds.join(" AND ")}` : "";
}

/** INSERT … SELECT of one range of the waiting rows into the destination, as an upsert on the key (see rangeSql). */
export function publishSql(destination: D1Destination, staged: string, range: { from: boolean; to: boolean }): string {
  const names = [...destination.columns.map((column) => column.name), ...BOOKKEEPING_COLUMNS];
  const list = names.map(quoteName).join(",");
  const updates = names.filter((name) => !destination.key.includes(name)).map((name) => `${quoteName(name)}=excluded.${quoteName(name)}`);
  // "WHERE true" keeps the upsert's ON CONFLICT from reading as a join constraint when there is no range.
  const where = rangeSql(range.from, range.to) || " WHERE true";
  return `INSERT INTO ${quoteName(destination.table)} (${list}) SELECT ${list} FROM ${quoteName(staged)}${where} ON CONFLICT (${destination.key.map(quoteName).join(",")}) DO UPDATE SET ${updates.join(",")}`;
}

/** The row id that ends the range of `rows` rows (PUBLISH_ROWS) after `from`, or null when fewer are left (the last range). */
function rangeEndSql(staged: string, from: boolean, rows: number): string {
  return `SELECT CAST(rowid AS TEXT) AS id FROM ${quoteName(staged)}${rangeSql(from, false)} ORDER BY rowid LIMIT 1 OFFSET ${rows - 1}`;
}

/**
 * A run's rows held in a table of their own beside the destination (see StagedWrites). Written through
 * the same upserts as the destination (duplicates are found there the same way: every row in it is this
 * run's), published with INSERT … SELECT in ranges of row ids, each an upsert on the key, so publishing
 * again after a crash part way rewrites the same rows; the table is dropped once all of it is in.
 */
export function d1StagedWrites(db: D1Database, destination: D1Destination, pipeline: string, runId: string, loadedAt: number, rowsPerRange = PUBLISH_ROWS): StagedWrites {
  const name = stagedTableName(destination.table, pipeline, runId);
  const staged: D1Destination = { ...destination, table: name };
  return {
    async open() {
      const found = await db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE").bind(destination.table).first<{ sql: string }>();
      await db.batch([db.prepare(`DROP TABLE IF EXISTS ${quoteName(name)}`), db.prepare(stagedTableSql(found?.sql ?? null, destination, name))]);
    },
    writer: {
      write: (rows, control) =>
        destination.duplicates === "reject"
          ? loadRowsOnce(db, staged, runId, rows, loadedAt, control)
          : upsertRows(db, staged, runId, rows, loadedAt, control).then((loaded) => ({ loaded, duplicates: [] })),
      finish: async () => undefined,
    },
    async publish(control: WriteControl) {
      // Ranges found by counting rows, not by row id arithmetic: the row id may be the key.
      let from: string | null = null;
      for (;;) {
        control.signal?.throwIfAborted();
        const end: { id: string } | null = await db.prepare(rangeEndSql(name, from !== null, rowsPerRange)).bind(...(from !== null ? [from] : [])).first<{ id: string }>();
        const to: string | null = end?.id ?? null;
        const bound = [from, to].filter((value): value is string => value !== null);
        const result = await db.prepare(publishSql(destination, name, { from: from !== null, to: to !== null })).bind(...bound).run();
        await control.written?.(result.meta.changes);
        if (to === null) break;
        from = to;
      }
      await db.prepare(`DROP TABLE IF EXISTS ${quoteName(name)}`).run();
    },
    async discard() {
      await db.prepare(`DROP TABLE IF EXISTS ${quoteName(name)}`).run();
    },
  };
}
