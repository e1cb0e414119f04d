import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { postgresDestination } from "../../src/destinations/postgres";
import { createTableSql } from "../../src/destinations/postgres/ddl";
import { ROWS_PER_STATEMENT } from "../../src/destinations/postgres/upsert";
import { stagedRow, type StagedRow } from "../../src/engine/staged-row";
import { control, destination, failureOf, rowsOfRun, sql, writer } from "./support";

const ORDER = { order_id: "text", amount: "real", items: "integer", paid: "boolean", ordered_at: "timestamp", note: { type: "text", nullable: true } } as const;

const row = (position: number, id: string, amount: number, note: string | null = null): StagedRow => stagedRow(position, id, [id, amount, position + 1, position % 2 === 0, "2026-11-28T09:15:00+01:00", note]);

async function freshOrders(options: { duplicates?: "reject" | "last-wins" } = {}) {
  const settings = destination(ORDER, { key: ["order_id"], ...options });
  await sql(createTableSql(settings));
  return settings;
}

describe("the PostgreSQL destination", () => {
  it("upserts a chunk in one transaction, every value bound, and a later run replaces what an earlier one wrote", async () => {
    const settings = await freshOrders();
    const first = await writer(settings, "manual-1").write([row(0, "a", 1.5, "it's \"quoted\"; DROP TABLE x; --"), row(1, "b", 2), row(2, "c", 3)], control());
    expect(first).toEqual({ loaded: 3, duplicates: [] });
    const second = await writer(settings, "manual-2").write([row(0, "b", 20)], control());
    expect(second.loaded).toBe(1);
    const rows = await sql(`SELECT order_id, amount, items, paid, note, run_id, position FROM ${settings.table} ORDER BY order_id`);
    expect(rows).toEqual([
      { order_id: "a", amount: 1.5, items: 1, paid: true, note: "it's \"quoted\"; DROP TABLE x; --", run_id: "manual-1", position: 0 },
      { order_id: "b", amount: 20, items: 1, paid: true, note: null, run_id: "manual-2", position: 0 },
      { order_id: "c", amount: 3, items: 3, paid: true, note: null, run_id: "manual-1", position: 2 },
    ]);
    expect(await rowsOfRun(settings, "manual-1")).toBe(2);
  });

  it("rejects a repeated key with the first record's position, within a chunk and across chunks, and a retried chunk changes nothing", async () => {
    const settings = await freshOrders();
    const load = writer(settings, "manual-dup");
    const chunk1 = [row(0, "a", 1), row(1, "b", 2), row(2, "a", 3)];
    const chunk2 = [row(3, "b", 4), row(4, "c", 5), row(5, "b", 6)];
    const one = await load.write(chunk1, control());
    expect(one.loaded).toBe(2);
    expect(one.duplicates.map((entry) => [entry.row[0], entry.first])).toEqual([[2, 0]]);
    const two = await load.write(chunk2, control());
    expect(two.loaded).toBe(1);
    expect(two.duplicates.map((entry) => [entry.row[0], entry.first])).toEqual([[3, 1], [5, 1]]);
    // The load retried from the start (a new attempt of the stage): the same answer, the same table.
    const again = writer(settings, "manual-dup");
    expect((await again.write(chunk1, control())).duplicates.map((entry) => [entry.row[0], entry.first])).toEqual([[2, 0]]);
    expect((await again.write(chunk2, control())).duplicates.map((entry) => [entry.row[0], entry.first])).toEqual([[3, 1], [5, 1]]);
    expect(await sql(`SELECT order_id, amount, position FROM ${settings.table} ORDER BY order_id`)).toEqual([
      { order_id: "a", amount: 1, position: 0 },
      { order_id: "b", amount: 2, position: 1 },
      { order_id: "c", amount: 5, position: 4 },
    ]);
    expect(await rowsOfRun(settings, "manual-dup")).toBe(3);
  });

  it("keeps the last record of a key with last-wins, and counts every record as loaded", async () => {
    const settings = await freshOrders({ duplicates: "last-wins" });
    const load = writer(settings, "manual-last");
    expect(await load.write([row(0, "a", 1), row(1, "a", 2), row(2, "b", 3)], control())).toEqual({ loaded: 3, duplicates: [] });
    expect(await load.write([row(3, "a", 4)], control())).toEqual({ loaded: 1, duplicates: [] });
    expect(await sql(`SELECT order_id, amount, position FROM ${settings.table} ORDER BY order_id`)).toEqual([
      { order_id: "a", amount: 4, position: 3 },
      { order_id: "b", amount: 3, position: 2 },
    ]);
  });

  it("writes a chunk bigger than one statement as several statements of ROWS_PER_STATEMENT rows, in one transaction", async () => {
    const settings = await freshOrders();
    // A statement trigger counts the INSERT statements and the transactions they ran in.
    await sql(`CREATE TABLE ${settings.table}_statements (tx bigint)`);
    await sql(`CREATE FUNCTION ${settings.table}_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${settings.table}_statements VALUES (txid_current()); RETURN NULL; END $$`);
    await sql(`CREATE TRIGGER counted AFTER INSERT ON ${settings.table} FOR EACH STATEMENT EXECUTE FUNCTION ${settings.table}_count()`);
    const size = 2 * ROWS_PER_STATEMENT + 345;
    const rows = Array.from({ length: size }, (_, index) => row(index, `o-${index}`, index / 4));
    const counted: number[] = [];
    expect((await writer(settings, "manual-big").write(rows, control({ written: (count) => void counted.push(count) }))).loaded).toBe(size);
    expect(counted).toEqual([size]);
    expect(await sql(`SELECT count(*)::int AS statements, count(DISTINCT tx)::int AS transactions FROM ${settings.table}_statements`)).toEqual([{ statements: 3, transactions: 1 }]);
    expect(await sql(`SELECT count(*)::int AS n, sum(amount) AS total FROM ${settings.table}`)).toEqual([{ n: size, total: rows.reduce((sum, entry) => sum + (entry[3] as number), 0) }]);
  });

  it("names every duplicate of a chunk bigger than one statement: repeats of earlier chunks (more than one lookup's worth) and a repeat across its own statements", async () => {
    const settings = await freshOrders();
    const size = 2 * ROWS_PER_STATEMENT + 345;
    const load = writer(settings, "manual-big-dup");
    expect((await load.write(Array.from({ length: size }, (_, index) => row(index, `o-${index}`, 1)), control())).loaded).toBe(size);
    // The second chunk: its first `again` rows repeat keys of the first chunk, its last row the key of its row `again`.
    const again = ROWS_PER_STATEMENT + 10;
    const second = Array.from({ length: size }, (_, index) => row(size + index, index < again ? `o-${index}` : index === size - 1 ? `n-${again}` : `n-${index}`, 2));
    const expected = [...Array.from({ length: again }, (_, index) => [size + index, index]), [2 * size - 1, size + again]];
    const written = await load.write(second, control());
    expect(written.loaded).toBe(size - again - 1);
    expect(written.duplicates.map((entry) => [entry.row[0], entry.first])).toEqual(expected);
    // Retried whole (a new attempt of the stage): the same answer, and the table holds the first record of every key.
    expect((await writer(settings, "manual-big-dup").write(second, control())).duplicates.map((entry) => [entry.row[0], entry.first])).toEqual(expected);
    expect(await sql(`SELECT count(*)::int AS n, sum(amount)::int AS total, count(*) FILTER (WHERE order_id = 'n-${again}' AND position = ${size + again})::int AS kept FROM ${settings.table}`)).toEqual([{ n: 2 * size - again - 1, total: size + (size - again - 1) * 2, kept: 1 }]);
  });

  it("keeps the last record of a key repeated across the statements of one chunk with last-wins", async () => {
    const settings = await freshOrders({ duplicates: "last-wins" });
    const size = ROWS_PER_STATEMENT + 10;
    const rows = Array.from({ length: size }, (_, index) => row(index, index === size - 1 ? "o-0" : `o-${index}`, index));
    expect(await writer(settings, "manual-big-last").write(rows, control())).toEqual({ loaded: size, duplicates: [] });
    expect(await sql(`SELECT count(*)::int AS n, max(amount) FILTER (WHERE order_id = 'o-0') AS amount, max(position) FILTER (WHERE order_id = 'o-0')::int AS position FROM ${settings.table}`)).toEqual([{ n: size - 1, amount: size - 1, position: size - 1 }]);
  });

  it("refuses NUL in text before anything of the chunk is sent, naming the record and the column", async () => {
    const settings = await freshOrders();
    const failure = await failureOf(writer(settings, "manual-nul").write([row(0, "a", 1), row(1, "b", 2, "bad\u0000byte")], control()));
    expect(failure.message).toMatch(/record "b" \(position 1\): column note holds a NUL character/);
    expect(failure.kind).toBe("permanent");
    expect(await rowsOfRun(settings, "manual-nul")).toBe(0);
  });

  it("keeps a chunk whole when the connection is killed in the middle of it: nothing of it is written, the failure is transient, the retry writes each row once", async () => {
    const settings = await freshOrders();
    const load = writer(settings, "manual-kill");
    await load.write([row(0, "a", 1), row(1, "b", 2)], control());
    // The server ends this very connection when it reaches one row of the chunk, mid-statement.
    await sql(`CREATE FUNCTION ${settings.table}_die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.order_id = 'o-1500' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$`);
    await sql(`CREATE TRIGGER die BEFORE INSERT ON ${settings.table} FOR EACH ROW EXECUTE FUNCTION ${settings.table}_die()`);
    const chunk = Array.from({ length: 3_000 }, (_, index) => row(index + 2, `o-${index}`, index));
    const failure = await failureOf(load.write(chunk, control()));
    expect(failure.kind).toBe("transient");
    expect(failure.message).toMatch(/terminat/i);
    expect(await rowsOfRun(settings, "manual-kill")).toBe(2);
    await sql(`DROP TRIGGER die ON ${settings.table}`);
    expect((await writer(settings, "manual-kill").write(chunk, control())).loaded).toBe(3_000);
    expect(await sql(`SELECT count(*)::int AS n, count(DISTINCT order_id)::int AS keys FROM ${settings.table} WHERE run_id = 'manual-kill'`)).toEqual([{ n: 3_002, keys: 3_002 }]);
  });

  it("stops a chunk told to stop part-way with nothing of it written, and counts only what earlier chunks wrote", async () => {
    const settings = await freshOrders();
    const load = writer(settings, "manual-stop");
    await load.write([row(0, "a", 1)], control());
    const stop = new AbortController();
    const chunk = Array.from({ length: 5_000 }, (_, index) => row(index + 1, `o-${index}`, index));
    const writing = load.write(chunk, control({ signal: stop.signal }));
    setTimeout(() => stop.abort(new DOMException("the run was cancelled", "AbortError")), 0);
    const failure = await failureOf(writing);
    expect(failure.name).toBe("AbortError");
    expect(await rowsOfRun(settings, "manual-stop")).toBe(1);
  });

  it("says a table is missing with the SQL that creates it, and fails its writes permanently naming it", async () => {
    const settings = destination(ORDER, { key: ["order_id"], table: "no_such_orders" });
    const context = { env: env as unknown as Record<string, unknown>, pipeline: "orders-to-postgres" };
    const problem = await postgresDestination.verifyShape!(settings as never, context);
    expect(problem).toContain("PostgreSQL table public.no_such_orders does not exist");
    expect(problem).toContain("npm run pipeline -- migration orders-to-postgres");
    expect(problem).toContain('CREATE TABLE IF NOT EXISTS "public"."no_such_orders"');
    const failure = await failureOf(writer(settings, "manual-missing").write([row(0, "a", 1)], control()));
    expect(failure.kind).toBe("permanent");
    expect(failure.message).toMatch(/relation "public"?\.?"?no_such_orders"? does not exist|no_such_orders/);
  });

  it("names each way a table differs from the definition, with the statement that fixes it", async () => {
    const settings = destination(ORDER, { key: ["order_id"] });
    await sql(`CREATE TABLE ${settings.table} (order_id text, amount text NOT NULL, items bigint, paid boolean, note text NOT NULL, extra text NOT NULL, run_id text NOT NULL, loaded_at bigint NOT NULL, position bigint)`);
    const problem = await postgresDestination.verifyShape!(settings as never, { env: env as unknown as Record<string, unknown>, pipeline: "p" });
    expect(problem).toContain("it has no column ordered_at (timestamp with time zone)");
    expect(problem).toContain("column amount is text, the definition stores double precision");
    expect(problem).toContain("column note is NOT NULL, but the definition lets it be null");
    expect(problem).toContain("column extra is NOT NULL without a default");
    expect(problem).toContain("no primary key or unique index on (order_id)");
    // The fixes, run as given, make the table fit.
    for (const statement of problem!.split("Fix it with:\n")[1]!.split("\n")) await sql(statement);
    expect(await postgresDestination.verifyShape!(settings as never, { env: env as unknown as Record<string, unknown>, pipeline: "p" })).toBeNull();
  });

  it("takes a type that would change the values for a difference: varchar(n), numeric(p, s), timestamptz(0); and an index ON CONFLICT cannot use for no key", async () => {
    const settings = destination(ORDER, { key: ["order_id"] });
    await sql(`CREATE TABLE ${settings.table} (order_id varchar(3) NOT NULL, amount numeric(10,2) NOT NULL, items bigint NOT NULL, paid boolean NOT NULL, ordered_at timestamptz(0) NOT NULL, note text, run_id text NOT NULL, loaded_at bigint NOT NULL, position bigint)`);
    await sql(`CREATE UNIQUE INDEX ON ${settings.table} (lower(order_id))`);
    await sql(`CREATE UNIQUE INDEX ON ${settings.table} (order_id) WHERE paid`);
    const problem = await postgresDestination.verifyShape!(settings as never, { env: env as unknown as Record<string, unknown>, pipeline: "p" });
    expect(problem).toContain("column order_id is character varying(3), the definition stores text");
    expect(problem).toContain("column amount is numeric(10, …), the definition stores double precision");
    expect(problem).toContain("column ordered_at is timestamp(0) with time zone, the definition stores timestamp with time zone");
    expect(problem).toContain("no primary key or unique index on (order_id)");
  });

  it("refuses, before any run, a key PostgreSQL would hold differently: nullable, or jsonb", () => {
    expect(() => destination({ id: { type: "text", nullable: true }, n: "integer" }, { key: ["id"] })).toThrow("key column id may be null, which a PostgreSQL primary key cannot hold");
    expect(() => destination({ doc: "text", n: "integer" }, { key: ["doc"], jsonb: ["doc"] })).toThrow("key column doc is stored as jsonb");
  });

  it("names a record whose instant PostgreSQL has no year for", async () => {
    const settings = await freshOrders();
    const early = stagedRow(0, "early", ["early", 1, 1, true, "0000-06-01T00:00:00.000Z", null]);
    const failure = await failureOf(writer(settings, "manual-year").write([early], control()));
    expect(failure.message).toMatch(/record "early" \(position 0\): column ordered_at is 0000-06-01T00:00:00.000Z, in the year 0/);
  });

  it("finds duplicates of a key column named like the lookup's own (i)", async () => {
    const settings = destination({ i: "integer", n: "integer" }, { key: ["i"] });
    await sql(createTableSql(settings));
    const result = await writer(settings, "manual-i").write([stagedRow(0, "a", [1, 1]), stagedRow(1, "b", [2, 2])], control());
    expect(result.loaded).toBe(2);
    const again = await writer(settings, "manual-i").write([stagedRow(2, "c", [1, 3])], control());
    expect(again.duplicates.map((entry) => [entry.row[0], entry.first])).toEqual([[2, 0]]);
  });

  it("fails a constraint violation permanently, naming the table and the constraint", async () => {
    const settings = await freshOrders();
    await sql(`ALTER TABLE ${settings.table} ADD CONSTRAINT positive_amount CHECK (amount > 0)`);
    const failure = await failureOf(writer(settings, "manual-check").write([row(0, "a", 1), row(1, "b", -5)], control()));
    expect(failure.kind).toBe("permanent");
    expect(failure.message).toContain(`table public.${settings.table}`);
    expect(failure.message).toContain("constraint positive_amount");
    expect(await rowsOfRun(settings, "manual-check")).toBe(0);
  });

  it("calls a refused connection transient and never shows the password", async () => {
    const settings = { ...destination(ORDER, { key: ["order_id"], connectWaitMs: 300 }), hyperdrive: "HYPERDRIVE_DOWN" };
    const failure = await failureOf(writer(settings, "manual-down").write([row(0, "a", 1)], control()));
    expect(failure.kind).toBe("transient");
    expect(failure.message).not.toContain("down-password");
    // Tried again for connectWaitMs before giving up: a database that restarts is waited for.
    expect(failure.message).toMatch(/connection attempt failed|cannot connect|proxy request failed/);
  });
});
