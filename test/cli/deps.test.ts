/**
 * Data-aware triggers in the terminal: `pipeline deps` draws which pipeline feeds which as text, `slots`
 * says what a waiting slot waits for, and `status` what fed a run. The text is pinned on fixed answers;
 * the commands run against a local server playing the API (scripts/cli-test.ts runs them against a real
 * `wrangler dev`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli";
import { depsLines, edgeLines, owedText, triggeredLines, waitingSlotLines } from "../../src/cli/deps";
import { EXIT } from "../../src/cli/exit-codes";
import { lineageLines } from "../../src/cli/progress";
import { time } from "../../src/display/format";
import { startRun } from "../../src/domain/run";
import { toRunView } from "../../src/domain/run-view";

const BERLIN = "Europe/Berlin";
const at = (ms: number | null | undefined, zone: string) => time(ms, zone);
const berlin = (ms: number) => time(ms, BERLIN);
const NOW = Date.parse("2026-12-02T03:30:00+01:00");
const slotAt = (local: string) => Date.parse(local);

const NO_TRIGGERS = { after: [], wait: null, downstream: [], objects: null, events: { debounceMs: 0, maxWaitMs: 0, maxEvents: 1000 } };

function pipeline(name: string, triggers: Record<string, unknown> | null = {}, fields: Record<string, unknown> = {}) {
  return {
    name,
    description: "",
    state: "ready" as const,
    problems: [],
    schedule: { cron: "15 * * * *", every: null, timezone: BERLIN, enabled: true, nextExecuteAt: null },
    destination: "d1://db/t",
    params: null,
    lastRun: null,
    triggers: triggers === null ? null : { ...NO_TRIGGERS, ...triggers },
    waiting: [],
    ...fields,
  };
}

const owed = {
  pipeline: "orders",
  from: slotAt("2026-12-01T00:00:00+01:00"),
  to: slotAt("2026-12-02T00:00:00+01:00"),
  slots: [
    { scheduledFor: slotAt("2026-12-01T11:15:00+01:00"), state: "ran", runId: "backfill-1", status: "failed" as const },
    { scheduledFor: slotAt("2026-12-01T12:15:00+01:00"), state: "missed", runId: null, status: null },
    { scheduledFor: slotAt("2026-12-01T13:15:00+01:00"), state: "missed", runId: null, status: null },
    { scheduledFor: slotAt("2026-12-01T14:15:00+01:00"), state: "missed", runId: null, status: null },
  ],
  count: 5,
  problem: null,
};

const waitingSlot = (local: string, sinceMs: number) => ({ scheduledFor: slotAt(local), scheduledForLocal: local, since: NOW - sinceMs, waitingFor: [owed] });

const DEPLOYMENT = [
  pipeline("orders", { downstream: ["orders-daily"] }),
  pipeline(
    "orders-daily",
    { after: [{ pipeline: "orders", slots: "day" }], wait: { waitMs: 7_200_000, whenLate: "miss" } },
    { schedule: { cron: "30 2 * * *", every: null, timezone: BERLIN, enabled: true, nextExecuteAt: null }, waiting: [waitingSlot("2026-12-02T02:30:00+01:00", 3_600_000)] },
  ),
  pipeline("store-drops", { objects: { bucket: "scheduled-pipeline-uploads", prefix: "drops/", suffix: ".csv", debounceMs: 30_000 }, events: { debounceMs: 60_000, maxWaitMs: 600_000, maxEvents: 50 } }),
  pipeline("broken", null, { state: "invalid", problems: ["x"] }),
];

describe("pipeline deps, as text", () => {
  it("lists the graph's edges: upstream → downstream with the mapping, and the objects and events that start a pipeline", () => {
    expect(edgeLines(DEPLOYMENT)).toEqual(["orders → orders-daily (day)", "objects scheduled-pipeline-uploads/drops/*.csv → store-drops", "events (debounce 1m 00s) → store-drops"]);
  });

  it("shows each pipeline with what it runs after and how long it waits, what runs after it, its triggers and its waiting slots", () => {
    expect(depsLines(DEPLOYMENT, null, at, NOW)).toEqual([
      "graph:",
      "  orders → orders-daily (day)",
      "  objects scheduled-pipeline-uploads/drops/*.csv → store-drops",
      "  events (debounce 1m 00s) → store-drops",
      "",
      "orders · ready · cron 15 * * * * (Europe/Berlin)",
      "  runs after   -",
      "  runs before  orders-daily (day)",
      "  events       each one posted (POST …/events) is a run",
      "",
      "orders-daily · ready · cron 30 2 * * * (Europe/Berlin)",
      "  runs after   orders: each slot waits for the orders slots of the day before it (day)",
      "  waits        up to 2h 00m after its slot for its upstream, then the slot is missed (whenLate: miss)",
      "  runs before  -",
      "  events       each one posted (POST …/events) is a run",
      "  waiting      2026-12-02 02:30:00+01:00 (waiting 1h 00m, late at 2026-12-02 04:30:00+01:00): orders: 5 slots not succeeded: 2026-12-01 11:15:00+01:00 failed (backfill-1), 2026-12-01 12:15:00+01:00 missed, 2026-12-01 13:15:00+01:00 missed, +2 more",
      "",
      "store-drops · ready · cron 15 * * * * (Europe/Berlin)",
      "  runs after   -",
      "  runs before  -",
      "  objects      landing in scheduled-pipeline-uploads/drops/*.csv start a run (debounce 30.0 s)",
      "  events       posted within 1m 00s of each other make one run (at most 10m 00s after the first, or at 50)",
      "",
      "broken · invalid · cron 15 * * * * (Europe/Berlin)",
      "  triggers     unknown: its definition was set aside (`pipeline list` says why)",
    ]);
  });

  it("shows one pipeline's place alone, and a pipeline that waits for nothing now says so", () => {
    const idle = DEPLOYMENT.map((entry) => (entry.name === "orders-daily" ? { ...entry, waiting: [] } : entry));
    expect(depsLines(idle, "orders-daily", at, NOW)).toEqual([
      "orders-daily · ready · cron 30 2 * * * (Europe/Berlin)",
      "  runs after   orders: each slot waits for the orders slots of the day before it (day)",
      "  waits        up to 2h 00m after its slot for its upstream, then the slot is missed (whenLate: miss)",
      "  runs before  -",
      "  events       each one posted (POST …/events) is a run",
      "  waiting      no slot",
    ]);
    expect(depsLines([pipeline("default")], null, at, NOW)[0]).toBe("no pipeline runs after another, and none is started by objects or events");
  });

  it("puts waiting slots that wait for the same thing on one line", () => {
    const many = ["02:30", "03:30", "04:30", "05:30"].map((clock, index) => waitingSlot(`2026-12-02T${clock}:00+01:00`, (4 - index) * 60_000));
    const lines = depsLines([pipeline("orders-daily", { after: [{ pipeline: "orders", slots: "interval" }], wait: { waitMs: 60_000, whenLate: "run" } }, { waiting: many })], "orders-daily", at, NOW);
    expect(lines[1]).toBe("  runs after   orders: each slot waits for the orders slots since its previous slot (interval)");
    expect(lines[2]).toBe("  waits        up to 1m 00s after its slot for its upstream, then it runs on what is there (whenLate: run)");
    expect(lines.at(-1)).toMatch(/^ {2}waiting {6}4 slots, 2026-12-02 02:30:00\+01:00 to 2026-12-02 05:30:00\+01:00 \(the oldest waiting 4m 00s, late at 2026-12-02 02:31:00\+01:00\): orders: 5 slots/);
  });
});

describe("pipeline slots, waiting and triggered", () => {
  it("names what a waiting slot waits for, the slots that wait for the same together", () => {
    const slot = (local: string, state: string, waitingFor: (typeof owed)[] | null = null) => ({ scheduledFor: slotAt(local), state, waitingFor });
    const lines = waitingSlotLines(
      [slot("2026-12-02T02:30:00+01:00", "waiting", [owed]), slot("2026-12-02T02:31:00+01:00", "waiting", [owed]), slot("2026-12-02T02:32:00+01:00", "pending"), slot("2026-12-02T02:33:00+01:00", "waiting", [])],
      berlin,
    );
    expect(lines).toEqual([
      "2026-12-02 02:30:00+01:00, 2026-12-02 02:31:00+01:00 wait for orders: 5 slots not succeeded: 2026-12-01 11:15:00+01:00 failed (backfill-1), 2026-12-01 12:15:00+01:00 missed, 2026-12-01 13:15:00+01:00 missed, +2 more",
      "2026-12-02 02:33:00+01:00 waits for its upstream is in; waiting for the pipeline to be free",
    ]);
    expect(owedText({ ...owed, slots: [], count: 0, problem: "its definition is invalid" }, berlin)).toBe("orders: its definition is invalid");
  });

  it("lists the runs outside the slots with the objects or events that started them", () => {
    const admittedAt = slotAt("2026-12-02T03:00:00+01:00");
    expect(
      triggeredLines(
        [
          { runId: "object-1", trigger: "object", admittedAt, objects: [{ key: "drops/a.csv", etag: "1" }, { key: "drops/b.csv", etag: "2" }, { key: "drops/c.csv", etag: "3" }, { key: "drops/d.csv", etag: "4" }], events: [] },
          { runId: "event-1", trigger: "event", admittedAt, objects: [], events: [{ id: "ev-1", idempotencyKey: "k" }] },
        ],
        berlin,
      ),
    ).toEqual(["object-1: object run, admitted 2026-12-02 03:00:00+01:00, 4 objects: drops/a.csv, drops/b.csv, drops/c.csv, +1 more", "event-1: event run, admitted 2026-12-02 03:00:00+01:00, 1 event: ev-1 (key k)"]);
  });
});

const run = (fields: Record<string, unknown> = {}) => ({
  ...toRunView(startRun({ runId: "upstream-1", pipeline: "orders-daily", trigger: "upstream", scheduledFor: slotAt("2026-12-02T02:30:00+01:00"), destination: "d1://db/t", now: 0 })),
  timezone: BERLIN,
  ...fields,
});

describe("a run's lineage in status", () => {
  it("names the upstream runs it consumed, per upstream, then what it ran without, what started it and its cascade", () => {
    const upstream = [0, 1, 2, 3].map((index) => ({ pipeline: "orders", scheduledFor: slotAt(`2026-12-01T1${index}:15:00+01:00`), runId: `scheduled-${index}` }));
    const lineage = { upstream: [...upstream, { pipeline: "stock", scheduledFor: slotAt("2026-12-01T23:00:00+01:00"), runId: "scheduled-s" }], missingUpstream: "orders: 1 slot not succeeded", objects: [{ key: "drops/a.csv", etag: "e" }], events: [{ id: "ev-1", idempotencyKey: null }], cascadeOf: "bf-1" };
    expect(lineageLines(run({ lineage }), berlin)).toEqual([
      "upstream orders: 4 runs for its slots 2026-12-01 10:15:00+01:00 to 2026-12-01 13:15:00+01:00: scheduled-0, scheduled-1, scheduled-2, +1 more",
      "upstream stock: 1 run for its slot 2026-12-01 23:00:00+01:00: scheduled-s",
      "ran without all its upstream: orders: 1 slot not succeeded",
      "started by 1 object: drops/a.csv",
      "started by 1 event: ev-1",
      "part of the cascade of backfill bf-1",
    ]);
    expect(lineageLines(run(), berlin)).toEqual([]);
  });
});

function capture() {
  let text = "";
  const stream = new Writable({ write: (chunk, _encoding, done) => ((text += chunk.toString()), done()) }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

async function cli(args: string[], env: Record<string, string>) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(args, { stdout: stdout.stream, stderr: stderr.stream, env });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A local server answering GET paths from `answers` (anything else: the API's 404). */
async function playing(answers: Record<string, unknown>) {
  const { createServer } = await import("node:http");
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "").split("?")[0]!;
    if (path in answers) response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answers[path]));
    else response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "pipeline_not_found", message: `no pipeline named "${path.split("/")[3]}"` }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { env: { PIPELINE_API_URL: `http://127.0.0.1:${port}` }, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("the commands", () => {
  it("deps prints the graph, --json the API's JSON, and an unknown pipeline is a usage error", async () => {
    const api = await playing({ "/api/pipelines": { pipelines: DEPLOYMENT } });
    const text = await cli(["deps"], api.env);
    expect(text.code).toBe(EXIT.ok);
    expect(text.stdout).toContain("  orders → orders-daily (day)\n");
    expect(text.stdout).toMatch(/orders-daily · ready[^\n]*\n {2}runs after {3}orders: each slot waits/);
    const json = await cli(["--json", "deps"], api.env);
    expect(JSON.parse(json.stdout)).toEqual({ pipelines: DEPLOYMENT });
    const one = await cli(["--json", "deps", "orders-daily"], api.env);
    expect((JSON.parse(one.stdout) as { name: string }).name).toBe("orders-daily");
    const missing = await cli(["deps", "nope"], api.env);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toBe('error: no pipeline named "nope" (pipeline_not_found)\n');
    await api.close();
  });

  it("slots lists a waiting slot with what it waits for; status shows the upstream runs a run consumed", async () => {
    const entry = { scheduledFor: slotAt("2026-12-02T02:30:00+01:00"), scheduledForLocal: "2026-12-02T02:30:00+01:00", state: "waiting", runId: null, status: null, reason: "waiting for its upstream: orders: 5 slots not succeeded (1 of the first 4 failed)", startedLateByMs: null, deadlineAt: null, deadlineMet: null, waitingFor: [owed], backfill: null, alerts: [] };
    const slots = { from: 0, to: 1, timezone: BERLIN, fromLocal: "", toLocal: "", slots: [entry], triggered: [] };
    const consumed = run({ lineage: { upstream: [{ pipeline: "orders", scheduledFor: owed.slots[0]!.scheduledFor, runId: "retry-1" }], missingUpstream: null, objects: [], events: [], cascadeOf: null } });
    const api = await playing({ "/api/pipelines/orders-daily/slots": slots, "/api/pipelines/orders-daily/runs/upstream-1": consumed });
    const ledger = await cli(["slots", "orders-daily"], api.env);
    expect(ledger.code).toBe(EXIT.ok);
    expect(ledger.stdout).toMatch(/^orders-daily: 1 waiting\n/);
    expect(ledger.stdout).toMatch(/2026-12-02 02:30:00\+01:00\s+waiting\s+-\s+-\s+-\s+-\s+-\s+waiting for its upstream: orders: 5 slots not succeeded/);
    expect(ledger.stdout).toContain("waiting for their upstream:\n  2026-12-02 02:30:00+01:00 waits for orders: 5 slots not succeeded: 2026-12-01 11:15:00+01:00 failed (backfill-1), ");
    const status = await cli(["status", "upstream-1", "--pipeline", "orders-daily"], api.env);
    expect(status.stdout).toContain("upstream-1 · orders-daily · upstream · running");
    expect(status.stdout).toContain("upstream orders: 1 run for its slot 2026-12-01 11:15:00+01:00: retry-1\n");
    await api.close();
  });

  it("shows control characters in pipeline names and waiting reasons escaped", async () => {
    const hostile = "\u001b]0;owned\u0007";
    const api = await playing({ "/api/pipelines": { pipelines: [pipeline("a", { downstream: [hostile] }), pipeline(hostile, { after: [{ pipeline: "a", slots: "day" }] }, { waiting: [{ ...waitingSlot("2026-12-02T02:30:00+01:00", 0), waitingFor: [{ ...owed, problem: hostile }] }] })] } });
    const result = await cli(["deps"], api.env);
    expect(result.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(result.stdout).toContain("\\u001b]0;owned\\u0007");
    await api.close();
  });
});
