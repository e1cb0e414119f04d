/**
 * A D1 table against its definition (src/destinations/d1/schema-diff.ts), on real SQLite (node:sqlite):
 * each kind of difference is named, and only those that break a load block it; the migration made for
 * each is applied and leaves nothing differing, keeps the rows, and carries the old table's CHECK
 * constraints, indexes and options over; the message a load fails with gives that same SQL.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { checkPlace } from "../../src/destinations";
import { affinity, compareShape, migrationFor, migrationSql, migrationText, SHAPE_QUERY, shapeNotes, shapeOf, shapeProblem, sqlName, type DeclaredTable, type ShapeRow } from "../../src/destinations/d1/schema-diff";
import { columnSettings, type Columns } from "../../src/engine/columns";
import { PIPELINES } from "../../src/pipelines";

const MIGRATIONS = join(import.meta.dirname, "../../migrations");

function database(...statements: string[]): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  for (const statement of statements) db.exec(statement);
  return db;
}

const shape = (db: DatabaseSync, table: string) => shapeOf(table, db.prepare(SHAPE_QUERY).all(table, table) as unknown as ShapeRow[]);
const declared = (table: string, key: readonly string[], columns: Columns): DeclaredTable => ({ table, key, columns: columnSettings(columns) });
const texts = (db: DatabaseSync, table: DeclaredTable) => compareShape(table, shape(db, table.table)).map((difference) => [difference.text, difference.blocksLoad]);

/** The table made for `events` below, as its definition declares it. */
const EVENTS = declared("events", ["id"], { id: "text", kind: "text", at: "timestamp", weight: "real", seen: "boolean", note: { type: "text", nullable: true } });
const EVENTS_TABLE = "CREATE TABLE events (id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, weight REAL NOT NULL, seen INTEGER NOT NULL, note TEXT, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (id))";

/** Applies the migration made for `table`, and says what still differs (nothing, if it is right). */
function applied(db: DatabaseSync, table: DeclaredTable): { sql: string; left: string[] } {
  const migration = migrationFor(table, shape(db, table.table), "events")!;
  const sql = migrationText(migration);
  db.exec(sql);
  return { sql, left: compareShape(table, shape(db, table.table)).map((difference) => difference.text) };
}

describe("compareShape", () => {
  it("finds nothing between a shipped pipeline's D1 table, as the migrations make it, and its definition", () => {
    const db = database(...readdirSync(MIGRATIONS).filter((file) => file.endsWith(".sql")).sort().map((file) => readFileSync(join(MIGRATIONS, file), "utf8")));
    const tables = PIPELINES.flatMap((pipeline) => {
      const place = checkPlace(pipeline.destination);
      return place.ok && place.kind.type === "d1" ? [declared((place.declared as { table: string }).table, pipeline.destination.key, pipeline.destination.columns)] : [];
    });
    expect(tables.map((table) => table.table)).toEqual(["metrics", "orders", "orders_daily", "store_drops", "customers"]);
    for (const table of tables) expect(texts(db, table)).toEqual([]);
  });

  it("names each difference, and says which break a load", () => {
    const db = database(
      "CREATE TABLE events (id TEXT, kind VARCHAR(20) NOT NULL, at INTEGER NOT NULL, seen BOOLEAN NOT NULL, note TEXT NOT NULL, legacy TEXT NOT NULL, spare TEXT, flag INTEGER NOT NULL DEFAULT 0, run_id TEXT NOT NULL, loaded_at INTEGER, PRIMARY KEY (id, kind))",
    );
    expect(texts(db, EVENTS)).toEqual([
      ["column at is INTEGER in the table, timestamp (TEXT) in the definition", true],
      ["column weight is missing (real)", true],
      ["column note is NOT NULL in the table, nullable in the definition", true],
      ["column position is missing (the engine's)", true],
      ["column legacy is not in the definition, and is NOT NULL without a default (every insert fails)", true],
      ["column spare is not in the definition", false],
      ["column flag is not in the definition", false],
      ["the table's primary key is (id, kind), the definition's key is (id)", true],
    ]);
  });

  it("compares types by SQLite's affinity, lets a column allow null the definition refuses, and matches names in any case", () => {
    expect(["INT", "BIGINT", "VARCHAR(40)", "CLOB", "", "BLOB", "DOUBLE PRECISION", "FLOAT", "DECIMAL(10,2)", "BOOLEAN", "DATETIME"].map(affinity)).toEqual([
      "INTEGER", "INTEGER", "TEXT", "TEXT", "BLOB", "BLOB", "REAL", "REAL", "NUMERIC", "NUMERIC", "NUMERIC",
    ]);
    // BOOLEAN (NUMERIC affinity) stores 0/1 as INTEGER does; DATETIME keeps ISO text as text (it never looks
    // like a number), so a timestamp fits it; a text column in NUMERIC would turn "1001" into 1001.
    const db = database("CREATE TABLE events (ID varchar(64) PRIMARY KEY, kind NUMERIC, at DATETIME NOT NULL, weight FLOAT NOT NULL, seen BOOLEAN NOT NULL, note TEXT, run_id TEXT, loaded_at BIGINT NOT NULL, position INTEGER)");
    expect(texts(db, EVENTS)).toEqual([["column kind is NUMERIC in the table, text (TEXT) in the definition", true]]);
    db.exec("INSERT INTO events (ID, kind, at, weight, seen, loaded_at) VALUES ('a', 'sale', '2026-11-28T09:15:00.000Z', 1, 1, 0)");
    expect(db.prepare("SELECT typeof(at) AS type FROM events").get()).toEqual({ type: "text" });
    expect(shapeNotes(EVENTS, shape(db, "events"))).toEqual([
      "column kind allows null in the table, not in the definition: that is allowed (the engine writes no null into it); to enforce it in the table too, rebuild the table by hand",
    ]);
  });

  it("says a table that is not there does not exist", () => {
    expect(texts(database(), EVENTS)).toEqual([["the table events does not exist", true]]);
  });
});

describe("migrationFor", () => {
  it("makes nothing when nothing differs", () => {
    expect(migrationFor(EVENTS, shape(database(EVENTS_TABLE), "events"), "events")).toBeNull();
  });

  it("creates a table that is not there, as the hand-written migrations are laid out", () => {
    const signups = declared("signups", ["email"], { email: "text", plan: "text", created_at: "text", paid: "integer" });
    const migration = migrationFor(signups, shape(database(), "signups"), "signups")!;
    expect(migration.name).toBe("signups");
    expect(migrationText(migration)).toBe(
      [
        "-- The signups pipeline's table, from its definition (npm run pipeline -- migration signups): one row per",
        "-- (email). run_id, loaded_at and position are written by the engine on every destination table.",
        "CREATE TABLE signups (",
        "  email      TEXT    NOT NULL,",
        "  plan       TEXT    NOT NULL,",
        "  created_at TEXT    NOT NULL,",
        "  paid       INTEGER NOT NULL,",
        "  run_id     TEXT    NOT NULL,",
        "  loaded_at  INTEGER NOT NULL,",
        "  position   INTEGER,",
        "  PRIMARY KEY (email)",
        ");",
        "",
      ].join("\n"),
    );
    expect(migrationSql(migration)).toBe("CREATE TABLE signups (email TEXT NOT NULL, plan TEXT NOT NULL, created_at TEXT NOT NULL, paid INTEGER NOT NULL, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (email))");
    const db = database(migrationText(migration));
    expect(texts(db, signups)).toEqual([]);
  });

  it("adds and drops columns in place where SQLite can, keeping the rows, the constraints and the indexes", () => {
    const db = database(
      "CREATE TABLE events (id TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('click', 'scroll')), at TEXT NOT NULL, weight REAL NOT NULL, legacy TEXT, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, PRIMARY KEY (id))",
      "CREATE INDEX events_by_kind ON events (kind)",
      "INSERT INTO events VALUES ('e1', 'click', '2026-11-28T00:00:00.000Z', 1.5, 'x', 'run-1', 1)",
    );
    const migration = migrationFor(EVENTS, shape(db, "events"), "events")!;
    expect(migration.name).toBe("events_columns");
    expect(migrationSql(migration)).toBe(
      "ALTER TABLE events ADD COLUMN seen INTEGER; ALTER TABLE events ADD COLUMN note TEXT; ALTER TABLE events ADD COLUMN position INTEGER; ALTER TABLE events DROP COLUMN legacy",
    );
    expect(migration.notes).toEqual([
      "column seen is added allowing null: SQLite adds a NOT NULL column only with a default, and the rows already there have no value for it; the engine writes no null into it",
      "column legacy is dropped, with its values",
    ]);
    expect(applied(db, EVENTS).left).toEqual([]);
    expect(db.prepare("SELECT id, kind, weight, seen FROM events").all()).toEqual([{ id: "e1", kind: "click", weight: 1.5, seen: null }]);
    expect(() => db.exec("INSERT INTO events (id, kind, at, weight, run_id, loaded_at) VALUES ('e2', 'hover', '', 0, 'r', 1)")).toThrow(/CHECK constraint failed/);
    expect(shape(db, "events").indexes.map((index) => index.name)).toEqual(["events_by_kind"]);
    // Only new columns: named after them.
    expect(migrationFor(declared("events", ["id"], { id: "text", kind: "text", at: "timestamp", weight: "real", seen: "boolean", note: { type: "text", nullable: true }, extra: "text" }), shape(db, "events"), "events")!.name).toBe("events_extra");
  });

  it("rebuilds a table whose type, nullability or key changed, copying the rows and carrying CHECKs, indexes and STRICT over", () => {
    const db = database(
      "CREATE TABLE events (id TEXT NOT NULL, kind TEXT NOT NULL CONSTRAINT known_kind CHECK (kind IN ('click', 'scroll')), at INTEGER NOT NULL, weight REAL NOT NULL CHECK (weight >= legacy), seen INTEGER NOT NULL, note TEXT NOT NULL, legacy INTEGER, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (id, kind), CHECK (length(id) > 0)) STRICT",
      "CREATE INDEX events_by_kind ON events (kind, at)",
      "CREATE UNIQUE INDEX events_by_legacy ON events (legacy)",
      "INSERT INTO events VALUES ('e1', 'click', 1764288000000, 2, 1, 'n', 1, 'run-1', 1, 0)",
    );
    const migration = migrationFor(EVENTS, shape(db, "events"), "events")!;
    expect(migration.name).toBe("events_rebuild");
    expect(migration.notes).toEqual([
      "the constraint CHECK (weight >= legacy) of column weight names legacy, which is dropped: not carried over",
      "column legacy is dropped, with its values",
      "index events_by_legacy names legacy, which is dropped: not made again",
    ]);
    expect(migrationSql(migration)).toBe(
      [
        "CREATE TABLE events_new (id TEXT NOT NULL, kind TEXT NOT NULL CONSTRAINT known_kind CHECK (kind IN ('click', 'scroll')), at TEXT NOT NULL, weight REAL NOT NULL, seen INTEGER NOT NULL, note TEXT, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (id), CHECK (length(id) > 0)) STRICT",
        "INSERT INTO events_new (id, kind, at, weight, seen, note, run_id, loaded_at, position) SELECT id, kind, at, weight, seen, note, run_id, loaded_at, position FROM events",
        "DROP TABLE events",
        "ALTER TABLE events_new RENAME TO events",
        "CREATE INDEX events_by_kind ON events (kind, at)",
      ].join("; "),
    );
    const { sql, left } = applied(db, EVENTS);
    expect(left).toEqual([]);
    expect(sql).toContain("-- the key becomes (id): rows that share a value of it make this INSERT fail");
    expect(db.prepare("SELECT id, kind, at, note FROM events").all()).toEqual([{ id: "e1", kind: "click", at: "1764288000000", note: "n" }]);
    expect(shape(db, "events").indexes.map((index) => index.name)).toEqual(["events_by_kind"]);
    expect(shape(db, "events").sql).toMatch(/\) STRICT$/);
  });

  it("rebuilds rather than drops in place a column an index names, and quotes names that are SQL keywords", () => {
    const keyed = declared("events", ["id"], { id: "text", order: "integer" });
    const db = database('CREATE TABLE events (id TEXT NOT NULL PRIMARY KEY, "order" INTEGER NOT NULL, day TEXT, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER)', "CREATE INDEX events_by_day ON events (day)");
    expect(migrationFor(keyed, shape(db, "events"), "events")!.name).toBe("events_rebuild");
    expect(applied(db, keyed).left).toEqual([]);
    expect([sqlName("order"), sqlName("Order"), sqlName("position"), sqlName("a b")]).toEqual(['"order"', '"Order"', "position", '"a b"']);
  });
});

describe("shapeProblem", () => {
  it("lets a load go on into a table that differs only by columns it does not mind", () => {
    const db = database(EVENTS_TABLE, "ALTER TABLE events ADD COLUMN spare TEXT", "ALTER TABLE events ADD COLUMN flag INTEGER NOT NULL DEFAULT 0");
    expect(shapeProblem(EVENTS, shape(db, "events"), "events")).toBeNull();
  });

  it("names each difference and gives the migration's SQL as a command, quoted for the shell", () => {
    const db = database(EVENTS_TABLE.replace("kind TEXT NOT NULL", "kind TEXT NOT NULL CHECK (kind <> 'x')").replace("weight REAL", "weight TEXT"));
    const table = shape(db, "events");
    const sql = migrationSql(migrationFor(EVENTS, table, "events")!);
    expect(shapeProblem(EVENTS, table, "events")).toBe(
      `the D1 table events differs from the definition of pipeline events: column weight is TEXT in the table, real (REAL) in the definition. Make it match: npx wrangler d1 execute DB --local --command '${sql.replaceAll("'", `'\\''`)}' (--remote instead of --local for the deployed database; docs/operating.md, "Recovering a destination"); when the definition changed, npm run pipeline -- migration events writes this as a migration (then npm run db:migrate:local, or npm run deploy)`,
    );
    expect(sql).toContain("CHECK (kind <> 'x')");
  });

  it("tells a table that is not there whether applying the migrations would create it", () => {
    const create = "CREATE TABLE events (id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, weight REAL NOT NULL, seen INTEGER NOT NULL, note TEXT, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (id))";
    const none = shape(database(), "events");
    expect(shapeProblem(EVENTS, none, "events")).toBe(
      `the D1 table events does not exist: apply the migrations (npm run db:migrate:local, or npm run deploy; npm run pipeline -- migration events writes a new pipeline's), or create it: npx wrangler d1 execute DB --local --command '${create}' (--remote instead of --local for the deployed database; docs/operating.md, "Recovering a destination")`,
    );
    expect(shapeProblem(EVENTS, none, "events", { count: 6, newest: "0006_store_drops.sql" })).toMatch(
      /^the D1 table events does not exist, though 6 migrations are recorded as applied \(the newest 0006_store_drops\.sql\), so npm run db:migrate:local will not create it again; create it: npx wrangler/,
    );
  });
});
