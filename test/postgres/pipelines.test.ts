/**
 * The shipped PostgreSQL examples run whole through the agents against the throwaway cluster: orders
 * upserted into PostgreSQL (idempotent when run again, its rejections in D1), customers read from
 * PostgreSQL into D1 with a watermark, a run that fails part-way reporting exactly what it wrote, and the
 * database password in nothing a run leaves behind.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, inject, it, vi } from "vitest";
import { createTableSql } from "../../src/destinations/postgres/ddl";
import { postgresFailure } from "../../src/sources/postgres/errors";
import { bindingSecrets } from "../../src/sources/postgres/client";
import type { Pipeline } from "../../src/engine/define-pipeline";
import ordersToPostgres from "../../src/pipelines/orders-to-postgres/pipeline";
import customers from "../../src/pipelines/customers/pipeline";
import { ORDERS_SAMPLE_CSV } from "../../src/pipelines/orders/sample";
import customersSql from "../../docs/examples/postgres/customers.sql?raw";
import { finished, uniqueName } from "../support/runtime";
import { pipelineNamed, settingsFor } from "../support/settings";
import { sql } from "./support";

async function run(name: string, changes: Parameters<typeof settingsFor>[1] = {}) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  const runId = `manual-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  const started = await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: settingsFor(name, changes) });
  expect(started.outcome).toBe("started");
  return finished(() => coordinator.getRun(runId), 30_000);
}

/** orders-to-postgres on a table of its own, created as `npm run pipeline -- migration` writes it. */
async function ordersPipeline(overrides: Partial<Pipeline> = {}): Promise<{ name: string; table: string }> {
  const name = uniqueName("pg-orders");
  const table = name.replace(/-/g, "_");
  const pipeline = { ...ordersToPostgres, ...overrides, destination: { ...ordersToPostgres.destination, table } } as Pipeline;
  pipelineNamed(name, pipeline);
  const resolved = settingsFor(name).destination as unknown as Parameters<typeof createTableSql>[0];
  await sql(createTableSql(resolved));
  return { name, table };
}

describe("orders-to-postgres", () => {
  it("upserts the sample's orders into PostgreSQL, every record accounted for, and a second run changes no row", async () => {
    const { name, table } = await ordersPipeline();
    const first = await run(name);
    expect(first.status).toBe("succeeded");
    expect(first.accounting.balanced).toBe(true);
    const [{ n }] = (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE run_id = $1`, [first.pipelineId])) as [{ n: number }];
    expect(n).toBe(first.accounting.loaded);
    expect(n).toBeGreaterThan(20);
    const before = await sql(`SELECT store_id, order_id, kind, amount_cents, net_cents, currency, original_order_id, ordered_at, order_day FROM ${table} ORDER BY store_id, order_id`);
    // The order time is a timestamptz: the instant, whatever zone the export wrote it in.
    const [typed] = await sql<{ type: string }>(`SELECT pg_typeof(ordered_at)::text AS type FROM ${table} LIMIT 1`);
    expect(typed!.type).toBe("timestamp with time zone");
    const second = await run(name);
    expect(second.status).toBe("succeeded");
    expect(await sql(`SELECT store_id, order_id, kind, amount_cents, net_cents, currency, original_order_id, ordered_at, order_day FROM ${table} ORDER BY store_id, order_id`)).toEqual(before);
    const [{ mine }] = (await sql<{ mine: number }>(`SELECT count(*)::int AS mine FROM ${table} WHERE run_id = $1`, [second.pipelineId])) as [{ mine: number }];
    expect(mine).toBe(n);
    // Rejections are the engine's: they go to D1, beside every other pipeline's.
    const rejected = await env.DB.prepare("SELECT count(*) AS n FROM rejected_records WHERE run_id = ?").bind(first.pipelineId).first<{ n: number }>();
    expect(rejected!.n).toBe(first.rejectedCount);
  });

  it("fails part-way with loaded equal to the run's rows in the table, and says which record PostgreSQL cannot store", async () => {
    const lines = ORDERS_SAMPLE_CSV.trimEnd().split("\n");
    // A NUL in the 30th order's id: D1 would store it, PostgreSQL text cannot.
    const poisoned = lines.map((line, index) => (index === 30 ? line.replace(/,(\d+),/, ",bad\u0000$1,") : line)).join("\n");
    const { name, table } = await ordersPipeline({ sample: { format: "csv", text: poisoned } });
    const failed = await run(name, { chunkRecords: 8 });
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/holds a NUL character \(U\+0000\), which PostgreSQL text cannot store/);
    const [{ n }] = (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE run_id = $1`, [failed.pipelineId])) as [{ n: number }];
    expect(n).toBeGreaterThan(0); // the chunks before the poisoned one are in
    expect(failed.accounting.loaded).toBe(n);
  });

  it("fails a run into a missing table before any row, with the SQL that creates it", async () => {
    const name = uniqueName("pg-missing");
    pipelineNamed(name, { ...ordersToPostgres, destination: { ...ordersToPostgres.destination, table: "never_created" } } as Pipeline);
    const failed = await run(name);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("PostgreSQL table public.never_created does not exist");
    expect(failed.error).toContain('CREATE TABLE IF NOT EXISTS "public"."never_created"');
    expect(failed.accounting.loaded).toBe(0);
  });
});

describe("customers: PostgreSQL into D1", () => {
  it("copies the customers changed since the last run, rejecting the one without an email", async () => {
    await sql(customersSql);
    const name = uniqueName("customers");
    pipelineNamed(name, customers);
    const first = await run(name);
    expect(first.status).toBe("succeeded");
    expect(first.accounting).toMatchObject({ extracted: 6, loaded: 5, rejected: 1, balanced: true });
    const rows = await env.DB.prepare("SELECT customer_id, name, email, country, marketing_opt_in, updated_at FROM customers WHERE run_id = ? ORDER BY customer_id").bind(first.pipelineId).all();
    expect(rows.results[0]).toEqual({ customer_id: 1, name: "Ada Lovelace", email: "ada@example.com", country: "GB", marketing_opt_in: 1, updated_at: "2026-11-30T09:00:00.000Z" });
    expect(rows.results.map((row) => row.name)).toEqual(["Ada Lovelace", "Jürgen Müller", "Zoë O'Brien", "山田 太郎", "Grace Hopper"]);
    // Only what changed since: one customer updated after the newest one loaded.
    await sql("UPDATE customers SET country = 'FR', updated_at = '2026-12-01 08:00:00+00' WHERE id = 3");
    const second = await run(name);
    expect(second.status).toBe("succeeded");
    expect(second.accounting).toMatchObject({ extracted: 1, loaded: 1 });
    const zoe = await env.DB.prepare("SELECT country, run_id FROM customers WHERE customer_id = 3").first();
    expect(zoe).toEqual({ country: "FR", run_id: second.pipelineId });
  });
});

describe("the database password", () => {
  it("is never in a run, an error or a log line, and is taken out of any message that carries it", async () => {
    const password = inject("postgresPassword");
    const lines: string[] = [];
    for (const method of ["log", "info", "warn", "error", "debug"] as const) vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" ")));
    try {
      const missing = uniqueName("pg-secret");
      pipelineNamed(missing, { ...ordersToPostgres, destination: { ...ordersToPostgres.destination, table: "never_created_either" } } as Pipeline);
      const failed = await run(missing);
      const down = uniqueName("pg-down");
      pipelineNamed(down, { ...customers, sources: [{ ...customers.sources[0], hyperdrive: "HYPERDRIVE_DOWN", connectWaitMs: 0 }] } as Pipeline);
      const refused = await run(down, { retries: { stage: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 }, source: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 }, alerts: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } } } as never);
      expect([failed.status, refused.status]).toEqual(["failed", "failed"]);
      const everything = JSON.stringify([failed, refused, lines]);
      expect(everything).not.toContain(password);
      expect(everything).not.toContain(encodeURIComponent(password));
      expect(everything).not.toContain("down-password");
      expect(lines.length).toBeGreaterThan(0);
    } finally {
      vi.restoreAllMocks();
    }
    // A driver message that quoted the connection string would still not show it.
    const secrets = bindingSecrets(env as unknown as Record<string, unknown>, "HYPERDRIVE");
    const failure = postgresFailure(new Error(`cannot parse ${env.HYPERDRIVE.connectionString} (password ${password})`), "testing", secrets);
    expect(failure.message).not.toContain(password);
    expect(failure.message).toBe("PostgreSQL, testing: cannot parse *** (password ***)");
  });
});
