/**
 * Contracts for drift in real runs (workerd, D1, R2): a source whose records carry fields the record
 * schema does not know. `freeze` rejects those records naming the field (kept with their raw text),
 * `discard` loads them without it, `evolve` and no contract load them as they are; each run says which
 * fields it met, how often and where first, across transform shards too, logs them once, keeps them
 * through a retry that reuses transform, and its books balance.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import type { RunView } from "../../src/domain/run-view";
import { createTableSql } from "../../src/destinations/d1/table-ddl";
import { columnSettings } from "../../src/engine/columns";
import type { ContractDefinition } from "../../src/engine/contract";
import { definePipeline, type Pipeline } from "../../src/engine/define-pipeline";
import type { PipelineSettings } from "../../src/engine/settings";
import { listRejections } from "../support/db";
import { apiJson, finished, uniqueName } from "../support/runtime";
import { pipelineNamed, settingsFor } from "../support/settings";

/** Six records: two carry fields the schema does not know, two fail the schema itself. */
const RECORDS = [
  { id: "a1", amount: 10 },
  { id: "a2", amount: 20, discount: 2 },
  { id: "a3", amount: "x" },
  { id: "a4", amount: 40, discount: 4, channel: "web" },
  "not an object",
  { id: "a6", amount: 60 },
];

const COLUMNS = { id: "text", amount: "real", fields: "text" } as const;

/**
 * A loose schema (the transform sees every field it is given), so what the contract handed on shows in
 * the row: `fields` lists the record's keys as the transform saw them.
 */
const drift = definePipeline({
  name: "test-drift",
  description: "Test-only: records that drift from their schema",
  schedule: { every: "6h" },
  sources: [{ type: "sample" }],
  sample: { format: "ndjson", text: RECORDS.map((record) => JSON.stringify(record)).join("\n") },
  record: z.looseObject({ id: z.string(), amount: z.number() }),
  transform: (record) => ({ id: record.id, amount: record.amount, fields: Object.keys(record).sort().join(",") }),
  destination: { table: "test_drift", key: ["id"], columns: COLUMNS },
});

/** A copy of the drift pipeline with its own name and table, and the contract given. */
async function pipelineWith(contract: ContractDefinition | undefined, table = true): Promise<{ name: string; table: string }> {
  const name = uniqueName("drift");
  const tableName = `drift_${name.replaceAll("-", "_")}`;
  pipelineNamed(name, { ...drift, name, ...(contract ? { contract } : {}), destination: { ...drift.destination, table: tableName } } as Pipeline);
  if (table) await createTable(tableName);
  return { name, table: tableName };
}

async function createTable(table: string): Promise<void> {
  await env.DB.exec(createTableSql({ table, key: ["id"], columns: columnSettings(COLUMNS) }));
}

async function runOnce(name: string, changes: Partial<PipelineSettings> = {}) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  const runId = `manual-${Date.now()}`;
  const started = await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: settingsFor(name, changes) });
  expect(started.outcome).toBe("started");
  const run: RunView = await finished(() => coordinator.getRun(runId), 20_000);
  return { run, runId, coordinator };
}

async function rows(table: string) {
  return (await env.DB.prepare(`SELECT id, fields FROM ${table} ORDER BY id`).all<{ id: string; fields: string }>()).results;
}

const FIELDS_MET = [
  { name: "discount", records: 2, firstPosition: 1 },
  { name: "channel", records: 1, firstPosition: 3 },
];
const SCHEMA_REJECTIONS = 2;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a pipeline's contract, in a run", () => {
  it("freeze: rejects each record carrying an unknown field, naming it, keeps it with its raw text, and the books balance", async () => {
    const { name, table } = await pipelineWith({ unknownFields: "freeze" });
    const { run, runId } = await runOnce(name);
    expect(run.status).toBe("succeeded");
    expect(await rows(table)).toEqual([
      { id: "a1", fields: "amount,id" },
      { id: "a6", fields: "amount,id" },
    ]);
    expect(run.rejectedCount).toBe(2 + SCHEMA_REJECTIONS);
    expect(run.accounting).toEqual({ extracted: 6, loaded: 2, rejected: 4, skipped: 0, balanced: true });
    expect(run.rejected).toContainEqual({ id: "a2", stage: "transform", reason: 'unknown field "discount" (contract: freeze)' });
    expect(run.rejected).toContainEqual({ id: "a4", stage: "transform", reason: 'unknown fields "discount", "channel" (contract: freeze)' });
    const kept = (await listRejections(env.DB, name, runId)).filter((rejection) => rejection.reason.includes("contract: freeze"));
    expect(kept.map((rejection) => [rejection.position, rejection.record_id, JSON.parse(rejection.raw)])).toEqual([
      [1, "a2", RECORDS[1]],
      [3, "a4", RECORDS[3]],
    ]);
    expect(run.contract).toEqual({ unknownFields: "freeze", declared: true, fields: FIELDS_MET, truncated: false, records: 2 });
  });

  it("discard: loads the records without the unknown fields, counts each field, and the books balance", async () => {
    const { name, table } = await pipelineWith({ unknownFields: "discard" });
    const { run } = await runOnce(name);
    expect(run.status).toBe("succeeded");
    // The transform never saw the discarded fields.
    expect(await rows(table)).toEqual(["a1", "a2", "a4", "a6"].map((id) => ({ id, fields: "amount,id" })));
    expect(run.accounting).toEqual({ extracted: 6, loaded: 4, rejected: SCHEMA_REJECTIONS, skipped: 0, balanced: true });
    expect(run.contract).toEqual({ unknownFields: "discard", declared: true, fields: FIELDS_MET, truncated: false, records: 2 });
  });

  it("evolve: loads the records as they are, and reports the new fields once, in the run and in one log line", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    const { name, table } = await pipelineWith({ unknownFields: "evolve" });
    const { run, runId } = await runOnce(name);
    expect(run.status).toBe("succeeded");
    expect(await rows(table)).toEqual([
      { id: "a1", fields: "amount,id" },
      { id: "a2", fields: "amount,discount,id" },
      { id: "a4", fields: "amount,channel,discount,id" },
      { id: "a6", fields: "amount,id" },
    ]);
    expect(run.accounting).toEqual({ extracted: 6, loaded: 4, rejected: SCHEMA_REJECTIONS, skipped: 0, balanced: true });
    expect(run.contract).toEqual({ unknownFields: "evolve", declared: true, fields: FIELDS_MET, truncated: false, records: 2 });
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === "contract_new_fields" && line.runId === runId);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ pipeline: name, unknownFields: "evolve", records: 2, fields: FIELDS_MET });
  });

  it("no contract: the run goes as it always did, and still says which new fields it met", async () => {
    const { name } = await pipelineWith(undefined);
    const { run } = await runOnce(name);
    expect(run.accounting).toEqual({ extracted: 6, loaded: 4, rejected: SCHEMA_REJECTIONS, skipped: 0, balanced: true });
    expect(run.contract).toEqual({ unknownFields: "evolve", declared: false, fields: FIELDS_MET, truncated: false, records: 2 });
  });

  it("across transform shards: one summary for the run, each field's count summed and its first position the earliest", async () => {
    const { name, table } = await pipelineWith({ unknownFields: "discard" });
    // One record a chunk, two chunks a shard: "discount" is met by shard 0 (position 1) and shard 1 (position 3).
    const { run } = await runOnce(name, { chunkRecords: 1, parallelism: { transform: 3, load: 1 } });
    expect(run.status).toBe("succeeded");
    expect((await rows(table)).map((row) => row.id)).toEqual(["a1", "a2", "a4", "a6"]);
    expect(run.accounting.balanced).toBe(true);
    expect(run.contract).toEqual({ unknownFields: "discard", declared: true, fields: FIELDS_MET, truncated: false, records: 2 });
  });

  it("is shown in the API's run view, and kept by a retry that reuses transform", async () => {
    const { name, table } = await pipelineWith({ unknownFields: "freeze" }, false);
    const { run: failed, runId, coordinator } = await runOnce(name);
    expect(failed.status).toBe("failed"); // its table does not exist yet: load fails, transform's output stays
    const { body } = await apiJson<RunView>(`/api/pipelines/${name}/runs/${runId}`);
    expect(body.contract).toEqual({ unknownFields: "freeze", declared: true, fields: FIELDS_MET, truncated: false, records: 2 });

    await createTable(table);
    const retried = await coordinator.retryRun(runId, { waitMs: 20_000 });
    expect(retried.outcome).toBe("started");
    const retry = (retried as { run: RunView }).run;
    expect(retry.status).toBe("succeeded");
    expect(retry.retry?.reused).toEqual(["extract", "transform"]);
    expect(retry.contract).toEqual(failed.contract);
    expect(retry.accounting).toEqual({ extracted: 6, loaded: 2, rejected: 4, skipped: 0, balanced: true });
  });
});
