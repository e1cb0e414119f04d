/**
 * `pipeline migration <name>`, in plain Node against copies of migrations/: it writes the next-numbered
 * migration that makes a pipeline's D1 table what its definition declares (the table as the migrations
 * before it make it, read from an empty SQLite), writes nothing when nothing differs or with --dry-run,
 * and refuses a pipeline that is unknown or writes no D1 table, and a migrations folder that does not apply.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cli } from "./run-cli";
import { EXIT } from "../../src/cli/exit-codes";
import { migrationFor, migrationText } from "../../src/destinations/d1/schema-diff";
import { columnSettings } from "../../src/engine/columns";

const ROOT = join(import.meta.dirname, "../..");
const SHIPPED = readdirSync(join(ROOT, "migrations")).filter((file) => file.endsWith(".sql")).sort();



const folders: string[] = [];
/** A migrations folder with these of the shipped files, and any others given. */
function folder(shipped: readonly string[], others: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "migrations-"));
  folders.push(dir);
  for (const file of shipped) cpSync(join(ROOT, "migrations", file), join(dir, file));
  for (const [file, text] of Object.entries(others)) writeFileSync(join(dir, file), text);
  return dir;
}
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("pipeline migration", () => {
  it("writes nothing for a pipeline whose table the migrations already make as declared, and says so", async () => {
    const dir = folder(SHIPPED);
    for (const pipeline of ["default", "orders", "orders-daily", "store-drops"]) {
      const result = await cli(["migration", pipeline, "--dir", dir]);
      expect(result).toMatchObject({ code: EXIT.ok, stderr: "" });
      expect(result.stdout).toMatch(/matches the definition; nothing to write\.\n$/);
    }
    expect(readdirSync(dir).sort()).toEqual(SHIPPED);
  });

  it("writes the CREATE TABLE of a table no migration makes, numbered after the last one", async () => {
    const dir = folder(SHIPPED.filter((file) => !file.startsWith("0003") && !file.startsWith("0004")));
    const result = await cli(["migration", "orders", "--dir", dir]);
    expect(result.code).toBe(EXIT.ok);
    const written = join(dir, "0008_orders.sql");
    const sql = readFileSync(written, "utf8");
    expect(sql).toContain("CREATE TABLE orders (\n  store_id          TEXT    NOT NULL,\n  order_id          TEXT    NOT NULL,\n");
    expect(sql).toContain("  position          INTEGER,\n  PRIMARY KEY (store_id, order_id)\n);\n");
    expect(result.stdout).toBe(
      [
        `orders: the table orders, as ${join(dir, "*.sql")} make it (0001_metrics.sql … 0007_customers.sql), differs from the definition:`,
        "  the table orders does not exist",
        `wrote ${written}:`,
        "",
        sql.trimEnd(),
        "",
        "Apply it: npm run db:migrate:local (npm run dev does too); npm run deploy applies it to the deployed database.",
        "",
      ].join("\n"),
    );
    // Run again, it has nothing left to do.
    expect((await cli(["migration", "orders", "--dir", dir])).stdout).toContain("matches the definition; nothing to write.");
  });

  it("writes the ALTERs for a changed table, or with --dry-run only prints them", async () => {
    const drift = "ALTER TABLE orders_daily DROP COLUMN currency;\nALTER TABLE orders_daily ADD COLUMN legacy TEXT;\n";
    const dir = folder(SHIPPED, { "0007_drift.sql": drift });
    const dry = await cli(["migration", "orders-daily", "--dir", dir, "--dry-run"]);
    expect(dry.code).toBe(EXIT.ok);
    expect(dry.stdout).toContain("  column currency is missing (text)\n  column legacy is not in the definition\n");
    expect(dry.stdout).toContain(`would write ${join(dir, "0008_orders_daily_columns.sql")} (--dry-run: nothing written):`);
    expect(dry.stdout).toContain("ALTER TABLE orders_daily ADD COLUMN currency TEXT;\nALTER TABLE orders_daily DROP COLUMN legacy;\n");
    expect(readdirSync(dir)).not.toContain("0008_orders_daily_columns.sql");
    const json = await cli(["--json", "migration", "orders-daily", "--dir", dir]);
    expect(JSON.parse(json.stdout)).toMatchObject({ pipeline: "orders-daily", table: "orders_daily", differences: ["column currency is missing (text)", "column legacy is not in the definition"], path: join(dir, "0008_orders_daily_columns.sql"), written: true });
    expect(readFileSync(join(dir, "0008_orders_daily_columns.sql"), "utf8")).toBe(JSON.parse(json.stdout).sql);
  });

  it("rebuilds a table whose column changed type, keeping the migration's CHECKs and index", async () => {
    const dir = folder(SHIPPED, { "0007_text_amounts.sql": "ALTER TABLE orders DROP COLUMN net_cents;\nALTER TABLE orders ADD COLUMN net_cents TEXT;\n" });
    const result = await cli(["migration", "orders", "--dir", dir]);
    expect(result.code).toBe(EXIT.ok);
    const sql = readFileSync(join(dir, "0008_orders_rebuild.sql"), "utf8");
    expect(sql).toContain("  kind              TEXT    NOT NULL CHECK (kind IN ('sale', 'refund')),\n");
    expect(sql).toContain("  net_cents         INTEGER,\n");
    expect(sql).toContain("DROP TABLE orders;\nALTER TABLE orders_new RENAME TO orders;\nCREATE INDEX orders_by_day ON orders (order_day);\n");
  });

  it("writes a PostgreSQL table's CREATE TABLE into migrations/postgres/, once, with the psql line that applies it", async () => {
    const dir = folder(SHIPPED);
    const result = await cli(["migration", "orders-to-postgres", "--dir", dir]);
    expect(result.code).toBe(EXIT.ok);
    const written = join(dir, "postgres", "public.orders.sql");
    const sql = readFileSync(written, "utf8");
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "public"."orders" (\n  "store_id" text NOT NULL,');
    expect(sql).toContain('  "ordered_at" timestamp with time zone NOT NULL,');
    expect(sql).toContain('  "amount_cents" bigint NOT NULL,');
    expect(sql).toContain('  "position" bigint,\n  PRIMARY KEY ("store_id", "order_id")\n);\n');
    expect(result.stdout).toContain(`orders-to-postgres: PostgreSQL table public.orders (${written} does not exist yet):`);
    expect(result.stdout).toContain(`Apply it: psql "$DATABASE_URL" -f ${written}`);
    // The D1 migrations are left alone, and a second run finds nothing to write.
    expect(readdirSync(dir).filter((file) => file.endsWith(".sql")).sort()).toEqual(SHIPPED);
    const again = await cli(["migration", "orders-to-postgres", "--dir", dir]);
    expect(again.stdout).toMatch(/^orders-to-postgres: the PostgreSQL table public\.orders's DDL is up to date; nothing to write\./);
  });

  it("refuses a pipeline that writes no D1 table, one that does not exist, and migrations that do not apply", async () => {
    const dir = folder(SHIPPED);
    expect(await cli(["migration", "orders-lake", "--dir", dir])).toEqual({
      code: EXIT.usage,
      stdout: "",
      stderr: "error: pipeline orders-lake's destination is r2-parquet, not a table: only a D1 or PostgreSQL table has migrations (a dataset's files carry their own schema)\n",
    });
    expect(await cli(["migration", "nowhere", "--dir", dir])).toMatchObject({ code: EXIT.usage, stderr: "error: no pipeline nowhere in src/pipelines/index.ts (pipelines: default, orders, orders-daily, store-drops, orders-lake, orders-to-postgres, customers)\n" });
    expect(await cli(["migration", "orders", "--dir", join(dir, "missing")])).toMatchObject({ code: EXIT.usage, stderr: expect.stringContaining("cannot read the migrations folder") });
    const broken = folder(SHIPPED, { "0007_typo.sql": "ALTER TABLE nowhere ADD COLUMN x TEXT;" });
    expect(await cli(["migration", "orders", "--dir", broken])).toMatchObject({
      code: EXIT.failed,
      stderr: `error: ${join(broken, "0007_typo.sql")} does not apply to an empty SQLite database after the migrations before it: no such table: nowhere\n`,
    });
  });
});

describe("the README's new pipeline", () => {
  it("shows the migration the command writes for it (its heading comment left out)", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const shown = /<!-- example: file migrations\/0008_signups\.sql -->\n```sql\n([\s\S]*?)```/.exec(readme)?.[1];
    const signups = { table: "signups", key: ["email"], columns: columnSettings({ email: "text", plan: "text", created_at: "text", paid: "integer" }) };
    expect(readme).toContain('columns: { email: "text", plan: "text", created_at: "text", paid: "integer" },');
    const written = migrationText(migrationFor(signups, { table: "signups", columns: [], sql: null, indexes: [] }, "signups")!);
    expect(shown).toBe(written.replace(/^(--.*\n)+/, ""));
  });
});
