/**
 * A run that does not succeed says exactly what it wrote: after a cancel inside a chunk or a failure in a
 * later batch, its `loaded` is the number of its rows in the table (counted here), and nothing more is
 * written after it says so. A poison record (text no destination can store as it came) is one rejection,
 * never the run.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { afterEach, describe, expect, it } from "vitest";
import { deployment } from "../../src/pipelines";
import { MAX_ROWS_PER_STATEMENT } from "../../src/destinations/d1/writes";
import { listRejections } from "../support/db";
import { network } from "../support/network";
import { eventually, finished, uniqueName } from "../support/runtime";
import { runPipeline } from "../support/runs";
import { httpSource, settingsFor, uniquePipeline } from "../support/settings";
import { events } from "../support/test-pipelines";

const API = "https://written.example.test";
afterEach(() => network.resetHandlers());

const reading = (id: string) => JSON.stringify({ id, value: "5", timestamp: "2024-05-01T00:00:00Z", metadata: { type: "t" } });
const ndjson = (count: number, line: (index: number) => string) => Array.from({ length: count }, (_, index) => line(index)).join("\n");

async function rowsOfRun(table: string, runId: string): Promise<number> {
  return (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE run_id = ?`).bind(runId).first<{ n: number }>())!.n;
}

describe("a cancel during load", () => {
  it.each([
    ["inside one chunk", 20_000],
    ["among chunks of 1,000", 1_000],
  ])("lands between batches (%s), and the run's loaded is exactly the rows of it in the table", { timeout: 60_000 }, async (_, chunkRecords) => {
    // A load in its turn (overlap off: a load following transform writes aside and publishes at the end, see
    // load-overlap.test.ts). One chunk (under the 3 MiB cap) written a statement a batch: the old load looked for a cancel between chunks
    // only. A trigger that makes every row of these runs cost real work keeps the load at work for seconds,
    // well past its first progress report (250 ms in), however fast the machine writes.
    await env.DB.exec(
      "CREATE TRIGGER IF NOT EXISTS test_slow_cancel_load AFTER INSERT ON metrics WHEN NEW.pipeline LIKE 'cancel-load-%' BEGIN SELECT length(hex(randomblob(100000))); END",
    );
    const total = 20_000;
    network.use(http.get(`${API}/many.ndjson`, () => new HttpResponse(ndjson(total, (index) => reading(`r${index}`)))));
    const name = uniquePipeline("cancel-load");
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const runId = `manual-${Date.now()}`;
    const settings = settingsFor(name, { sources: [httpSource(`${API}/many.ndjson`, { format: "ndjson" })], chunkRecords, statementsPerBatch: 1, stageTimeoutMs: 60_000, overlap: false });
    expect((await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings })).outcome).toBe("started");
    await eventually(
      () => coordinator.getRun(runId),
      (run) => run?.currentStage === "load" && (run.stages[2]!.outputCount ?? 0) > 0,
      50_000,
    );
    const cancelled = await coordinator.cancelRun(runId, "enough");
    expect(cancelled.outcome).toBe("cancelled");
    const run = (cancelled as { run: { accounting: { loaded: number }; finalResult: { recordCount: number }; stages: { outputCount: number | null }[] } }).run;
    const rows = await rowsOfRun("metrics", runId);
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(total);
    expect(run.accounting.loaded).toBe(rows);
    expect(run.finalResult.recordCount).toBe(rows);
    // Nothing is written after the run says what it wrote.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await rowsOfRun("metrics", runId)).toBe(rows);
    expect((await coordinator.getRun(runId))!.accounting.loaded).toBe(rows);
  });
});

describe("a failure in a later batch of the load", () => {
  it("fails the run with loaded equal to the rows the earlier batches wrote", { timeout: 60_000 }, async () => {
    const table = "test_events_checked";
    await env.DB.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, at INTEGER NOT NULL, weight REAL NOT NULL CHECK (weight < 1000), run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER)`,
    );
    const name = uniqueName("fail-load");
    deployment.add({ ...events, name });
    const total = 3_000;
    const poison = 2_345; // the table refuses this one row, in the middle of the batch that carries it
    network.use(http.get(`${API}/events.ndjson`, () => new HttpResponse(ndjson(total, (index) => JSON.stringify({ id: `e${index}`, kind: "click", at: index, weight: index === poison ? 5_000 : 1 })))));
    const base = settingsFor(name, {}, events);
    const { run, runId } = await runPipeline({ sources: [httpSource(`${API}/events.ndjson`, { format: "ndjson" })], destination: { ...base.destination, table } as typeof base.destination, chunkRecords: 1_000, statementsPerBatch: 1 }, name, 30_000);
    expect(run.status).toBe("failed");
    expect(run.error).toContain("CHECK constraint failed");
    const rows = await rowsOfRun(table, runId);
    // A batch of one statement: the statements before the poison's are written, that one and what follows are not.
    expect(rows).toBe(Math.floor(poison / MAX_ROWS_PER_STATEMENT) * MAX_ROWS_PER_STATEMENT);
    expect(rows).toBeGreaterThan(0);
    expect(run.accounting.loaded).toBe(rows);
    expect(run.finalResult!.recordCount).toBe(rows);
  });
});

describe("a poison record", () => {
  it("with a lone surrogate in its key is one rejection naming the field; the run succeeds and a rerun does too", async () => {
    const body = [JSON.stringify({ id: "dup-\ud800", value: "1", timestamp: "2024-05-01T00:00:00Z" }), JSON.stringify({ id: "dup-\ud800", value: "2", timestamp: "2024-05-01T00:00:00Z" }), reading("fine")].join("\n");
    expect(body).toContain("\\ud800"); // the source sends the escape, as JSON may
    network.use(http.get(`${API}/poison.ndjson`, () => new HttpResponse(body)));
    const name = uniquePipeline("poison");
    for (let round = 0; round < 2; round += 1) {
      const { run, runId } = await runPipeline({ sources: [httpSource(`${API}/poison.ndjson`, { format: "ndjson" })] }, name);
      expect(run.status).toBe("succeeded");
      expect(run.accounting).toEqual({ extracted: 3, loaded: 1, rejected: 2, skipped: 0, balanced: true });
      expect(run.rejected[0]!.reason).toBe(
        "the transform's row does not fit metrics: id is not well-formed Unicode (a lone surrogate \\ud800 at character 5), which no destination can store as it came",
      );
      expect(await rowsOfRun("metrics", runId)).toBe(1);
      // The rejection keeps the id readable: its lone surrogate written as its escape.
      const stored = await listRejections(env.DB, name, runId);
      expect(stored.map((row) => row.record_id)).toEqual(["dup-\\ud800", "dup-\\ud800"]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
});

it("a run that never reached load is not counted (nothing to ask the table)", async () => {
  network.use(http.get(`${API}/broken.ndjson`, () => new HttpResponse("nope", { status: 404 })));
  const { run } = await runPipeline({ sources: [httpSource(`${API}/broken.ndjson`, { format: "ndjson" })] });
  expect(run.status).toBe("failed");
  expect(run.accounting.loaded).toBe(0);
  expect(run.stages[2]!.outputCount).toBeNull();
  void finished;
});
