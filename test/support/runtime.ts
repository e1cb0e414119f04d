import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { CLEANUP_DELAY_MS } from "../../src/agents/pipeline-coordinator";
import { EVENTS_CALLBACK, SLOT_CALLBACK } from "../../src/agents/pipeline-scheduler";
import { shardInstanceName } from "../../src/domain/shards";
import { runKey, stageInstanceName, STAGE_NAMES, type StageName } from "../../src/domain/stages";
import { runPrefix } from "../../src/staging/staging-store";
import type { StageAgent } from "../../src/agents/stages/stage-agent";

/** Calls the Worker as a client would. */
export function api(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`http://localhost${path}`, init);
}

export async function apiJson<T = any>(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await api(path, init);
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

let counter = 0;
/**
 * Storage is shared by the tests of one worker, so each test that needs its own agents or runs names them
 * uniquely (lower-case, so a name can also be a pipeline's).
 */
export function uniqueName(prefix = "test"): string {
  counter += 1;
  return `${prefix}-${Date.now()}-${counter}`;
}

/**
 * Polls `probe` until `accept` holds, and fails the test if it never does: the timeout is an error naming
 * the last value seen, never a quiet return of it. A probe that throws (an agent caught mid-destroy)
 * counts as "not yet".
 */
export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | null = null;
  for (;;) {
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline) {
      const seen = last === null ? "nothing" : "value" in last ? JSON.stringify(last.value)?.slice(0, 500) : `an error: ${String(last.error)}`;
      throw new Error(`eventually: the condition did not hold within ${timeoutMs} ms; last seen ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits for a run to finish (any status but running); fails the test if it is still running after `timeoutMs`. */
export async function finished<Run extends { status: string }>(read: () => Promise<Run | null>, timeoutMs = 10_000): Promise<Run> {
  return (await eventually(read, (run) => run !== null && run.status !== "running", timeoutMs))!;
}

/**
 * Fires a scheduler's armed slot now. `runDurableObjectAlarm` only runs jobs that are due, so the slot's
 * row in the SDK's job table is moved into the past first; this is the one place that touches that table.
 */
export async function fireArmedSlot(schedulerName: string): Promise<boolean> {
  return fireJob(await getAgentByName(env.PipelineScheduler, schedulerName), SLOT_CALLBACK);
}

/** Fires an agent's pending schedule for `callback` now (its row moved into the past, then the alarm run). */
export async function fireJob(stub: DurableObjectStub, callback: string): Promise<boolean> {
  await runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec("UPDATE cf_agents_jobs SET time = ? WHERE fn = ?", Date.now() - 1_000, callback);
  });
  return runDurableObjectAlarm(stub);
}

/**
 * Closes the open debounce windows of a pipeline's events now, and fires the alarm that starts its event
 * runs: as with fireJob, the windows' ends are moved into the past first (the one place that touches
 * the scheduler's api_event_runs table).
 */
export async function fireEventRuns(schedulerName: string): Promise<boolean> {
  const stub = await getAgentByName(env.PipelineScheduler, schedulerName);
  await runInDurableObject(stub, (_instance, state) => {
    const past = Date.now() - 1;
    state.storage.sql.exec("UPDATE api_event_runs SET starts_at = ? WHERE started_at IS NULL AND starts_at > ?", past, past);
  });
  return fireJob(stub, EVENTS_CALLBACK);
}

/** Whether an agent has a pending schedule for `callback`. */
export async function hasJob(stub: DurableObjectStub, callback: string): Promise<boolean> {
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM cf_agents_jobs WHERE fn = ?", callback).one().n !== 0);
}

export interface StageStorage {
  alarm: number | null;
  hasStageTask: boolean;
  rowsByTable: Record<string, number>;
  keys: string[];
}

/**
 * What a stage instance holds. Looking means waking it, and a woken agent creates the SDK's empty tables
 * and schema-version keys, so "holds nothing" means "looks exactly like a never-used instance".
 */
export async function stageStorage(runId: string, stage: StageName, pipeline = "default"): Promise<StageStorage> {
  return storageOf(stage, stageInstanceName(runKey(pipeline, runId), stage));
}

export function pristineStageStorage(stage: StageName): Promise<StageStorage> {
  return storageOf(stage, uniqueName("never-used"));
}

async function storageOf(stage: StageName, name: string): Promise<StageStorage> {
  const namespaces = { extract: env.ExtractStage, transform: env.TransformStage, load: env.LoadStage } as Record<StageName, DurableObjectNamespace<StageAgent>>;
  const stub = await getAgentByName(namespaces[stage], name);
  return runInDurableObject(stub, async (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
      .toArray()
      .map((row) => row.name);
    const rowsByTable: Record<string, number> = {};
    for (const table of tables) {
      const [row] = state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM "${table}"`).toArray();
      rowsByTable[table] = row?.n ?? 0;
    }
    // workerd keeps the key-value API in an internal table that SQL may not read.
    const keys = [...(await state.storage.list()).keys()];
    return { alarm: await state.storage.getAlarm(), hasStageTask: tables.includes("stage_task"), rowsByTable, keys };
  });
}

/**
 * The coordinator dismisses a run's stage agents just after the run answers, and each then destroys
 * itself at once. Looking into one while it destroys itself would be cut off by its reset (and the runtime
 * logs that as an uncaught exception), so the first look waits until the dismissal is done.
 */
const DISMISSED_AFTER_MS = CLEANUP_DELAY_MS + 750;

/** Resolves once a run that just ended has had its stage agents dismissed (see DISMISSED_AFTER_MS). */
export function whenDismissed(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, DISMISSED_AFTER_MS));
}

/** Waits until every stage instance of a run has destroyed itself; returns each next to a pristine one. */
export async function stagesAfterRun(runId: string, pipeline = "default"): Promise<Record<StageName, { actual: StageStorage; pristine: StageStorage }>> {
  await whenDismissed();
  const result = {} as Record<StageName, { actual: StageStorage; pristine: StageStorage }>;
  for (const stage of STAGE_NAMES) {
    const pristine = await pristineStageStorage(stage);
    const same = (storage: StageStorage) => JSON.stringify(storage) === JSON.stringify(pristine);
    result[stage] = { actual: await eventually(() => stageStorage(runId, stage, pipeline), same), pristine };
  }
  return result;
}

/** Staged objects of a run, once its cleanup (just after the run answers) has had a moment. */
export async function stagedKeysAfterRun(runId: string, pipeline = "default"): Promise<string[]> {
  return eventually(() => stagedKeys(runId, pipeline), (keys) => keys.length === 0);
}

export async function stagedKeys(runId: string, pipeline = "default"): Promise<string[]> {
  const listing = await env.STAGING.list({ prefix: runPrefix(runKey(pipeline, runId)) });
  return listing.objects.map((object) => object.key);
}

/** Whether one shard's agent of a run holds exactly what a never-used agent holds (ask after `whenDismissed`). */
export async function isPristineShard(runId: string, stage: StageName, shard: number, pipeline = "default"): Promise<boolean> {
  const [actual, pristine] = await Promise.all([storageOf(stage, shardInstanceName(runKey(pipeline, runId), stage, shard)), pristineStageStorage(stage)]);
  return JSON.stringify(actual) === JSON.stringify(pristine);
}
