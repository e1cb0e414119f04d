/**
 * Operating runs through the API, in the runtime with the built-in sample sources: backfill requests that
 * cannot be served answer 400/409/404 naming the problem; the slot ledger's range rules; the hourly check
 * finds a lost alarm, re-arms it and says so in the log's place (the stats).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it } from "vitest";
import { SLOT_CALLBACK, type PipelineScheduler } from "../../src/agents/pipeline-scheduler";
import { events } from "../support/test-pipelines";
import { apiJson, eventually, uniqueName } from "../support/runtime";
import { pipelineNamed } from "../support/settings";

const DAY = 86_400_000;
const post = (path: string, body?: unknown) =>
  apiJson(path, body === undefined ? { method: "POST" } : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

function eventsPipeline(prefix: string, changes: Record<string, unknown> = {}): string {
  const name = uniqueName(prefix);
  pipelineNamed(name, { ...events, ...changes } as typeof events);
  return `/api/pipelines/${name}`;
}

describe("backfill requests", () => {
  it("answer 400 naming the problem: an empty or reversed range, a bad time, too many slots, slots still to come", async () => {
    const base = eventsPipeline("bad-backfill");
    const cases: [unknown, string, string][] = [
      [{ from: "2026-11-02", to: "2026-11-01" }, "invalid_body", "invalid body: from: from must be before to"],
      [{ from: "yesterday", to: "2026-11-01" }, "invalid_body", "invalid body: from: must be an ISO 8601 time with its offset (2026-11-01T00:00:00Z), a date (2026-11-01, a day in the pipeline's time zone) or epoch milliseconds"],
      [{ from: "2026-11-01T00:00:00", to: "2026-11-02" }, "invalid_body", "invalid body: from: must be an ISO 8601 time"],
      [{ from: "2026-11-01", to: "2026-11-02", reprocess: "some" }, "invalid_body", 'invalid body: reprocess: Invalid option: expected one of "none"|"failed"|"all"'],
      [{ from: "2026-11-01T01:00:00Z", to: "2026-11-01T05:00:00Z" }, "invalid_range", "holds no slot of this pipeline's schedule (every 6h)"],
      [{ from: "2026-01-01", to: "2026-12-01" }, "too_many_slots", "holds more than 1000 slots of this pipeline's schedule; backfill at most 1000 at a time"],
      [{ from: Date.now() - DAY, to: Date.now() + DAY }, "invalid_range", "holds slots still to come"],
      [{ from: "2026-11-01", to: "2026-11-02", params: { x: 1 } }, "invalid_params", "invalid params: params.x: is not a param"],
      [{ from: 0, to: 9_000_000_000_000_000 }, "invalid_body", "invalid body: to: must be between 1970-01-01 and 9999-12-31"],
      [{ from: "0000-01-01", to: "2026-11-02" }, "invalid_body", "invalid body: from: must be between 1970-01-01 and 9999-12-31"],
      [{ from: "2026-02-30", to: "2026-03-02" }, "invalid_body", "invalid body: from: must be an ISO 8601 time"],
      [{ from: "9999-12-30", to: "9999-12-31" }, "invalid_range", "holds slots still to come"],
    ];
    for (const [body, code, message] of cases) {
      const response = await post(`${base}/backfill`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.errors[0].code).toBe(code);
      expect(response.body.errors[0].message).toContain(message);
    }
    expect((await apiJson(`${base}/backfills`)).body).toEqual({ backfills: [] });
  });

  it("one backfill at a time: another answers 409 with the active one's status URL; unknown ids 404", async () => {
    const base = eventsPipeline("one-backfill");
    const first = await post(`${base}/backfill`, { from: Date.now() - 40 * DAY, to: Date.now() - DAY });
    expect(first.status).toBe(202);
    expect(first.body.toRun).toBeGreaterThan(100);
    const second = await post(`${base}/backfill`, { from: "2026-01-01", to: "2026-01-02" });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ errors: [{ code: "backfill_in_progress" }], backfillId: first.body.backfillId, statusUrl: first.body.statusUrl });
    const cancelled = await post(`${first.body.statusUrl}/cancel`);
    expect(cancelled.body.status).toBe("cancelled");
    await eventually(() => apiJson(first.body.statusUrl), (response) => response.body.endedAt !== null);
    expect((await apiJson(`${base}/backfills/bf-0`)).body.errors[0]).toEqual({ code: "backfill_not_found", message: 'no backfill with id "bf-0"' });
  });
});

describe("the slot ledger", () => {
  it("defaults to the last seven days and the next slot; refuses a range of more than 1,000 slots", async () => {
    const base = eventsPipeline("ledger", { schedule: { every: "1h" } });
    const { body } = await apiJson(`${base}/slots`);
    expect(body.to - body.from).toBe(7 * DAY);
    const last = body.slots.at(-1);
    expect(last).toMatchObject({ state: "pending", runId: null, deadlineAt: null, deadlineMet: null, alerts: [] });
    expect(last.scheduledFor).toBeGreaterThan(Date.now());
    // The scheduler started just now: earlier slots were never expected, so only the next one is listed.
    expect(body.slots).toHaveLength(1);
    // Years before the schedule existed hold no expected slot.
    expect((await apiJson(`${base}/slots?from=2020-01-01&to=${Date.now()}`)).body.slots).toEqual([]);
    const future = await apiJson(`${base}/slots?from=${Date.now()}&to=${Date.now() + 60 * DAY}`);
    expect(future.body.errors[0]).toEqual({ code: "too_many_slots", message: "the range holds more than 1000 slots; ask for a shorter range" });
    expect((await apiJson(`${base}/slots?from=2026-11-02&to=2026-11-01`)).body.errors[0]).toEqual({ code: "invalid_query", message: "invalid query: from must be before to" });
    expect((await apiJson(`${base}/slots?from=8999999999999990&to=9000000000000000`)).body.errors[0].code).toBe("invalid_query");
    expect((await apiJson(`${base}/slots?from=9999-12-30&to=9999-12-31`)).status).toBe(200);
    // The end of the range is checked like its start: never a 200 with a start before 1970.
    for (const to of ["0", "-1", "1969-12-31"]) expect((await apiJson(`${base}/slots?to=${to}`)).body.errors[0].code, to).toBe("invalid_query");
    const early = await apiJson(`${base}/slots?to=86400000`);
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ from: 0, to: 86_400_000, slots: [] });
  });
});

describe("the hourly alarm check", () => {
  it("re-arms a slot whose Durable Object alarm was lost, or whose schedule row disappeared, and counts it in the stats", async () => {
    const base = eventsPipeline("alarm");
    const name = base.split("/").at(-1)!;
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    await scheduler.ensureArmed();
    const stats = async () => (await apiJson(`${base}/stats`)).body.schedule;
    expect(await stats()).toEqual({ lastCheckAt: expect.any(Number), rearms: 0, lastRearmAt: null, lastRearmReason: null });
    const next = (await scheduler.describeSchedule())[0]!.nextExecuteAt!;

    await runInDurableObject(scheduler, (_instance, state) => state.storage.deleteAlarm());
    await scheduler.ensureArmed();
    expect(await stats()).toMatchObject({ rearms: 1, lastRearmReason: `the Durable Object alarm was not set (next slot ${new Date(next).toISOString()})` });
    const alarm = await runInDurableObject(scheduler, (_instance, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(next);

    await runInDurableObject(scheduler, async (instance: PipelineScheduler) => {
      for (const schedule of await instance.listSchedules()) if (schedule.callback === SLOT_CALLBACK) await instance.cancelSchedule(schedule.id);
    });
    await scheduler.ensureArmed();
    expect(await stats()).toMatchObject({ rearms: 2, lastRearmReason: `the alarm for the next slot (${new Date(next).toISOString()}) had disappeared` });
    const armed = await runInDurableObject(scheduler, async (instance: PipelineScheduler) => (await instance.listSchedules()).filter((schedule) => schedule.callback === SLOT_CALLBACK));
    expect(armed.map((schedule) => (schedule.payload as { slot: number }).slot)).toEqual([next]);

    // A healthy schedule is left alone, and pausing and resuming is not a lost alarm.
    await scheduler.ensureArmed();
    await post(`${base}/schedule/pause`);
    await post(`${base}/schedule/resume`);
    await scheduler.ensureArmed();
    expect((await stats()).rearms).toBe(2);
  });
});
