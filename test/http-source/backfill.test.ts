/**
 * Backfills against a source MSW plays, one file per day: a week of daily slots runs one at a time,
 * oldest first, each reading its own day; asking again runs nothing that succeeded; a scheduled slot that
 * fires during a backfill run waits for it and is not lost; a manual trigger is refused meanwhile.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { ALERT_HOOK, network } from "../support/network";
import { apiJson, eventually, fireArmedSlot, uniqueName } from "../support/runtime";
import { settingsFor } from "../support/settings";
import { createDailyTable, DAILY_SOURCE, dailyPipeline } from "../support/test-pipelines";

const post = (path: string, body?: unknown) =>
  apiJson(path, body === undefined ? { method: "POST" } : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Answers every day's file with two readings of that day, and records which files were read. */
function dayFiles(reads: string[], hold?: Promise<void>) {
  network.use(
    http.get(`${DAILY_SOURCE}/:file`, async ({ params, request }) => {
      const day = String(params.file).replace(/\.json$/, "");
      reads.push(`${day}?${new URL(request.url).searchParams.toString()}`);
      if (hold && reads.length === 1) await hold;
      return HttpResponse.json([
        { id: "a", day, value: 1 },
        { id: "b", day, value: 2 },
      ]);
    }),
  );
}

async function backfillDone(base: string, id: string) {
  return (await eventually(() => apiJson(`${base}/backfills/${id}`), (response) => response.body.status !== "running", 15_000)).body;
}

async function runsOf(name: string): Promise<any[]> {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  return (await coordinator.getHistory(100, null)).runs.reverse();
}

describe("backfill", () => {
  it("runs a week of daily slots one at a time, oldest first, each reading its own day; again, it runs nothing", async () => {
    const name = dailyPipeline(uniqueName("week"));
    const base = `/api/pipelines/${name}`;
    const reads: string[] = [];
    dayFiles(reads);

    const started = await post(`${base}/backfill`, { from: "2026-11-01", to: "2026-11-08" });
    expect(started.status).toBe(202);
    // 03:00 in Berlin is 02:00 UTC in November.
    const slots = Array.from({ length: 7 }, (_, day) => Date.parse(`2026-11-0${day + 1}T02:00:00Z`));
    expect(started.body).toEqual({
      backfillId: expect.stringMatching(/^bf-\d+$/),
      pipeline: name,
      status: "running",
      slots,
      timezone: "Europe/Berlin",
      slotsLocal: ["01", "02", "03", "04", "05", "06", "07"].map((day) => `2026-11-${day}T03:00:00+01:00`),
      toRun: 7,
      skipped: 0,
      cascade: null,
      statusUrl: `${base}/backfills/${started.body.backfillId}`,
    });
    expect(started.headers.get("location")).toBe(started.body.statusUrl);

    const done = await backfillDone(base, started.body.backfillId);
    expect(done).toMatchObject({ status: "succeeded", reprocess: "none", counts: { succeeded: 7, failed: 0, skipped: 0, pending: 0, running: 0, cancelled: 0 }, endedAt: expect.any(Number) });
    expect(done.slots.map((slot: any) => [slot.scheduledFor, slot.status])).toEqual(slots.map((slot) => [slot, "succeeded"]));
    expect(reads).toEqual(["01", "02", "03", "04", "05", "06", "07"].map((day) => `2026-11-${day}?region=eu`));

    const runs = await runsOf(name);
    expect(runs.map((run: any) => [run.trigger, run.scheduledFor, run.status, run.backfillId])).toEqual(slots.map((slot) => ["backfill", slot, "succeeded", started.body.backfillId]));
    // One at a time: each run started after the one before it ended.
    for (let index = 1; index < runs.length; index += 1) expect(runs[index].startTime).toBeGreaterThanOrEqual(runs[index - 1].endTime);
    expect(done.slots.map((slot: any) => slot.runId)).toEqual(runs.map((run: any) => run.pipelineId));

    const rows = await env.DB.prepare("SELECT day, slot, run_id FROM test_daily WHERE run_id LIKE ? ORDER BY day, reading_id").bind(`backfill-%-${started.body.backfillId}`).all<{ day: string; slot: number; run_id: string }>();
    expect(rows.results.map((row) => row.day)).toEqual(["01", "01", "02", "02", "03", "03", "04", "04", "05", "05", "06", "06", "07", "07"].map((day) => `2026-11-${day}`));
    expect(rows.results.filter((row) => row.day === "2026-11-03").every((row) => row.slot === slots[2])).toBe(true);

    const again = await post(`${base}/backfill`, { from: "2026-11-01", to: "2026-11-08" });
    expect(again.body).toMatchObject({ status: "succeeded", toRun: 0, skipped: 7 });
    const repeat = (await apiJson(again.body.statusUrl)).body;
    expect(repeat.slots[0]).toMatchObject({ status: "skipped", runId: null, reason: `already succeeded (run ${runs[0].pipelineId}); reprocess "all" runs it again` });
    expect(reads).toHaveLength(7);

    const all = await post(`${base}/backfill`, { from: "2026-11-06", to: "2026-11-08", reprocess: "all", params: { region: "us" } });
    expect(all.body).toMatchObject({ toRun: 2, skipped: 0 });
    expect((await backfillDone(base, all.body.backfillId)).status).toBe("succeeded");
    expect(reads.slice(7)).toEqual(["2026-11-06?region=us", "2026-11-07?region=us"]);
    expect((await apiJson(`${base}/backfills`)).body.backfills.map((entry: any) => entry.backfillId)).toEqual([all.body.backfillId, again.body.backfillId, started.body.backfillId]);
  });

  it("a slot that fires during a backfill run waits for it and runs before the next; a manual trigger is refused meanwhile", async () => {
    const name = dailyPipeline(uniqueName("interleave"));
    const base = `/api/pipelines/${name}`;
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    await scheduler.ensureArmed();
    let release!: () => void;
    const reads: string[] = [];
    dayFiles(reads, new Promise<void>((resolve) => (release = resolve)));

    const backfill = (await post(`${base}/backfill`, { from: "2026-11-01", to: "2026-11-03" })).body;
    const first = await eventually(() => apiJson(backfill.statusUrl), (response) => response.body.slots[0].status === "running");
    const firstRunId = first.body.slots[0].runId;

    const manual = await post(`${base}/trigger`);
    expect(manual.status).toBe(409);
    expect(manual.body.errors[0]).toEqual({ code: "run_in_progress", message: `run ${firstRunId} (backfill ${backfill.backfillId}, whose next run starts when this one ends) is still running; trigger again when it has finished` });

    // The schedule's own slot fires now, during the backfill's first run.
    const [armed] = await runInScheduler(name);
    expect(await fireArmedSlot(name)).toBe(true);
    const slot = armed!;
    const ledger = (await apiJson(`${base}/slots?from=${slot}&to=${slot + 1}`)).body;
    expect(ledger.slots).toEqual([expect.objectContaining({ scheduledFor: slot, state: "pending", reason: "waiting for the backfill's current run to end" })]);

    release();
    expect((await backfillDone(base, backfill.backfillId)).status).toBe("succeeded");
    const runs = await eventually(() => runsOf(name), (list) => list.length === 3 && list.every((run: any) => run.status === "succeeded"));
    expect(runs.map((run: any) => [run.trigger, run.scheduledFor])).toEqual([
      ["backfill", Date.parse("2026-11-01T02:00:00Z")],
      ["scheduled", slot],
      ["backfill", Date.parse("2026-11-02T02:00:00Z")],
    ]);
    expect(runs[1].startTime).toBeGreaterThanOrEqual(runs[0].endTime);
    expect(runs[2].startTime).toBeGreaterThanOrEqual(runs[1].endTime);
    expect((await apiJson(`${base}/slots?from=${slot}&to=${slot + 1}`)).body.slots[0]).toMatchObject({ state: "ran", runId: `scheduled-${slot}`, status: "succeeded" });
  });

  it("a cancelled backfill stops after its current run", async () => {
    const name = dailyPipeline(uniqueName("cancel"));
    const base = `/api/pipelines/${name}`;
    let release!: () => void;
    dayFiles([], new Promise<void>((resolve) => (release = resolve)));
    const backfill = (await post(`${base}/backfill`, { from: "2026-11-01", to: "2026-11-05" })).body;
    await eventually(() => apiJson(backfill.statusUrl), (response) => response.body.slots[0].status === "running");
    const cancelled = await post(`${backfill.statusUrl}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: "cancelled", endedAt: null, counts: { running: 1, cancelled: 3 } });
    expect((await post(`${backfill.statusUrl}/cancel`)).status).toBe(409);
    release();
    const done = await eventually(() => apiJson(backfill.statusUrl), (response) => response.body.endedAt !== null);
    expect(done.body.slots.map((slot: any) => slot.status)).toEqual(["succeeded", "cancelled", "cancelled", "cancelled"]);
    expect((await runsOf(name)).length).toBe(1);
  });
});

describe("a slot is never run twice", () => {
  it("a backfill skips a slot the schedule ran meanwhile, and the schedule does not rerun a slot a backfill covered", async () => {
    const name = dailyPipeline(uniqueName("twice"));
    const base = `/api/pipelines/${name}`;
    let release!: () => void;
    const reads: string[] = [];
    dayFiles(reads, new Promise<void>((resolve) => (release = resolve)));
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const slots = ["01", "02", "03"].map((day) => Date.parse(`2026-11-${day}T02:00:00Z`));
    const backfill = (await post(`${base}/backfill`, { from: "2026-11-01", to: "2026-11-04" })).body;
    await eventually(() => apiJson(backfill.statusUrl), (response) => response.body.slots[0].status === "running");
    // The third slot's scheduled delivery (a backlog slot after an outage) arrives during the first backfill run.
    const settings = settingsFor(name);
    expect((await coordinator.startRun({ runId: `scheduled-${slots[2]}`, trigger: "scheduled", scheduledFor: slots[2]!, settings, ifIdle: true })).outcome).toBe("queued");
    release();
    const done = await backfillDone(base, backfill.backfillId);
    expect(done.slots.map((slot: any) => [slot.status, slot.reason])).toEqual([
      ["succeeded", null],
      ["succeeded", null],
      ["skipped", `ran since the backfill started (run scheduled-${slots[2]}, succeeded)`],
    ]);
    expect((await runsOf(name)).map((run: any) => run.pipelineId)).toEqual([`backfill-${slots[0]}-${backfill.backfillId}`, `scheduled-${slots[2]}`, `backfill-${slots[1]}-${backfill.backfillId}`]);
    // The other way round: the second slot's scheduled delivery after the backfill ran it starts nothing.
    expect(await coordinator.startRun({ runId: `scheduled-${slots[1]}`, trigger: "scheduled", scheduledFor: slots[1]!, settings })).toEqual({ outcome: "covered", runId: `backfill-${slots[1]}-${backfill.backfillId}` });
    expect(reads).toHaveLength(3);
  });

  it("a backfill left with a slot marked running by a crash finishes on the next wake", async () => {
    const name = dailyPipeline(uniqueName("crash"));
    const base = `/api/pipelines/${name}`;
    dayFiles([]);
    const backfill = (await post(`${base}/backfill`, { from: "2026-11-01", to: "2026-11-03" })).body;
    await backfillDone(base, backfill.backfillId);
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    // What a crash between marking a slot running and saving its run would leave behind.
    await runInDurableObject(coordinator, (_instance, state) => {
      const [row] = state.storage.sql.exec("SELECT doc FROM backfills WHERE backfill_id = ?", backfill.backfillId).toArray() as { doc: string }[];
      const doc = JSON.parse(row!.doc);
      doc.status = "running";
      doc.endedAt = null;
      doc.slots[1] = { ...doc.slots[1], status: "running", runId: `backfill-${doc.slots[1].scheduledFor}-never-saved` };
      state.storage.sql.exec("UPDATE backfills SET status = 'running', doc = ? WHERE backfill_id = ?", JSON.stringify(doc), backfill.backfillId);
    });
    await coordinator.startNextRun();
    const done = await backfillDone(base, backfill.backfillId);
    // The slot is taken up again; its earlier run had succeeded, so it is not run twice.
    expect(done).toMatchObject({ status: "succeeded", endedAt: expect.any(Number), counts: { succeeded: 1, skipped: 1, running: 0 } });
    expect(done.slots[1].reason).toMatch(/^ran since the backfill started \(run backfill-\d+-bf-\d+, succeeded\)$/);
    expect(await runsOf(name)).toHaveLength(2);
  });

  it("a slot's day is read in the time zone of the schedule in force, also one set through the API", async () => {
    const name = dailyPipeline(uniqueName("tokyo"));
    const base = `/api/pipelines/${name}`;
    const reads: string[] = [];
    dayFiles(reads);
    await apiJson(`${base}/schedule`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ cron: "0 0 * * *", timezone: "Asia/Tokyo" }) });
    // Midnight in Tokyo on 2 November is 15:00 UTC on 1 November.
    const backfill = (await post(`${base}/backfill`, { from: "2026-11-01T12:00:00Z", to: "2026-11-01T18:00:00Z" })).body;
    expect(backfill.slots).toEqual([Date.parse("2026-11-01T15:00:00Z")]);
    expect((await backfillDone(base, backfill.backfillId)).status).toBe("succeeded");
    expect(reads).toEqual(["2026-11-02?region=eu"]);
  });
});

describe("backfill alerts", () => {
  it("a backfill against a source that is down alerts once, when it ends, not once per slot", async () => {
    const name = dailyPipeline(uniqueName("down"));
    const base = `/api/pipelines/${name}`;
    const received: any[] = [];
    network.use(
      http.post(ALERT_HOOK, async ({ request }) => (received.push(await request.json()), new HttpResponse(null, { status: 204 }))),
      http.get(`${DAILY_SOURCE}/:file`, ({ params }) => (String(params.file).startsWith("2026-11-02") ? HttpResponse.json([]) : new HttpResponse("down", { status: 503 }))),
    );
    const backfill = (await post(`${base}/backfill`, { from: "2026-11-01", to: "2026-11-04" })).body;
    const done = await backfillDone(base, backfill.backfillId);
    expect(done.counts).toMatchObject({ succeeded: 1, failed: 2 });
    const alert = await eventually(() => apiJson(backfill.statusUrl), (response) => response.body.alert?.status === "delivered");
    expect(alert.body.alert).toEqual({ status: "delivered", attempts: 1, at: expect.any(Number) });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      event: "backfill_failed",
      pipeline: name,
      backfillId: backfill.backfillId,
      counts: { succeeded: 1, failed: 2, cancelled: 0, skipped: 0 },
      failed: [
        { scheduledFor: "2026-11-01T02:00:00.000Z", runId: `backfill-${Date.parse("2026-11-01T02:00:00Z")}-${backfill.backfillId}` },
        { scheduledFor: "2026-11-03T02:00:00.000Z" },
      ],
      statusUrl: `https://pipeline.example.test${base}/backfills/${backfill.backfillId}`,
    });
    expect(received[0].text).toMatch(new RegExp(`^:red_circle: Pipeline \\*${name}\\*: backfill ${backfill.backfillId} ended with 2 of 3 slots failed; first: extract stage failed: the source`));
    // Its runs alerted nothing one by one.
    const runs = await runsOf(name);
    expect(runs.flatMap((run: any) => run.alerts)).toEqual([]);
  });
});

describe("the slot reaches the source", () => {
  it("a backfill run sends no watermark and leaves it alone, back or forward", async () => {
    const table = `test_daily_wm_${Date.now()}`;
    await createDailyTable(table);
    const name = dailyPipeline(uniqueName("watermark"), {
      destination: { table, key: ["reading_id", "day"], columns: { reading_id: "text", day: "text", region: "text", value: "real", slot: { type: "integer", nullable: true } } },
      watermark: { column: "day", param: "since" },
    });
    const base = `/api/pipelines/${name}`;
    const urls: string[] = [];
    network.use(
      http.get(`${DAILY_SOURCE}/:file`, ({ params, request }) => {
        urls.push(request.url);
        const day = String(params.file).replace(/\.json$/, "");
        // An old day's file that holds a row corrected much later: its value is past the watermark.
        return HttpResponse.json([{ id: "a", day, value: 1 }, ...(day === "2026-01-01" ? [{ id: "corrected", day: "2099-12-31", value: 2 }] : [])]);
      }),
    );
    // A manual run today: the watermark becomes today's file's day.
    const today = (await post(`${base}/trigger?wait=true`)).body.run;
    expect(today.status).toBe("succeeded");
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const watermark = await coordinator.getWatermark();
    expect(watermark).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    const backfill = (await post(`${base}/backfill`, { from: "2026-01-01", to: "2026-01-02" })).body;
    expect((await backfillDone(base, backfill.backfillId)).status).toBe("succeeded");
    expect(urls.at(-1)).toBe(`${DAILY_SOURCE}/2026-01-01.json?region=eu`);
    expect(await coordinator.getWatermark()).toBe(watermark);
    // The next ordinary run sends the watermark as before.
    await post(`${base}/trigger?wait=true`);
    expect(new URL(urls.at(-1)!).searchParams.get("since")).toBe(watermark);
  });
});

async function runInScheduler(name: string): Promise<number[]> {
  const scheduler = await getAgentByName(env.PipelineScheduler, name);
  return (await scheduler.describeSchedule()).map((view) => view.nextExecuteAt!).filter((slot) => slot !== null);
}
