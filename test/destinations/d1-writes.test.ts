/**
 * The D1 queries on their own, for any pipeline's table: upserts keyed by the table's key (one column or
 * several), packed under the 100-parameter limit from the column count, duplicate keys found by D1's own
 * upsert, rejections keyed by run and position, and a missing table or column named.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadRowsOnce, MAX_LITERAL_CHARS, sqlLiteral, tableProblem, upsertRows } from "../../src/destinations/d1/writes";
import { saveRejections } from "../../src/db/rejections";
import type { Rejection } from "../../src/domain/records";
import { resolveSettings } from "../../src/engine/settings";
import type { D1Destination } from "../../src/destinations/d1/settings";
import { stagedRow } from "../../src/engine/staged-row";
import readings from "../../src/pipelines/default/pipeline";
import orders from "../../src/pipelines/orders/pipeline";
import { listMetrics, listRejections } from "../support/db";
import { uniqueName } from "../support/runtime";

function destinationOf(pipeline: typeof readings): D1Destination {
  const resolved = resolveSettings(pipeline, env as unknown as Record<string, unknown>);
  if (!resolved.ok) throw new Error(resolved.errors.join("; "));
  return resolved.settings.destination as D1Destination;
}
const metrics = destinationOf(readings);
const ordersTable = destinationOf(orders);

const reading = (pipeline: string, id: string, value: number, position: number) =>
  stagedRow(position, id, [pipeline, id, "2024-01-01T00:00:00.000Z", value, value < 100 ? "low" : value < 200 ? "medium" : "high", "sensor"]);
const order = (store: string, id: string, cents: number, position: number) =>
  stagedRow(position, `${store}/${id}`, [store, id, "sale", cents, cents, "EUR", null, "2026-11-28T09:00:00.000Z", "2026-11-28"]);

describe("sqlLiteral", () => {
  it("quotes only what it can quote exactly, and leaves the rest to be bound", () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral("'); DROP TABLE metrics; --")).toBe("'''); DROP TABLE metrics; --'");
    expect(sqlLiteral(null)).toBe("NULL");
    expect([sqlLiteral(42), sqlLiteral(-0.25), sqlLiteral(1e21)]).toEqual(["42", "-0.25", "1e+21"]);
    expect(sqlLiteral("a\u0000b")).toBeNull();
    expect(sqlLiteral("x".repeat(MAX_LITERAL_CHARS + 1))).toBeNull();
    expect([sqlLiteral(Number.NaN), sqlLiteral(Number.POSITIVE_INFINITY), sqlLiteral({}), sqlLiteral(undefined)]).toEqual([null, null, null, null]);
  });
});

describe("upsertRows", () => {
  it("stores every value exactly as given, whether written as a literal or bound", async () => {
    const pipeline = uniqueName("pipeline");
    const texts = ["it's", "'); DROP TABLE metrics; --", "?", "a\u0000b", "x".repeat(MAX_LITERAL_CHARS + 10), "Grüße 🌍 \u2028", "\\n", ""];
    const values = [1e21, -0.25, 0, 5];
    const rows = texts.map((type, index) => stagedRow(index, `t${index}`, [pipeline, `t${index}`, "2024-01-01T00:00:00.000Z", values[index % 4]!, "low", type]));
    await upsertRows(env.DB, metrics, "run-1", rows, 1, { statementsPerBatch: 100 });
    const stored = await listMetrics(env.DB, pipeline);
    expect(stored.map((row) => [row.id, row.type, row.value])).toEqual(texts.map((type, index) => [`t${index}`, type, values[index % 4]]));
  });

  it("keeps each statement under D1's 100 KB when values are long", async () => {
    const pipeline = uniqueName("pipeline");
    // ASCII text counts a byte a character; anything else three (two-byte "é" here, four-byte emoji pairs too).
    const long = (index: number) => (index % 2 === 0 ? "y" : index % 3 === 0 ? "é" : "🌍").repeat(MAX_LITERAL_CHARS / 2);
    const rows = Array.from({ length: 300 }, (_, index) => reading(pipeline, `r${index}`, 1, index)).map((row, index) => stagedRow(row[0], row[1], [...row.slice(2, -1), long(index)]));
    expect(await upsertRows(env.DB, metrics, "run-1", rows, 1, { statementsPerBatch: 100 })).toBe(300);
    const stored = await listMetrics(env.DB, pipeline);
    expect(stored).toHaveLength(300);
    expect(stored.every((row) => row.type === long(Number(row.id.slice(1))))).toBe(true);
  });

  it("binds a row too wide to be one statement as literals", async () => {
    const table = `wide_${uniqueName("t").replace(/-/g, "_")}`;
    const names = Array.from({ length: 20 }, (_, index) => `c${index}`);
    await env.DB.prepare(`CREATE TABLE ${table} (${names.map((name) => `${name} TEXT NOT NULL`).join(", ")}, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (c0))`).run();
    const wide: D1Destination = { ...metrics, table, key: ["c0"], columns: names.map((name) => ({ name, type: "text" as const, nullable: false })) };
    const text = "€".repeat(MAX_LITERAL_CHARS); // 19 × 2,048 characters of three-byte UTF-8: 117 KB as literals
    const rows = [stagedRow(0, "a", ["a", ...names.slice(1).map(() => text)]), stagedRow(1, "b", ["b", ...names.slice(1).map(() => "short")])];
    expect(await upsertRows(env.DB, wide, "run-1", rows, 1, { statementsPerBatch: 100 })).toBe(2);
    const stored = await env.DB.prepare(`SELECT c0, c19 FROM ${table} ORDER BY c0`).all();
    expect(stored.results).toEqual([
      { c0: "a", c19: text },
      { c0: "b", c19: "short" },
    ]);
  });

  it("writes many rows in statements of up to MAX_ROWS_PER_STATEMENT rows", async () => {
    const pipeline = uniqueName("pipeline");
    const rows = Array.from({ length: 1_001 }, (_, index) => reading(pipeline, `r-${String(index).padStart(4, "0")}`, index, index));
    expect(await upsertRows(env.DB, metrics, "run-1", rows, 1, { statementsPerBatch: 100 })).toBe(1_001);
    const stored = await listMetrics(env.DB, pipeline);
    expect(stored).toHaveLength(1_001);
    expect(stored[1_000]).toMatchObject({ id: "r-1000", value: 1000, category: "high", run_id: "run-1" });
  });

  it("updates a record loaded again instead of duplicating it, and keeps pipelines apart", async () => {
    const pipeline = uniqueName("pipeline");
    const other = uniqueName("pipeline");
    await upsertRows(env.DB, metrics, "run-1", [reading(pipeline, "a", 1, 0), reading(pipeline, "b", 2, 1)], 1, { statementsPerBatch: 100 });
    await upsertRows(env.DB, metrics, "run-1", [reading(other, "a", 5, 0)], 1, { statementsPerBatch: 100 });
    await upsertRows(env.DB, metrics, "run-2", [reading(pipeline, "a", 150, 0)], 2, { statementsPerBatch: 100 });
    expect((await listMetrics(env.DB, pipeline)).map((row) => [row.id, row.value, row.category, row.run_id])).toEqual([
      ["a", 150, "medium", "run-2"],
      ["b", 2, "low", "run-1"],
    ]);
    expect((await listMetrics(env.DB, other)).map((row) => [row.id, row.value])).toEqual([["a", 5]]);
  });

  it("keys a table by several columns: the same order id in two stores is two rows", async () => {
    const store = uniqueName("store");
    await upsertRows(env.DB, ordersTable, "run-1", [order(store, "1", 100, 0), order(`${store}-b`, "1", 200, 1), order(store, "1", 300, 2)], 1, { statementsPerBatch: 100 });
    const rows = await env.DB.prepare("SELECT store_id, order_id, amount_cents FROM orders WHERE store_id LIKE ? ORDER BY store_id").bind(`${store}%`).all();
    expect(rows.results).toEqual([
      { store_id: store, order_id: "1", amount_cents: 300 },
      { store_id: `${store}-b`, order_id: "1", amount_cents: 200 },
    ]);
  });
});

describe("loadRowsOnce", () => {
  it("loads the first occurrence of a key in a run and names it for the later ones", async () => {
    const pipeline = uniqueName("pipeline");
    const first = await loadRowsOnce(env.DB, metrics, "run-1", [reading(pipeline, "a", 10, 0), reading(pipeline, "b", 1, 1), reading(pipeline, "a", 99, 2)], 1, { statementsPerBatch: 100 });
    expect(first.loaded).toBe(2);
    expect(first.duplicates.map((duplicate) => [duplicate.row[0], duplicate.first])).toEqual([[2, 0]]);
    const later = await loadRowsOnce(env.DB, metrics, "run-1", [reading(pipeline, "b", 1, 7)], 1, { statementsPerBatch: 100 });
    expect(later.duplicates.map((duplicate) => [duplicate.row[0], duplicate.first])).toEqual([[7, 1]]);
    expect((await listMetrics(env.DB, pipeline)).map((row) => [row.id, row.value])).toEqual([
      ["a", 10],
      ["b", 1],
    ]);
  });

  it("finds every duplicate in a chunk of many statements, wherever it falls", async () => {
    const pipeline = uniqueName("pipeline");
    // 16 rows a statement: duplicates inside one statement, across statements, and of an earlier chunk.
    const rows = Array.from({ length: 200 }, (_, index) => reading(pipeline, `r${index % 150}`, 1, index));
    const first = await loadRowsOnce(env.DB, metrics, "run-1", rows, 1, { statementsPerBatch: 3 });
    expect(first.loaded).toBe(150);
    expect(first.duplicates.map((duplicate) => [duplicate.row[0], duplicate.first])).toEqual(Array.from({ length: 50 }, (_, index) => [150 + index, index]));
    const second = await loadRowsOnce(env.DB, metrics, "run-1", [reading(pipeline, "new", 1, 200), reading(pipeline, "r7", 1, 201)], 1, { statementsPerBatch: 3 });
    expect(second.duplicates.map((duplicate) => [duplicate.row[0], duplicate.first])).toEqual([[201, 7]]);
    expect(await listMetrics(env.DB, pipeline)).toHaveLength(151);
  });

  it("writes the statements it is given to ride along in the same batch", async () => {
    const pipeline = uniqueName("pipeline");
    const companions = [env.DB.prepare("INSERT INTO rejected_records (pipeline, run_id, position, record_id, stage, reason, raw, created_at) VALUES (?, 'run-1', 9, NULL, 'transform', 'bad', '{}', 1)").bind(pipeline)];
    await loadRowsOnce(env.DB, metrics, "run-1", [reading(pipeline, "a", 1, 0)], 1, { statementsPerBatch: 100, companions });
    expect(await listRejections(env.DB, pipeline, "run-1")).toHaveLength(1);
    expect(await listMetrics(env.DB, pipeline)).toHaveLength(1);
  });

  it("finds duplicates of a composite key", async () => {
    const store = uniqueName("store");
    const result = await loadRowsOnce(env.DB, ordersTable, "run-1", [order(store, "1", 100, 0), order(store, "2", 100, 1), order(store, "1", 999, 5)], 1, { statementsPerBatch: 100 });
    expect(result.loaded).toBe(2);
    expect(result.duplicates.map((duplicate) => [duplicate.row[1], duplicate.first])).toEqual([[`${store}/1`, 0]]);
  });

  it("rewrites the same records when a load is retried, and overwrites rows of earlier runs", async () => {
    const pipeline = uniqueName("pipeline");
    const rows = Array.from({ length: 30 }, (_, index) => reading(pipeline, `r${index}`, 1, index));
    await loadRowsOnce(env.DB, metrics, "run-1", rows, 1, { statementsPerBatch: 100 });
    const retried = await loadRowsOnce(env.DB, metrics, "run-1", rows, 2, { statementsPerBatch: 100 });
    expect([retried.loaded, retried.duplicates.length]).toEqual([30, 0]);
    const nextRun = await loadRowsOnce(env.DB, metrics, "run-2", [reading(pipeline, "r3", 150, 0)], 3, { statementsPerBatch: 100 });
    expect(nextRun.loaded).toBe(1);
    expect((await listMetrics(env.DB, pipeline)).find((row) => row.id === "r3")).toMatchObject({ value: 150, run_id: "run-2" });
  });
});

describe("tableProblem", () => {
  it("is nothing for the migrated tables, and names a missing table or column", async () => {
    expect(await tableProblem(env.DB, metrics)).toBeNull();
    expect(await tableProblem(env.DB, ordersTable)).toBeNull();
    // The migrations are recorded as applied here, as after a table was dropped by hand: db:migrate would not help.
    const applied = (await env.DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>()).results;
    const create = "CREATE TABLE nowhere (pipeline TEXT NOT NULL, id TEXT NOT NULL, timestamp TEXT NOT NULL, value REAL NOT NULL, category TEXT NOT NULL, type TEXT, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (pipeline, id))";
    expect(await tableProblem(env.DB, { ...metrics, table: "nowhere" })).toBe(
      `the D1 table nowhere does not exist, though ${applied.length} migrations are recorded as applied (the newest ${applied.at(-1)!.name}), so npm run db:migrate:local will not create it again; create it: npx wrangler d1 execute DB --local --command '${create}' (--remote instead of --local for the deployed database; docs/operating.md, "Recovering a destination")`,
    );
    expect(await tableProblem(env.DB, { ...metrics, columns: [...metrics.columns, { name: "unit", type: "text", nullable: true }] }, "default")).toBe(
      `the D1 table metrics differs from the definition of pipeline default: column unit is missing (text). Make it match: npx wrangler d1 execute DB --local --command 'ALTER TABLE metrics ADD COLUMN unit TEXT' (--remote instead of --local for the deployed database; docs/operating.md, "Recovering a destination"); when the definition changed, npm run pipeline -- migration default writes this as a migration (then npm run db:migrate:local, or npm run deploy)`,
    );
  });

  it("gives SQL that puts it right: the table it creates, or the column it adds, is what the load needs", async () => {
    const table = `recreated_${uniqueName("t").replaceAll("-", "_")}`;
    const recreated = { ...ordersTable, table, columns: [...ordersTable.columns, { name: "order", type: "text" as const, nullable: true }] };
    const created = /--command '([^']+)'/.exec((await tableProblem(env.DB, recreated))!)![1]!;
    await env.DB.exec(created);
    expect(await tableProblem(env.DB, recreated)).toBeNull();
    const wider = { ...recreated, columns: [...recreated.columns, { name: "note", type: "integer" as const, nullable: false }] };
    const problem = (await tableProblem(env.DB, wider))!;
    const alter = /--command '([^']+)'/.exec(problem)![1]!;
    await env.DB.exec(alter);
    expect(await tableProblem(env.DB, wider)).toBeNull();
    const rows = [stagedRow(0, "s/1", ["s", "1", "sale", 100, 100, "EUR", null, "2026-11-28T10:00:00Z", "2026-11-28", "keyword", 5])];
    expect(await upsertRows(env.DB, wider, "run-1", rows, 1, { statementsPerBatch: 100 })).toBe(1);
  });
});

describe("saveRejections", () => {
  it("is keyed by run and position, so saving a run's rejections twice keeps one row each", async () => {
    const pipeline = uniqueName("pipeline");
    const rejections: Rejection[] = [
      { position: 1, id: "rec-2", stage: "transform", reason: "bad", raw: '{"id":"rec-2"}' },
      { position: 4, id: null, stage: "transform", reason: "record must be an object, got null", raw: "null" },
    ];
    await saveRejections(env.DB, pipeline, "run-1", rejections, 1);
    await saveRejections(env.DB, pipeline, "run-1", rejections, 2);
    expect(await listRejections(env.DB, pipeline, "run-1")).toEqual([
      { run_id: "run-1", position: 1, record_id: "rec-2", stage: "transform", reason: "bad", raw: '{"id":"rec-2"}' },
      { run_id: "run-1", position: 4, record_id: null, stage: "transform", reason: "record must be an object, got null", raw: "null" },
    ]);
  });
});
