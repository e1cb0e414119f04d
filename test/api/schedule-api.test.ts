/**
 * Operating the schedule over HTTP: replace and change it (cron or interval, time zone), pause and resume
 * it, reset it to the configuration; it survives a crash of every object and never leaves two slots
 * armed. Then missed runs on real agents, and the stats endpoint.
 */
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { uniquePipeline } from "../support/settings";
import { describe, expect, it } from "vitest";
import { BACKLOG_CALLBACK, SLOT_CALLBACK, type PipelineScheduler } from "../../src/agents/pipeline-scheduler";
import { DEFAULT_SCHEDULE, nextSlot } from "../../src/domain/schedule";
import { apiJson, eventually, finished, fireJob, hasJob } from "../support/runtime";

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { "content-type": "application/json" } });

async function armed(name = "default") {
  return runInDurableObject(env.PipelineScheduler.getByName(name), async (instance: PipelineScheduler) =>
    (await instance.listSchedules()).filter((schedule) => schedule.callback === SLOT_CALLBACK).map((schedule) => (schedule.payload as { slot: number }).slot),
  );
}

describe("changing the schedule", () => {
  it("PUT sets a cron in a time zone: 03:00 Europe/Berlin, one slot armed", async () => {
    const { status, body } = await apiJson("/api/pipeline/schedule", json("PUT", { cron: "0 3 * * *", timezone: "Europe/Berlin" }));
    expect(status).toBe(200);
    const expected = nextSlot({ ...DEFAULT_SCHEDULE, timezone: "Europe/Berlin" }, Date.now());
    expect(body).toEqual([
      expect.objectContaining({ cron: "0 3 * * *", every: null, timezone: "Europe/Berlin", enabled: true, missedRuns: "latest", source: "api", nextExecuteAt: expected }),
    ]);
    expect(await armed()).toEqual([expected]);
  });

  it("PATCH switches to a fixed interval and keeps the rest; still one slot armed", async () => {
    await apiJson("/api/pipeline/schedule", json("PUT", { cron: "0 3 * * *", timezone: "Europe/Berlin", missedRuns: "skip" }));
    const { status, body } = await apiJson("/api/pipeline/schedule", json("PATCH", { interval: "6h" }));
    expect(status).toBe(200);
    expect(body[0]).toMatchObject({ cron: null, every: "6h", interval: 21_600_000, timezone: "Europe/Berlin", missedRuns: "skip" });
    const six = 21_600_000;
    expect(await armed()).toEqual([(Math.floor(Date.now() / six) + 1) * six]);
  });

  it.each([
    [{ cron: "0 25 * * *" }, "PUT", "invalid_schedule", 'cron "0 25 * * *": the hour field 25 is out of range 0-23'],
    [{ cron: "0 3 * * *", timezone: "Mars/Olympus" }, "PUT", "invalid_schedule", 'timezone "Mars/Olympus" is not an IANA time zone (for example "Europe/Berlin" or "UTC")'],
    [{ interval: "often" }, "PATCH", "invalid_schedule", 'interval "often" is not a duration like "90s", "15m", "6h" or "1d"'],
    [{ interval: "30s" }, "PATCH", "invalid_schedule", "interval must be between 1 minute and 366 days, got 30000 ms"],
    [{ cron: "0 3 * * *", interval: "1h" }, "PUT", "invalid_body", "set exactly one of cron and interval"],
    [{ timezone: "UTC" }, "PUT", "invalid_body", "set exactly one of cron and interval"],
    [{}, "PATCH", "invalid_body", "change at least one field"],
    [{ enabled: "yes" }, "PATCH", "invalid_body", "enabled"],
  ])("refuses %j (%s) with 400 naming the problem, and changes nothing", async (body, method, code, message) => {
    const before = await apiJson("/api/pipeline/schedule");
    const response = await apiJson("/api/pipeline/schedule", json(method, body));
    expect(response.status).toBe(400);
    expect(response.body.errors[0].code).toBe(code);
    expect(response.body.errors[0].message).toContain(message);
    expect((await apiJson("/api/pipeline/schedule")).body).toEqual(before.body);
  });

  it("pause disarms the schedule and resume arms it again", async () => {
    await apiJson("/api/pipeline/schedule", json("PUT", { cron: "0 3 * * *" }));
    const paused = await apiJson("/api/pipeline/schedule/pause", { method: "POST" });
    expect(paused.body[0]).toMatchObject({ enabled: false, nextExecuteAt: null });
    expect(await armed()).toEqual([]);
    const resumed = await apiJson("/api/pipeline/schedule/resume", { method: "POST" });
    expect(resumed.body[0]).toMatchObject({ enabled: true, nextExecuteAt: nextSlot(DEFAULT_SCHEDULE, Date.now()) });
    expect(await armed()).toHaveLength(1);
  });

  it("pausing the pipeline's own schedule keeps it the pipeline's own (source config), and survives a crash", async () => {
    await apiJson("/api/pipeline/schedule", { method: "DELETE" });
    const paused = await apiJson("/api/pipeline/schedule/pause", { method: "POST" });
    expect(paused.body[0]).toMatchObject({ cron: "0 3 * * *", enabled: false, nextExecuteAt: null, source: "config" });
    expect(await armed()).toEqual([]);
    await abortAllDurableObjects();
    expect((await apiJson("/api/pipeline/schedule")).body[0]).toMatchObject({ enabled: false, source: "config" });
    const resumed = await apiJson("/api/pipeline/schedule/resume", { method: "POST" });
    expect(resumed.body[0]).toMatchObject({ enabled: true, source: "config", nextExecuteAt: nextSlot(DEFAULT_SCHEDULE, Date.now()) });
    expect(await armed()).toHaveLength(1);
  });

  it("survives a crash of every object, and DELETE returns to the configuration", async () => {
    await apiJson("/api/pipeline/schedule", json("PUT", { cron: "15 4 * * 1-5", timezone: "America/New_York" }));
    await abortAllDurableObjects();
    const after = await apiJson("/api/pipeline/schedule");
    expect(after.body[0]).toMatchObject({ cron: "15 4 * * 1-5", timezone: "America/New_York", source: "api" });
    expect(await armed()).toHaveLength(1);
    const reset = await apiJson("/api/pipeline/schedule", { method: "DELETE" });
    expect(reset.body[0]).toMatchObject({ cron: "0 3 * * *", timezone: "UTC", source: "config" });
    expect(await armed()).toEqual([nextSlot(DEFAULT_SCHEDULE, Date.now())]);
  });
});

describe("missed runs", () => {
  const HOUR = 3_600_000;

  /**
   * A scheduler whose last handled slot was `hours` slots ago, as after an outage. The hourly cron fires 30
   * minutes away from now, so the newest missed slot is always about 30 minutes old: past the 10-minute
   * grace in which a late slot still counts as on time, whatever the hour the test runs at.
   */
  async function afterOutage(missedRuns: string, hours: number, maxCatchUp = 10) {
    const name = uniquePipeline("outage");
    const scheduler = env.PipelineScheduler.getByName(name);
    const minute = (new Date().getUTCMinutes() + 30) % 60;
    expect((await scheduler.updateSchedule({ cron: `${minute} * * * *`, missedRuns: missedRuns as "latest", maxCatchUp }, "replace")).ok).toBe(true);
    const newest = nextSlot({ ...DEFAULT_SCHEDULE, cron: `${minute} * * * *` }, Date.now())! - HOUR;
    const lastSlot = newest - hours * HOUR;
    await runInDurableObject(scheduler, (_instance, state) => state.storage.sql.exec("UPDATE schedule_state SET last_slot = ?", lastSlot));
    await scheduler.ensureArmed();
    return { name, scheduler, lastSlot, coordinator: env.PipelineCoordinator.getByName(name) };
  }

  const byStatus = (runs: { pipelineId: string; status: string }[]) => runs.map((run) => [run.pipelineId, run.status]);

  it("latest: runs the most recent missed slot once and records the others as skipped", async () => {
    const { coordinator, lastSlot } = await afterOutage("latest", 3);
    const newest = `scheduled-${lastSlot + 3 * HOUR}`;
    await finished(() => coordinator.getRun(newest), 10_000);
    const runs = (await coordinator.getHistory(10, null)).runs;
    expect(byStatus(runs)).toEqual([
      [newest, "succeeded"],
      [`scheduled-${lastSlot + 2 * HOUR}`, "skipped"],
      [`scheduled-${lastSlot + HOUR}`, "skipped"],
    ]);
    expect(runs[1]!.error).toBe('skipped: missed: the service did not run at the slot time (missed-run policy "latest")');
  });

  it("skip: runs none of them", async () => {
    const { coordinator } = await afterOutage("skip", 2);
    const runs = (await coordinator.getHistory(10, null)).runs;
    expect(runs.map((run) => run.status)).toEqual(["skipped", "skipped"]);
  });

  it("all: runs each missed slot in order, one at a time, bounded by maxCatchUp", async () => {
    const { scheduler, coordinator, lastSlot } = await afterOutage("all", 4, 3);
    const first = `scheduled-${lastSlot + 2 * HOUR}`;
    await finished(() => coordinator.getRun(first), 10_000);
    expect((await scheduler.describeSchedule())[0]!.backlog).toEqual([lastSlot + 3 * HOUR, lastSlot + 4 * HOUR]);
    for (const hour of [3, 4]) {
      await runInDurableObject(scheduler, (instance: PipelineScheduler) => instance.drainBacklog());
      await finished(() => coordinator.getRun(`scheduled-${lastSlot + hour * HOUR}`), 10_000);
    }
    const runs = (await coordinator.getHistory(10, null)).runs;
    expect(byStatus(runs).reverse()).toEqual([
      [`scheduled-${lastSlot + HOUR}`, "skipped"],
      [first, "succeeded"],
      [`scheduled-${lastSlot + 3 * HOUR}`, "succeeded"],
      [`scheduled-${lastSlot + 4 * HOUR}`, "succeeded"],
    ]);
    expect((await scheduler.describeSchedule())[0]!.backlog).toEqual([]);
  });

  it("all: the backlog's own alarm carries it to the end, one slot per firing", async () => {
    const { scheduler, coordinator, lastSlot } = await afterOutage("all", 4, 3);
    await finished(() => coordinator.getRun(`scheduled-${lastSlot + 2 * HOUR}`), 10_000);
    for (const hour of [3, 4]) {
      // The alarm that drains the backlog must leave the next one armed while slots remain.
      expect(await hasJob(scheduler, BACKLOG_CALLBACK)).toBe(true);
      await fireJob(scheduler, BACKLOG_CALLBACK);
      await finished(() => coordinator.getRun(`scheduled-${lastSlot + hour * HOUR}`), 10_000);
    }
    expect((await scheduler.describeSchedule())[0]!.backlog).toEqual([]);
  });

  it("a backlog run waits while another run is active instead of being skipped", async () => {
    const { scheduler, coordinator, lastSlot } = await afterOutage("all", 2);
    // The first missed slot is running; draining now must not record the second as skipped.
    await runInDurableObject(scheduler, (instance: PipelineScheduler) => instance.drainBacklog());
    const second = await coordinator.getRun(`scheduled-${lastSlot + 2 * HOUR}`);
    expect(second === null || second.status !== "skipped").toBe(true);
    await eventually(() => coordinator.getRun(`scheduled-${lastSlot + HOUR}`), (run) => run?.status === "succeeded");
  });
});

describe("GET /api/pipeline/stats", () => {
  it("reports rates, counts, durations and a series for charts", async () => {
    await apiJson("/api/pipeline/trigger?wait=true", { method: "POST" });
    await apiJson("/api/pipeline/trigger?wait=true", { method: "POST" });
    const { status, body } = await apiJson("/api/pipeline/stats?window=7d");
    expect(status).toBe(200);
    expect(body).toMatchObject({ window: "7d", successRate: 1, byStatus: { succeeded: body.runs, failed: 0 }, records: { loaded: 3 * body.runs, rejected: body.runs } });
    expect(body.runs).toBeGreaterThanOrEqual(2);
    expect(body.durationMs.p50).toBeGreaterThan(0);
    expect(body.durationMs.max).toBeGreaterThanOrEqual(body.durationMs.p95);
    expect(body.series.at(-1)).toMatchObject({ status: "succeeded", loaded: 3, rejected: 1, trigger: "manual" });
    expect((await apiJson("/api/pipeline/stats")).body.window).toBe("30d");
    expect((await apiJson("/api/pipeline/stats?window=all")).body.from).toBeNull();
  });

  it("refuses an unknown window", async () => {
    const { status, body } = await apiJson("/api/pipeline/stats?window=1y");
    expect(status).toBe(400);
    expect(body.errors[0].message).toBe('invalid query: window: must be "7d", "30d" or "all"');
  });
});
