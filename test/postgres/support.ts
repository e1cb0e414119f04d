import { env } from "cloudflare:workers";
import { postgresDestination } from "../../src/destinations/postgres";
import type { PostgresDestination } from "../../src/destinations/postgres/settings";
import type { DestinationWriter, WriteControl } from "../../src/destinations/kind";
import { withClient, type HyperdriveBinding } from "../../src/sources/postgres/client";
import { columnSettings, type Columns } from "../../src/engine/columns";
import type { DuplicatePolicy } from "../../src/engine/define-pipeline";
import { uniqueName } from "../support/runtime";

/** SQL against the test cluster, through the Worker's own binding (set-up and checks). */
export function sql<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<R[]> {
  return withClient(env.HYPERDRIVE as unknown as HyperdriveBinding, { applicationName: "test", timeoutMs: 10_000, connectWaitMs: 0, doing: "testing" }, async (client) => (await client.query<R>(text, values)).rows);
}

/** A destination on a table of its own, resolved as a pipeline's would be. */
export function destination(columns: Columns, options: { key: string[]; duplicates?: DuplicatePolicy; jsonb?: string[]; table?: string; schema?: string; connectWaitMs?: number }): PostgresDestination {
  const declared = { type: "postgres" as const, hyperdrive: "HYPERDRIVE", schema: options.schema ?? "public", table: options.table ?? uniqueName("t").toLowerCase().replace(/[^a-z0-9_]/g, "_"), jsonb: options.jsonb ?? [], timeoutMs: 10_000, connectWaitMs: options.connectWaitMs ?? 2_000 };
  const resolved = postgresDestination.resolve(declared as never, { key: options.key, columns: columnSettings(columns), duplicates: options.duplicates ?? "reject" }, env as unknown as Record<string, unknown>);
  if (!resolved.ok) throw new Error(resolved.errors.join("; "));
  return resolved.settings as PostgresDestination;
}

export function writer(settings: PostgresDestination, runId: string, loadedAt = 1_764_000_000_000): DestinationWriter {
  return postgresDestination.writer(settings as never, { env: env as unknown as Record<string, unknown>, pipeline: "test-pg", runId, loadedAt, shard: 0, shards: 1, attempt: 1, slotDate: "2026-12-01", scratch: undefined as never });
}

export const control = (changes: Partial<WriteControl> = {}): WriteControl => ({ statementsPerBatch: 100, ...changes });

export function rowsOfRun(settings: PostgresDestination, runId: string): Promise<number> {
  return postgresDestination.rowsOfRun(settings as never, { env: env as unknown as Record<string, unknown>, pipeline: "test-pg", runId });
}

/** A failure as a value (an awaited rejection would be reported as unhandled by the pool). */
export async function failureOf(promise: Promise<unknown>): Promise<Error & { kind?: string }> {
  const error = await promise.then(() => null, (caught: unknown) => caught);
  if (!(error instanceof Error)) throw new Error(`expected a failure, got ${JSON.stringify(error)}`);
  return error;
}
