import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sleep, startDev, stopDev, type DevServer } from "./wrangler-dev.ts";

/**
 * What the fault-injection scenarios share (scripts/fault-injection.ts): the API with the server's token,
 * a line per check, killing and restarting the server on the same local state, waiting for a run, and the
 * objects of a local R2 bucket as miniflare keeps them on disk.
 */

/** The API token every fault-injection server is started with; every request sends it. */
export const API_TOKEN = "fault-injection-token-3f9a";

export async function apiResponse(server: DevServer, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${API_TOKEN}`);
  return fetch(`${server.url}${path}`, { ...init, headers });
}

export async function api(server: DevServer, path: string, init?: RequestInit): Promise<any> {
  const response = await apiResponse(server, path, init);
  return response.json();
}

/** One line per check as it is made; the failures decide the exit code. */
export class Checks {
  readonly all: { scenario: string; name: string; ok: boolean; detail: string }[] = [];

  check(scenario: string, name: string, ok: boolean, detail = ""): boolean {
    this.all.push({ scenario, name, ok, detail });
    console.log(`${ok ? "PASS" : "FAIL"} ${scenario}: ${name}${detail ? ` (${detail})` : ""}`);
    return ok;
  }

  failures(scenario?: string): number {
    return this.all.filter((entry) => !entry.ok && (scenario === undefined || entry.scenario === scenario)).length;
  }
}

/** The main server's state, shared by the scenarios that kill and restart it. */
export interface FaultContext {
  persistTo: string;
  vars: Record<string, string>;
  /** The server now running (a scenario that kills it starts the next one here). */
  server: DevServer | undefined;
  checks: Checks;
  /** Checks that read the local state directly, run once the server is stopped for good. */
  afterStop: (() => void | Promise<void>)[];
}

export function serverOf(context: FaultContext): DevServer {
  if (!context.server) throw new Error("no server is running");
  return context.server;
}

/** SIGKILLs the whole `wrangler dev` process group (workerd with it), as a crash would; answers the dead server (its log). */
export async function killServer(context: FaultContext): Promise<DevServer | undefined> {
  const server = context.server;
  context.server = undefined;
  if (server) await stopDev(server, "SIGKILL");
  return server;
}

/**
 * What the servers' logs say about a run beyond its steps: resumes, stalls, retried and failed stages, our
 * own errors, and the runtime resetting objects (an isolate over its memory, say). For the reader of a
 * run that needed more attempts than the kill explains.
 */
export function notableLog(servers: readonly (DevServer | undefined)[], runId: string): string[] {
  const lines: string[] = [];
  for (const server of servers) {
    for (const line of (server?.log.join("") ?? "").replace(/\x1b\[[0-9;]*m/g, "").split("\n")) {
      const about = line.includes(runId) && /run_resumed|run_stalled|stage_retrying|stage_failed|stage_error|driver_error/.test(line);
      if (about || /exceeded|reset|memory limit|Uncaught/i.test(line)) lines.push(line.trim().slice(0, 400));
    }
  }
  return lines.slice(0, 12);
}

/** Starts the server again on the same local state (same persist dir, same variables). */
export async function restartServer(context: FaultContext): Promise<DevServer> {
  context.server = await startDev({ persistTo: context.persistTo, vars: context.vars });
  return context.server;
}

/** Polls a run until it is no longer running (or the time is up); answers its last view. */
export async function waitForRun(server: DevServer, pipeline: string, runId: string, timeoutMs: number): Promise<any> {
  const finishBy = Date.now() + timeoutMs;
  let run: any;
  do {
    await sleep(250);
    run = await api(server, `/api/pipelines/${pipeline}/runs/${runId}`);
  } while (run.status === "running" && Date.now() < finishBy);
  return run;
}

/**
 * After a kill: the server started again on the same state, the run followed to its end, a line saying
 * how it went and what the servers logged about it, and the check every scenario makes (it resumed and
 * succeeded).
 */
export async function resumeAfterKill(
  context: FaultContext,
  killed: DevServer | undefined,
  scenario: { name: string; pipeline: string; runId: string; timeoutMs: number; check: (name: string, ok: boolean, detail: string) => void },
): Promise<{ server: DevServer; run: any }> {
  const restartedAt = Date.now();
  const server = await restartServer(context);
  const run = await waitForRun(server, scenario.pipeline, scenario.runId, scenario.timeoutMs);
  console.log(
    `${scenario.name}: ${scenario.runId} ended ${run.status} ${seconds(Date.now() - restartedAt)} after the restart (${seconds(run.totalDuration ?? 0)} in all; ` +
      `stages ${(run.stages ?? []).map((stage: any) => `${stage.name} ${seconds(stage.durationMs ?? 0)}`).join(", ")}; attempts ${attemptsOf(run)})`,
  );
  for (const line of notableLog([killed, server], scenario.runId)) console.log(`${scenario.name}: server log: ${line}`);
  scenario.check("the run resumed and succeeded", run.status === "succeeded" && run.resumes >= 1, `status ${run.status}, resumes ${run.resumes}, attempts ${attemptsOf(run)}${run.error ? `, error ${run.error}` : ""}`);
  return { server, run };
}

/** A run's stages as `e1 t1 l2` (attempts per stage). */
export function attemptsOf(run: any): string {
  return (run.stages ?? []).map((stage: any) => `${String(stage.name)[0]}${stage.attempts}`).join(" ");
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The objects of the local R2 buckets whose keys start with `prefix`, read from miniflare's store under
 * the persist dir (`v3/r2/miniflare-R2BucketObject/*.sqlite`, table `_mf_objects`): the bucket as it is,
 * not as a manifest says it is. Read-only; safe while the server runs (SQLite WAL), exact once it is
 * stopped. Throws if that store is not where miniflare keeps it, so a change of layout fails loudly
 * (unless `beforeAnyWrite`: nothing was stored in any bucket yet, so there is no store).
 */
export function localR2Objects(persistTo: string, prefix: string, { beforeAnyWrite = false } = {}): { key: string; size: number }[] {
  const folder = join(persistTo, "v3", "r2", "miniflare-R2BucketObject");
  if (beforeAnyWrite && !existsSync(folder)) return [];
  if (!existsSync(folder)) throw new Error(`no local R2 store at ${folder} (has miniflare's layout changed?)`);
  // Loaded when first needed: node:sqlite warns that it is experimental, and most scenarios never read it.
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite");
  const objects: { key: string; size: number }[] = [];
  let stores = 0;
  for (const file of readdirSync(folder)) {
    if (!file.endsWith(".sqlite") || file === "metadata.sqlite") continue;
    const db = new DatabaseSync(join(folder, file), { readOnly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_mf_objects'").all();
      if (tables.length === 0) continue;
      stores += 1;
      const rows = db.prepare("SELECT key, size FROM _mf_objects WHERE substr(key, 1, ?) = ? ORDER BY key").all(prefix.length, prefix) as { key: string; size: number }[];
      for (const row of rows) objects.push({ key: String(row.key), size: Number(row.size) });
    } finally {
      db.close();
    }
  }
  if (stores === 0 && !beforeAnyWrite) throw new Error(`no bucket store (_mf_objects) under ${folder} (has miniflare's layout changed?)`);
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
