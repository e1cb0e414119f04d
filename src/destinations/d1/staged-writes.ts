import { BOOKKEEPING_COLUMNS } from "../../engine/columns";
import type { StagedWrites, WriteControl } from "../kind";
import type { D1Destination } from "./settings";
import { createTableSql } from "./table-ddl";
import { loadRowsOnce, upsertRows } from "./writes";

/** Rows moved into the destination by one statement when a staged load is published. */
export const PUBLISH_ROWS = 50_000;

const quoteName = (name: string) => `"${name}"`;

/** The table a run's rows wait in, beside the destination in the same database (run ids are ours: letters, digits, `.:_-`). */
export function stagedTableName(table: string, runId: string): string {
  return `_staged_${table}_${runId.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/**
 * The destination's own CREATE TABLE with another name, so the waiting rows meet every constraint the
 * destination has (its CHECKs too) when they are written, not when they are published. Without a row id
 * the publishing could not go in ranges, so WITHOUT ROWID is left off (nothing else depends on it).
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

/** INSERT … SELECT of one range of the waiting rows into the destination, as an upsert on the key. */
export function publishSql(destination: D1Destination, staged: string): string {
  const names = [...destination.columns.map((column) => column.name), ...BOOKKEEPING_COLUMNS];
  const list = names.map(quoteName).join(",");
  const updates = names.filter((name) => !destination.key.includes(name)).map((name) => `${quoteName(name)}=excluded.${quoteName(name)}`);
  return `INSERT INTO ${quoteName(destination.table)} (${list}) SELECT ${list} FROM ${quoteName(staged)} WHERE rowid > ? AND rowid <= ? ON CONFLICT (${destination.key.map(quoteName).join(",")}) DO UPDATE SET ${updates.join(",")}`;
}

/**
 * A run's rows held in a table of their own beside the destination (see StagedWrites). Written through
 * the same upserts as the destination (duplicates are found there the same way: every row in it is this
 * run's), published with INSERT … SELECT in ranges of row ids, each an upsert on the key, so publishing
 * again after a crash part way rewrites the same rows; the table is dropped once all of it is in.
 */
export function d1StagedWrites(db: D1Database, destination: D1Destination, runId: string, loadedAt: number): StagedWrites {
  const name = stagedTableName(destination.table, runId);
  const staged: D1Destination = { ...destination, table: name };
  return {
    async open() {
      const found = await db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").bind(destination.table).first<{ sql: string }>();
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
      const last = await db.prepare(`SELECT max(rowid) AS last FROM ${quoteName(name)}`).first<{ last: number | null }>();
      const statement = db.prepare(publishSql(destination, name));
      for (let from = 0; from < (last?.last ?? 0); from += PUBLISH_ROWS) {
        control.signal?.throwIfAborted();
        const result = await statement.bind(from, from + PUBLISH_ROWS).run();
        await control.written?.(result.meta.changes);
      }
      await db.prepare(`DROP TABLE IF EXISTS ${quoteName(name)}`).run();
    },
    async discard() {
      await db.prepare(`DROP TABLE IF EXISTS ${quoteName(name)}`).run();
    },
  };
}
