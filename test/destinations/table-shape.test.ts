/**
 * A load compares its D1 table's actual shape with the definition before the first row: a table that
 * differs (a column of another type, one the definition does not fill, another primary key) fails the
 * run permanently, with no retry and nothing written, naming each difference and the migration that
 * fixes it; running that migration's SQL and retrying the run loads it. Columns the definition does not
 * know and the load does not mind (nullable, or with a default) let it load.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { migrationFor, migrationSql } from "../../src/destinations/d1/schema-diff";
import { tableShape } from "../../src/destinations/d1/writes";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { columnSettings } from "../../src/engine/columns";
import { apiJson, finished, uniqueName } from "../support/runtime";
import { pipelineNamed } from "../support/settings";
import { events } from "../support/test-pipelines";

/** A copy of the test events pipeline loading into its own table, made by `create` (given the table's name). */
async function eventsInto(create: (table: string) => string) {
  const name = uniqueName("shape");
  const table = `shape_${name.replaceAll("-", "_")}`;
  pipelineNamed(name, { ...events, name, destination: { ...events.destination, table } } as Pipeline);
  await env.DB.exec(create(table));
  return { name, table, declared: { table, key: events.destination.key, columns: columnSettings(events.destination.columns) } };
}

const trigger = async (name: string) => (await apiJson(`/api/pipelines/${name}/trigger?wait=true`, { method: "POST" })).body.run;
const rowsIn = async (table: string) => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

describe("a load into a D1 table that differs from the definition", () => {
  it("fails for good before writing a row, naming each difference and the migration; with that migration run, its retry loads", async () => {
    const { name, table, declared } = await eventsInto(
      (table) => `CREATE TABLE ${table} (event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, at TEXT NOT NULL, weight REAL NOT NULL, source TEXT NOT NULL, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER)`,
    );
    const migration = migrationSql(migrationFor(declared, await tableShape(env.DB, table), name)!);
    const failed = await trigger(name);
    expect(failed.status).toBe("failed");
    expect(failed.stages.map((stage: { status: string }) => stage.status)).toEqual(["succeeded", "succeeded", "failed"]);
    expect(failed.stages[2].attempts).toBe(1); // permanent: not retried
    expect(failed.error).toBe(
      `load stage failed: the D1 table ${table} differs from the definition of pipeline ${name}: column at is TEXT in the table, integer (INTEGER) in the definition; ` +
        `column source is not in the definition, and is NOT NULL without a default (every insert fails). Make it match: npx wrangler d1 execute DB --local --command '${migration}' ` +
        `(--remote instead of --local for the deployed database; docs/operating.md, "Recovering a destination"); when the definition changed, npm run pipeline -- migration ${name} writes this as a migration (then npm run db:migrate:local, or npm run deploy)`,
    );
    expect(migration).toContain(`CREATE TABLE ${table}_new (event_id TEXT, kind TEXT NOT NULL, at INTEGER NOT NULL,`);
    expect(await rowsIn(table)).toBe(0);
    expect(failed.accounting).toMatchObject({ loaded: 0 });

    await env.DB.exec(migration);
    const retried = await apiJson(`/api/pipelines/${name}/runs/${failed.pipelineId}/retry`, { method: "POST" });
    expect(retried.status).toBe(202);
    const retry = await finished(async () => (await apiJson(retried.body.statusUrl)).body);
    expect(retry).toMatchObject({ status: "succeeded", accounting: { balanced: true } });
    expect(retry.accounting.loaded).toBe(3);
    expect(await rowsIn(table)).toBe(2); // e1 twice: the last one wins
  });

  it("fails on a primary key other than the definition's key, which the upsert could not use", async () => {
    const { name, table } = await eventsInto(
      (table) => `CREATE TABLE ${table} (event_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL, weight REAL NOT NULL, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (event_id, kind))`,
    );
    const failed = await trigger(name);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain(`the D1 table ${table} differs from the definition of pipeline ${name}: the table's primary key is (event_id, kind), the definition's key is (event_id). Make it match:`);
    expect(await rowsIn(table)).toBe(0);
  });

  it("loads into a table with extra columns the load does not mind (nullable, or with a default)", async () => {
    const { name, table } = await eventsInto(
      (table) => `CREATE TABLE ${table} (event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, at INTEGER NOT NULL, weight REAL NOT NULL, note TEXT, origin TEXT NOT NULL DEFAULT 'feed', run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER)`,
    );
    const run = await trigger(name);
    expect(run).toMatchObject({ status: "succeeded", accounting: { balanced: true } });
    expect(await env.DB.prepare(`SELECT DISTINCT origin FROM ${table}`).all()).toMatchObject({ results: [{ origin: "feed" }] });
  });
});
