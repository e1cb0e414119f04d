import { StageFailure } from "../../domain/failures";
import { BOOKKEEPING_COLUMNS } from "../../engine/columns";
import { idOf, positionOf, type StagedRow } from "../../engine/staged-row";
import type { PostgresClient } from "../../sources/postgres/client";
import type { WriteControl, WrittenChunk } from "../kind";
import { postgresType, quoted, tableName } from "./ddl";
import type { PostgresDestination } from "./settings";

/**
 * A chunk of a run's rows written into a PostgreSQL table in one transaction: multi-row
 * `INSERT … ON CONFLICT (key) DO UPDATE`, every value a bound parameter. A chunk is either all in the
 * table or not at all, so a retried or resumed load writes each chunk again whole, and rewriting a row
 * with the same run and position changes nothing.
 *
 * One statement may not touch a key twice (PostgreSQL refuses: "ON CONFLICT DO UPDATE command cannot
 * affect row a second time"), so a chunk's repeats of a key are settled before it is sent: with
 * "last-wins" the last occurrence goes, with "reject" the first, and the others are duplicates. Across
 * chunks and attempts, "reject" guards the update (a row another record of this run wrote stays) and
 * reads back which rows it wrote (RETURNING), so it knows exactly which rows it did not.
 */

/** PostgreSQL binds at most 65,535 values a statement; rows per statement stay well under that. */
const MAX_BOUND = 60_000;
const MAX_ROWS_PER_STATEMENT = 1_000;

export function rowsPerStatement(destination: Pick<PostgresDestination, "columns">): number {
  return Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(MAX_BOUND / (destination.columns.length + 1))));
}

/** A value PostgreSQL cannot store as it came fails the load before anything of its chunk is sent. */
function valueProblem(destination: PostgresDestination, rows: readonly StagedRow[]): string | null {
  for (const row of rows) {
    for (let index = 0; index < destination.columns.length; index += 1) {
      const value = row[index + 2];
      if (typeof value !== "string") continue;
      const column = destination.columns[index]!;
      const where = `record ${JSON.stringify(idOf(row))} (position ${positionOf(row)}): column ${column.name}`;
      // An instant before year 1 (ISO 8601 allows 0000 and signed years; PostgreSQL has no year 0).
      if (column.type === "timestamp" && !/^\d{4}-/.test(value)) return `${where} is ${value}, before the year 1, which PostgreSQL timestamps do not have`;
      if (column.type === "timestamp" && value.startsWith("0000-")) return `${where} is ${value}, in the year 0, which PostgreSQL timestamps do not have`;
      if (value.includes("\0")) return `${where} holds a NUL character (U+0000), which PostgreSQL text cannot store; remove it in the transform (value.replaceAll("\\0", ""))`;
      if (destination.jsonb.includes(column.name)) {
        try {
          JSON.parse(value);
        } catch {
          return `${where} is stored as jsonb but is not JSON text (${JSON.stringify(value.slice(0, 60))}); give it JSON.stringify(value)`;
        }
        if (value.includes("\\u0000")) return `${where} holds \\u0000 in its JSON, which PostgreSQL jsonb cannot store`;
      }
    }
  }
  return null;
}

/** The rows a chunk sends (one per key), and the ones it holds back as repeats of a key it sends. */
function settleRepeats(destination: PostgresDestination, rows: readonly StagedRow[]): { sent: StagedRow[]; repeats: StagedRow[] } {
  const keyIndexes = destination.key.map((name) => destination.columns.findIndex((column) => column.name === name) + 2);
  const keyOf = (row: StagedRow) => JSON.stringify(keyIndexes.map((index) => row[index]));
  const chosen = new Map<string, StagedRow>();
  const repeats: StagedRow[] = [];
  for (const row of rows) {
    const key = keyOf(row);
    const earlier = chosen.get(key);
    if (earlier === undefined) chosen.set(key, row);
    else if (destination.duplicates === "reject") repeats.push(row);
    else {
      repeats.push(earlier);
      chosen.set(key, row);
    }
  }
  return { sent: [...chosen.values()].sort((a, b) => positionOf(a) - positionOf(b)), repeats };
}

/** The upsert for `count` rows: $1 is the run id and $2 the load time, each row's values and position after. */
function upsertSql(destination: PostgresDestination, count: number): string {
  const own = destination.columns.map((column) => column.name);
  const names = [...own, ...BOOKKEEPING_COLUMNS];
  const table = tableName(destination);
  const width = own.length + 1;
  const tuples: string[] = [];
  for (let row = 0; row < count; row += 1) {
    const base = 3 + row * width;
    tuples.push(`(${own.map((_, index) => `$${base + index}`).join(",")},$1,$2,$${base + own.length})`);
  }
  const updates = names.filter((name) => !destination.key.includes(name)).map((name) => `${quoted(name)}=EXCLUDED.${quoted(name)}`);
  // "reject": a row another record of this run holds stays; the same record again (a retry) is rewritten.
  const guard = destination.duplicates === "reject" ? ` WHERE ${table}."run_id" IS DISTINCT FROM EXCLUDED."run_id" OR ${table}."position" = EXCLUDED."position" RETURNING "position"` : "";
  const update = updates.length > 0 ? `DO UPDATE SET ${updates.join(",")}${guard}` : destination.duplicates === "reject" ? `DO NOTHING RETURNING "position"` : "DO NOTHING";
  return `INSERT INTO ${table} (${names.map(quoted).join(",")}) VALUES ${tuples.join(",")} ON CONFLICT (${destination.key.map(quoted).join(",")}) ${update}`;
}

/** Writes one chunk in one transaction; says which of its rows were duplicates of an earlier record of the run. */
export async function writeChunk(client: PostgresClient, destination: PostgresDestination, runId: string, loadedAt: number, rows: readonly StagedRow[], control: WriteControl): Promise<WrittenChunk> {
  const problem = valueProblem(destination, rows);
  if (problem) throw new StageFailure(problem, "permanent");
  const { sent, repeats } = settleRepeats(destination, rows);
  const perStatement = rowsPerStatement(destination);
  const written = new Set<number>();
  const duplicates = await client.transaction("read write", async () => {
    for (let start = 0; start < sent.length; start += perStatement) {
      control.signal?.throwIfAborted();
      const slice = sent.slice(start, start + perStatement);
      const values: unknown[] = [runId, Math.trunc(loadedAt)];
      for (const row of slice) values.push(...row.slice(2), Math.trunc(positionOf(row)));
      const result = await client.query<{ position: string | number }>(upsertSql(destination, slice.length), values);
      for (const returned of result.rows) written.add(Number(returned.position));
    }
    if (destination.duplicates !== "reject") return [];
    const unwritten = [...repeats, ...sent.filter((row) => !written.has(positionOf(row)))];
    return unwritten.length === 0 ? [] : holdersOf(client, destination, runId, unwritten);
  });
  const loaded = destination.duplicates === "reject" ? rows.length - duplicates.length : rows.length;
  await control.written?.(loaded);
  return { loaded, duplicates };
}

/**
 * Which record of this run holds each unwritten row's key. Matched by the row's place in the lookup, not
 * by comparing values read back (a timestamp reads back in another spelling). Every unwritten row must
 * be a duplicate of another record of this run; anything else would be a record lost unseen, so the load
 * fails rather than guess.
 */
async function holdersOf(client: PostgresClient, destination: PostgresDestination, runId: string, rows: readonly StagedRow[]): Promise<WrittenChunk["duplicates"]> {
  const keyColumns = destination.key.map((name) => destination.columns.find((column) => column.name === name)!);
  const keyIndexes = keyColumns.map((column) => destination.columns.indexOf(column) + 2);
  const perLookup = Math.floor(MAX_BOUND / (keyColumns.length + 1));
  const duplicates: WrittenChunk["duplicates"] = [];
  for (let start = 0; start < rows.length; start += perLookup) {
    const slice = rows.slice(start, start + perLookup);
    const values: unknown[] = [];
    const tuples = slice.map((row, index) => {
      const base = values.length + 1;
      values.push(index, ...keyIndexes.map((column) => row[column]));
      return `($${base}::integer,${keyColumns.map((column, offset) => `$${base + 1 + offset}::${postgresType(destination, column)}`).join(",")})`;
    });
    const names = keyColumns.map((column) => quoted(column.name));
    const { rows: found } = await client.query<{ i: number; run_id: string; position: string | number | null }>(
      // The lookup's own columns are named by place (v.k0, v.k1), so no key column's name can clash with them.
      `SELECT v.i, t."run_id", t."position" FROM (VALUES ${tuples.join(",")}) AS v(i,${names.map((_, index) => `k${index}`).join(",")}) JOIN ${tableName(destination)} AS t ON ${names.map((name, index) => `t.${name} = v.k${index}`).join(" AND ")}`,
      values,
    );
    const holders = new Map(found.map((holder) => [holder.i, holder]));
    slice.forEach((row, index) => {
      const holder = holders.get(index);
      const first = holder?.position === null || holder?.position === undefined ? null : Number(holder.position);
      if (!holder || holder.run_id !== runId || first === null || first === positionOf(row)) {
        throw new StageFailure(
          `PostgreSQL left record ${JSON.stringify(idOf(row))} (position ${positionOf(row)}) unwritten, but no other record of this run holds its key in ${destination.schema}.${destination.table}${holder ? ` (run ${holder.run_id} does)` : ""}; a trigger or rule on the table may be changing the rows`,
          "permanent",
        );
      }
      duplicates.push({ row, first });
    });
  }
  return duplicates.sort((a, b) => positionOf(a.row) - positionOf(b.row));
}

/** How many rows of the table this run wrote: what a failed or cancelled run reports as loaded. */
export async function rowsOfRun(client: PostgresClient, destination: PostgresDestination, runId: string): Promise<number> {
  const { rows } = await client.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${tableName(destination)} WHERE "run_id" = $1`, [runId]);
  return Number(rows[0]?.n ?? 0);
}
