import { StageFailure } from "../../domain/failures";
import { BOOKKEEPING_COLUMNS } from "../../engine/columns";
import { idOf, positionOf, type StagedRow } from "../../engine/staged-row";
import type { PostgresClient } from "../../sources/postgres/client";
import type { WriteControl, WrittenChunk } from "../kind";
import { postgresType, quoted, tableName, type PostgresType } from "./ddl";
import type { PostgresDestination } from "./settings";

/**
 * A chunk of a run's rows written into a PostgreSQL table in one transaction: `INSERT … SELECT … FROM
 * unnest($3::text[], $4::bigint[], …) ON CONFLICT (key) DO UPDATE`, one bound array a column (of the type
 * SENT_AS gives the column), $1 the run id and $2 the load time. A chunk is either all in the table or
 * not at all, so a retried or resumed load writes each chunk again whole, and rewriting a row with the
 * same run and position changes nothing.
 *
 * Arrays, not a VALUES list of one parameter a value: PostgreSQL parses and plans a statement of a dozen
 * parameters instead of one of 12,000. Loading a million orders (scripts/bench.ts, two runs of each on
 * one machine), its CPU fell from 24–25 s to 13–15 s and the load from 49–52 s to 23–26 s. node-postgres
 * writes each JS array as an array literal, every element double-quoted with `\` and `"` escaped and null
 * as NULL, so text and JSON arrive exactly as they are (test/postgres/round-trip.test.ts).
 *
 * One statement may not touch a key twice (PostgreSQL refuses: "ON CONFLICT DO UPDATE command cannot
 * affect row a second time"), so a chunk's repeats of a key are settled before it is sent: with
 * "last-wins" the last occurrence goes, with "reject" the first, and the others are duplicates. Across
 * chunks and attempts, "reject" guards the update (a row another record of this run wrote stays) and
 * reads back which rows it wrote (RETURNING), so it knows exactly which rows it did not.
 */

/**
 * Rows a statement. Arrays are not bound by PostgreSQL's 65,535 parameters, so this is what measured
 * fastest: the load of 200,000 orders in 20,000-row chunks (scripts/bench.ts, BENCH_PG_RECORDS=200000,
 * runs alternating on a shared 2-core machine) took 4.1–4.2 s at 5,000 rows a statement (5.9 s once, on
 * a busier machine), 4.5–6.5 s at 1,000 and 4.4–7.9 s at the whole chunk, and PostgreSQL's CPU was the
 * lowest at 5,000 in every round (2.6–3.0 s, against 2.8–3.3 s for the others). Statements of a quarter
 * chunk also let a cancel stop a chunk between them, and keep each well inside `timeoutMs`.
 */
export const ROWS_PER_STATEMENT = 5_000;

/**
 * The element type of the array a column is sent in: the type it is stored as, except where the table may
 * keep it in another type the shape check accepts (shape.ts) and the cast to that one would change the
 * value. A double precision array cast to numeric keeps 15 digits (0.30000000000000004 becomes 0.3), a
 * jsonb array cast to json rewrites the text; numeric and json take the text exactly, and their casts to
 * double precision and jsonb read it as a parameter of that type would.
 */
const SENT_AS: Record<PostgresType, string> = { text: "text", bigint: "bigint", "double precision": "numeric", boolean: "boolean", "timestamp with time zone": "timestamptz", jsonb: "json" };

const arrayOf = (destination: PostgresDestination, column: PostgresDestination["columns"][number], place: number) => `$${place}::${SENT_AS[postgresType(destination, column)]}[]`;

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

/**
 * The upsert: $1 is the run id, $2 the load time, then one array a column in the definition's order and
 * the rows' positions last. The same text for every statement of a destination, whatever its rows.
 */
function upsertSql(destination: PostgresDestination): string {
  const own = destination.columns.map((column) => column.name);
  const names = [...own, ...BOOKKEEPING_COLUMNS];
  const table = tableName(destination);
  // The arrays' columns are named by place (v.c0, v.c1, …, v.p), so no column's name can clash with them.
  const arrays = [...destination.columns.map((column, index) => arrayOf(destination, column, index + 3)), `$${own.length + 3}::bigint[]`];
  const aliases = [...own.map((_, index) => `c${index}`), "p"];
  const selected = [...own.map((_, index) => `v.c${index}`), "$1::text", "$2::bigint", "v.p"];
  const updates = names.filter((name) => !destination.key.includes(name)).map((name) => `${quoted(name)}=EXCLUDED.${quoted(name)}`);
  // "reject": a row another record of this run holds stays; the same record again (a retry) is rewritten.
  const guard = destination.duplicates === "reject" ? ` WHERE ${table}."run_id" IS DISTINCT FROM EXCLUDED."run_id" OR ${table}."position" = EXCLUDED."position" RETURNING "position"` : "";
  const update = updates.length > 0 ? `DO UPDATE SET ${updates.join(",")}${guard}` : destination.duplicates === "reject" ? `DO NOTHING RETURNING "position"` : "DO NOTHING";
  return `INSERT INTO ${table} (${names.map(quoted).join(",")}) SELECT ${selected.join(",")} FROM unnest(${arrays.join(",")}) AS v(${aliases.join(",")}) ON CONFLICT (${destination.key.map(quoted).join(",")}) ${update}`;
}

/** The statement's values for `rows`: the run id, the load time, each column's values as one array, the positions. */
function upsertValues(destination: PostgresDestination, runId: string, loadedAt: number, rows: readonly StagedRow[]): unknown[] {
  const values: unknown[] = [runId, Math.trunc(loadedAt)];
  // null and undefined elements are both NULL in the array node-postgres writes.
  for (let index = 0; index < destination.columns.length; index += 1) values.push(rows.map((row) => row[index + 2]));
  values.push(rows.map((row) => Math.trunc(positionOf(row))));
  return values;
}

/** Writes one chunk in one transaction; says which of its rows were duplicates of an earlier record of the run. */
export async function writeChunk(client: PostgresClient, destination: PostgresDestination, runId: string, loadedAt: number, rows: readonly StagedRow[], control: WriteControl): Promise<WrittenChunk> {
  const problem = valueProblem(destination, rows);
  if (problem) throw new StageFailure(problem, "permanent");
  const { sent, repeats } = settleRepeats(destination, rows);
  const sql = upsertSql(destination);
  const written = new Set<number>();
  const duplicates = await client.transaction("read write", async () => {
    for (let start = 0; start < sent.length; start += ROWS_PER_STATEMENT) {
      control.signal?.throwIfAborted();
      const result = await client.query<{ position: string | number }>(sql, upsertValues(destination, runId, loadedAt, sent.slice(start, start + ROWS_PER_STATEMENT)));
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
 * Which record of this run holds each unwritten row's key. Matched by the row's place in the lookup (its
 * ordinality in the arrays), not by comparing values read back (a timestamp reads back in another
 * spelling). Every unwritten row must be a duplicate of another record of this run; anything else would
 * be a record lost unseen, so the load fails rather than guess.
 */
async function holdersOf(client: PostgresClient, destination: PostgresDestination, runId: string, rows: readonly StagedRow[]): Promise<WrittenChunk["duplicates"]> {
  const keyColumns = destination.key.map((name) => destination.columns.find((column) => column.name === name)!);
  const keyIndexes = keyColumns.map((column) => destination.columns.indexOf(column) + 2);
  const names = keyColumns.map((column) => quoted(column.name));
  const arrays = keyColumns.map((column, index) => arrayOf(destination, column, index + 1));
  // The lookup's own columns are named by place (v.k0, v.k1, v.i), so no key column's name can clash with them.
  const sql = `SELECT (v.i - 1)::integer AS i, t."run_id", t."position" FROM unnest(${arrays.join(",")}) WITH ORDINALITY AS v(${names.map((_, index) => `k${index}`).join(",")},i) JOIN ${tableName(destination)} AS t ON ${names.map((name, index) => `t.${name} = v.k${index}`).join(" AND ")}`;
  const duplicates: WrittenChunk["duplicates"] = [];
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const slice = rows.slice(start, start + ROWS_PER_STATEMENT);
    const { rows: found } = await client.query<{ i: number; run_id: string; position: string | number | null }>(
      sql,
      keyIndexes.map((column) => slice.map((row) => row[column])),
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
