import { env } from "cloudflare:workers";
import { z } from "zod";
import type { CheckDefinition } from "../../src/engine/checks";
import { definePipeline, type Pipeline } from "../../src/engine/define-pipeline";
import { reject } from "../../src/engine/outcomes";
import { deployment } from "../../src/pipelines";
import { uniqueName } from "./runtime";
import { expectValid } from "./test-pipelines";

/** A sale as the checks tests give it: only `id` is needed, the rest has defaults. */
export const Sale = z.object({
  id: z.string(),
  store: z.string().nullable().default("berlin"),
  kind: z.string().default("sale"),
  ref: z.string().nullable().default(null),
  at: z.string().default("2026-12-01T10:00:00.000Z"),
  cents: z.number().int().default(100),
});
export type SaleRecord = z.input<typeof Sale>;

export const SALE_COLUMNS = { sale_id: "text", store: { type: "text", nullable: true }, kind: "text", ref: { type: "text", nullable: true }, at: "text", cents: "integer" } as const;

export const sale = (id: string, changes: Partial<SaleRecord> = {}): SaleRecord => ({ id, ...changes });

/**
 * A pipeline of its own over these records (a negative amount rejected), with these checks, into a table
 * of its own, registered like any other: what the dataset checks' runtime tests run.
 */
export async function checkedPipeline(
  records: SaleRecord[],
  checks: CheckDefinition[],
  options: { name?: string; transformShards?: number } = {},
): Promise<{ name: string; table: string }> {
  const name = options.name ?? uniqueName("checked");
  const table = name.replaceAll("-", "_");
  await env.DB.exec(`CREATE TABLE ${table} (sale_id TEXT PRIMARY KEY, store TEXT, kind TEXT NOT NULL, ref TEXT, at TEXT NOT NULL, cents INTEGER NOT NULL, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER)`);
  const pipeline = definePipeline({
    name,
    description: "Test-only: sales with dataset checks",
    schedule: { every: "1d" },
    sources: [{ type: "sample" }],
    sample: { records },
    record: Sale,
    transform: (record) => (record.cents < 0 ? reject(`negative amount ${record.cents}`) : { sale_id: record.id, store: record.store, kind: record.kind, ref: record.ref, at: record.at, cents: record.cents }),
    destination: { table, key: ["sale_id"], columns: SALE_COLUMNS },
    checks: checks as CheckDefinition<typeof SALE_COLUMNS>[],
    ...(options.transformShards ? { tuning: { parallelism: { transform: options.transformShards }, chunkRecords: 2 } } : {}),
  }) as Pipeline;
  expectValid(deployment.add(pipeline));
  return { name, table };
}
