/**
 * `npm run pipeline -- migration <name>`: the SQL migration that makes a pipeline's D1 table what its
 * definition declares, written into migrations/. Needs no server: the table as the migrations make it is
 * read by applying migrations/*.sql in order (as wrangler does) to an empty SQLite in memory (node:sqlite),
 * compared with the definition by src/destinations/d1/schema-diff.ts (the same comparison a load makes
 * against the live table), and the migration made is applied there too before it is written, so what is
 * written is known to bring the table to the definition.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { checkPlace } from "../destinations";
import { createTableSql } from "../destinations/postgres/ddl";
import { PostgresDestinationSchema, type PostgresDeclared } from "../destinations/postgres/settings";
import { compareShape, migrationFor, migrationText, SHAPE_QUERY, shapeNotes, shapeOf, type DeclaredTable, type ShapeRow, type TableShape } from "../destinations/d1/schema-diff";
import { columnSettings } from "../engine/columns";
import type { Deployment } from "../engine/deployment";
import { CliError, EXIT } from "./exit-codes.ts";

export interface MigrationPlan {
  pipeline: string;
  table: string;
  /** The migration files applied, in order. */
  applied: string[];
  /** How the migrated table differs from the definition (empty: nothing to write). */
  differences: string[];
  /** What is worth knowing that is not a difference (the migration's own notes are comments in it). */
  notes: string[];
  /** Where the migration goes (or went), and its text; null when nothing differs. */
  path: string | null;
  sql: string | null;
  /** A PostgreSQL table's DDL (applied with psql), not a D1 migration. */
  postgres?: boolean;
}

/** The D1 table a pipeline of the deployment declares; a usage error for one that is unknown or writes elsewhere. */
/** A pipeline's table as its definition declares it; a PostgreSQL table also says where it is. */
export type DeclaredDestination = DeclaredTable & { postgres?: PostgresDeclared };

export function declaredTable(deployment: Deployment, name: string): DeclaredDestination {
  const pipeline = deployment.find(name);
  if (!pipeline) {
    const invalid = deployment.invalidNamed(name);
    if (invalid) throw new CliError(EXIT.failed, `the definition of pipeline ${name} is invalid: ${invalid.errors.join("; ")} (npm run check says more)`);
    const known = [...deployment.all().map((entry) => entry.name), ...deployment.invalid().map((entry) => entry.name)];
    throw new CliError(EXIT.usage, `no pipeline ${name} in src/pipelines/index.ts (pipelines: ${known.join(", ")})`);
  }
  const place = checkPlace(pipeline.destination);
  if (!place.ok) throw new CliError(EXIT.failed, `pipeline ${name}'s destination is invalid: ${place.errors.join("; ")}`);
  if (place.kind.type !== "d1" && place.kind.type !== "postgres") {
    throw new CliError(EXIT.usage, `pipeline ${name}'s destination is ${place.kind.type}, not a table: only a D1 or PostgreSQL table has migrations (a dataset's files carry their own schema)`);
  }
  const { table } = place.declared as { table: string };
  const declared: DeclaredDestination = { table, key: pipeline.destination.key, columns: columnSettings(pipeline.destination.columns) };
  return place.kind.type === "postgres" ? { ...declared, postgres: PostgresDestinationSchema.parse(place.declared) } : declared;
}

/**
 * A PostgreSQL table's DDL, as `migrations/postgres/<schema>.<table>.sql`: the CREATE TABLE its
 * definition needs, to run with psql against the database (the Worker never changes a schema). A table
 * that is there already and differs is named by the load itself, with the ALTER statements that fix it
 * (src/destinations/postgres/shape.ts): only the live database knows its shape.
 */
export async function planPostgresMigration(pipeline: string, declared: DeclaredTable & { postgres: PostgresDeclared }, options: { dir: string; dryRun: boolean }): Promise<MigrationPlan> {
  const { schema, table, jsonb } = declared.postgres;
  const sql = `-- The PostgreSQL table of pipeline ${pipeline} (npm run pipeline -- migration ${pipeline}).\n-- Apply: psql "$DATABASE_URL" -f ${join(options.dir, "postgres", `${schema}.${table}.sql`)}\n${createTableSql({ schema, table, jsonb, key: [...declared.key], columns: [...declared.columns] })}`;
  const path = join(options.dir, "postgres", `${schema}.${table}.sql`);
  const existing = await readFile(path, "utf8").catch(() => null);
  const plan: MigrationPlan = { pipeline, table: `${schema}.${table}`, applied: [], differences: [], notes: [], path: null, sql: null, postgres: true };
  if (existing === sql) return { ...plan, notes: [`${path} already holds this table's DDL; a live table that differs is named by the load, with the ALTER statements that fix it`] };
  if (!options.dryRun) {
    await mkdir(join(options.dir, "postgres"), { recursive: true });
    await writeFile(path, sql);
  }
  return { ...plan, differences: [existing === null ? `${path} does not exist yet` : `${path} was made from an earlier definition`], path, sql };
}

/** The migration a pipeline's table needs, against the migrations in `dir`; written unless `dryRun`. */
export async function planMigration(pipeline: string, declared: DeclaredTable, options: { dir: string; dryRun: boolean }): Promise<MigrationPlan> {
  const files = await migrationFiles(options.dir);
  const db = await migratedDatabase(options.dir, files);
  const shape = readShape(db, declared.table);
  const differences = compareShape(declared, shape);
  const migration = migrationFor(declared, shape, pipeline);
  const plan: MigrationPlan = { pipeline, table: declared.table, applied: files, differences: differences.map((difference) => difference.text), notes: shapeNotes(declared, shape), path: null, sql: null };
  if (!migration) return plan;
  const sql = migrationText(migration);
  // What is written must do what it says: applied after the others, the table matches the definition.
  try {
    db.exec(sql);
  } catch (error) {
    throw new Error(`the migration made for ${declared.table} does not apply after the others (a bug): ${(error as Error).message}\n${sql}`);
  }
  const left = compareShape(declared, readShape(db, declared.table));
  if (left.length > 0) throw new Error(`the migration made for ${declared.table} leaves it differing (a bug): ${left.map((difference) => difference.text).join("; ")}\n${sql}`);
  const next = Math.max(0, ...files.map((file) => Number(/^(\d+)_/.exec(file)?.[1] ?? 0))) + 1;
  const path = join(options.dir, `${String(next).padStart(4, "0")}_${migration.name}.sql`);
  // "wx": never over a file that is there (another migration written meanwhile).
  if (!options.dryRun) await writeFile(path, sql, { flag: "wx" });
  return { ...plan, path, sql };
}

async function migrationFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((file) => file.endsWith(".sql")).sort();
  } catch (error) {
    throw new CliError(EXIT.usage, `cannot read the migrations folder ${dir}: ${(error as Error).message} (run it from the project's root, or give --dir)`);
  }
}

/** An empty SQLite in memory with the migrations applied in order, as a new D1 database gets them. */
async function migratedDatabase(dir: string, files: readonly string[]): Promise<DatabaseSync> {
  const db = new (await sqlite())(":memory:");
  for (const file of files) {
    try {
      db.exec(await readFile(join(dir, file), "utf8"));
    } catch (error) {
      throw new CliError(EXIT.failed, `${join(dir, file)} does not apply to an empty SQLite database after the migrations before it: ${(error as Error).message}`);
    }
  }
  return db;
}

function readShape(db: DatabaseSync, table: string): TableShape {
  return shapeOf(table, db.prepare(SHAPE_QUERY).all(table, table) as unknown as ShapeRow[]);
}

/** node:sqlite (Node 22), loaded only by this command and without Node's "experimental" warning. */
async function sqlite(): Promise<typeof DatabaseSync> {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning instanceof Error ? warning.message : warning).includes("SQLite")) (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return (await import("node:sqlite")).DatabaseSync;
  } catch {
    throw new CliError(EXIT.failed, `the migration command needs Node.js 22 (node:sqlite), not ${process.version}: run it as npm run pipeline -- migration …, which uses the project's Node 22`);
  } finally {
    process.emitWarning = emit;
  }
}

/** What the command prints: what differs, where the migration went, its SQL, and how to apply it. */
export function planLines(plan: MigrationPlan, dir: string, dryRun: boolean): string[] {
  const applied = plan.applied.length === 0 ? "no migrations" : plan.applied.length === 1 ? plan.applied[0]! : `${plan.applied[0]} … ${plan.applied.at(-1)}`;
  const where = plan.postgres ? `the PostgreSQL table ${plan.table}'s DDL` : `the table ${plan.table}, as ${join(dir, "*.sql")} make it (${applied}),`;
  const notes = plan.notes.map((note) => `note: ${note}`);
  if (plan.sql === null) return [`${plan.pipeline}: ${where} ${plan.postgres ? "is up to date" : "matches the definition"}; nothing to write.`, ...notes];
  const lines = plan.postgres
    ? [`${plan.pipeline}: PostgreSQL table ${plan.table} (${plan.differences.join("; ")}):`]
    : [`${plan.pipeline}: ${where} differs from the definition:`, ...plan.differences.map((difference) => `  ${difference}`)];
  lines.push(dryRun ? `would write ${plan.path} (--dry-run: nothing written):` : `wrote ${plan.path}:`, "", plan.sql.trimEnd(), "");
  if (!dryRun && plan.postgres) lines.push(`Apply it: psql "$DATABASE_URL" -f ${plan.path} (the database the Hyperdrive binding reaches; docs/postgres.md).`);
  else if (!dryRun) lines.push("Apply it: npm run db:migrate:local (npm run dev does too); npm run deploy applies it to the deployed database.");
  return [...lines, ...notes];
}
