/**
 * Events posted to the API (`POST …/events`): the body is the run's params, refused with the same 400s as
 * a trigger's; an Idempotency-Key makes a repeated request (also concurrent ones) answer the same event
 * and run, and a reuse with another body 422; a debounced burst of equal params is one run listing every
 * event, other params their own run; an event for a busy pipeline waits and runs once it is free (never a
 * 409); the runs appear in the slot ledger's `triggered`.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { EVENTS_CALLBACK } from "../../src/agents/pipeline-scheduler";
import { network } from "../support/network";
import { api, apiJson, eventually, finished, fireEventRuns, fireJob, hasJob, uniqueName } from "../support/runtime";
import { settingsFor } from "../support/settings";
import { DAILY_SOURCE, dailyPipeline } from "../support/test-pipelines";

const JSON_HEADERS = { "content-type": "application/json" };

function post(base: string, body: unknown, key?: string) {
  const headers: Record<string, string> = { ...JSON_HEADERS, ...(key === undefined ? {} : { "idempotency-key": key }) };
  return apiJson(`${base}/events`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

const trigger = (base: string, body: string) => apiJson(`${base}/trigger`, { method: "POST", headers: JSON_HEADERS, body });

/** The daily pipeline's source: one reading per request, after `gate` opens (open by default). */
function source(gate: Promise<void> = Promise.resolve()) {
  const requests: URL[] = [];
  network.use(
    http.get(`${DAILY_SOURCE}/:file`, async ({ params, request }) => {
      requests.push(new URL(request.url));
      await gate;
      return HttpResponse.json([{ id: "r", day: String(params.file).replace(/\.json$/, ""), value: 10 }]);
    }),
  );
  return requests;
}

async function runOf(name: string, runId: string) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  return finished(() => coordinator.getRun(runId));
}

const historyOf = async (base: string) => (await apiJson(`${base}/history`)).body.runs as { pipelineId: string; trigger: string; status: string }[];

describe("POST …/events: the body is the run's params", () => {
  it("refuses params that do not fit with the same 400s as POST …/trigger, and starts nothing", async () => {
    const name = dailyPipeline(uniqueName("events"));
    const base = `/api/pipelines/${name}`;
    const requests = source();
    for (const params of ['{"region":"asia","factor":-1}', '{"regoin":"us"}', '{"__proto__":{"regoin":2}}', '{"constructor":1}']) {
      const event = await post(base, params);
      const triggered = await trigger(base, `{"params":${params}}`);
      expect(triggered.status, params).toBe(400);
      expect(event.status, params).toBe(400);
      expect(event.body, params).toEqual(triggered.body);
      expect(event.body.errors[0].code, params).toBe("invalid_params");
    }
    expect((await post(base, '["us"]')).body).toEqual({ errors: [{ code: "invalid_body", message: "invalid body: must be an object of parameters" }] });
    expect((await post(base, "{")).body.errors[0].code).toBe("invalid_json");
    expect((await api(`${base}/events`, { method: "POST", headers: { "content-type": "text/plain" }, body: "region=us" })).status).toBe(415);
    for (const key of ["two words", "x".repeat(256), "a\tb"]) {
      const refused = await api(`${base}/events`, { method: "POST", headers: { ...JSON_HEADERS, "idempotency-key": key }, body: "{}" });
      expect(refused.status, key).toBe(400);
      expect(await refused.json(), key).toEqual({
        errors: [{ code: "invalid_header", message: "invalid header: idempotency-key: must be 1 to 255 visible ASCII characters (letters, digits, punctuation; no spaces)" }],
      });
    }
    expect(requests).toEqual([]);
    expect(await historyOf(base)).toEqual([]);
  });

  it("without a debounce, starts a run at once with the body as params, and answers where to follow it", async () => {
    const name = dailyPipeline(uniqueName("events"));
    const base = `/api/pipelines/${name}`;
    const requests = source();
    const before = Date.now();
    const accepted = await post(base, { region: "us" });
    expect(accepted.status).toBe(202);
    const { event, run, statusUrl, eventUrl } = accepted.body;
    expect(event).toEqual({ id: expect.stringMatching(/^ev-\d{13}-\d+$/), idempotencyKey: null, receivedAt: expect.any(Number), status: "started", runId: expect.stringMatching(/^event-\d{13}-\d+$/), startsAt: event.receivedAt, params: { region: "us", factor: 1 } });
    expect(event.receivedAt).toBeGreaterThanOrEqual(before);
    expect(run).toMatchObject({ pipelineId: event.runId, trigger: "event", scheduledFor: null, params: { region: "us", factor: 1 }, lineage: { events: [{ id: event.id, idempotencyKey: null }] } });
    expect(statusUrl).toBe(`${base}/runs/${event.runId}`);
    expect(eventUrl).toBe(`${base}/events/${event.id}`);
    expect(accepted.headers.get("location")).toBe(eventUrl);
    expect(accepted.headers.get("idempotent-replayed")).toBeNull();

    const done = await runOf(name, event.runId);
    expect(done).toMatchObject({ status: "succeeded", trigger: "event", params: { region: "us", factor: 1 } });
    expect(requests.map((url) => url.searchParams.get("region"))).toEqual(["us"]);
    const described = await apiJson(eventUrl);
    expect(described.status).toBe(200);
    expect(described.body).toMatchObject({ event, statusUrl, eventUrl, run: { pipelineId: event.runId, status: "succeeded" } });

    // An empty body is the defaults; each event without a debounce is a run of its own.
    const defaults = await api(`${base}/events`, { method: "POST" });
    expect(defaults.status).toBe(202);
    const second = ((await defaults.json()) as { event: { runId: string; params: unknown } }).event;
    expect(second).toMatchObject({ status: "started", params: { region: "eu", factor: 1 } });
    expect(second.runId).not.toBe(event.runId);
    await runOf(name, second.runId);
    expect((await historyOf(base)).map((entry) => entry.trigger)).toEqual(["event", "event"]);
    expect((await apiJson(`${base}/events/ev-1-1`)).body).toEqual({ errors: [{ code: "event_not_found", message: 'no event with id "ev-1-1"' }] });
  });
});

describe("Idempotency-Key", () => {
  it("a repeated request, concurrent or later, answers the same event and run with Idempotent-Replayed, and one run is made", async () => {
    const name = dailyPipeline(uniqueName("events"));
    const base = `/api/pipelines/${name}`;
    source();
    const key = crypto.randomUUID();
    // The same params in another key order are the same request.
    const bodies = ['{"region":"us","factor":2}', '{"factor":2,"region":"us"}', '{ "region": "us", "factor": 2 }', '{"region":"us","factor":2}', '{"factor":2,"region":"us"}'];
    const answers = await Promise.all(bodies.map((body) => post(base, body, key)));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
    const [first] = answers;
    for (const answer of answers) {
      expect(answer.body.event).toMatchObject({ id: first!.body.event.id, runId: first!.body.event.runId, idempotencyKey: key, status: "started" });
      expect(answer.body.run.pipelineId).toBe(first!.body.event.runId);
    }
    expect(answers.filter((answer) => answer.headers.get("idempotent-replayed") === "true")).toHaveLength(4);
    expect(answers.filter((answer) => answer.headers.get("idempotent-replayed") === null)).toHaveLength(1);

    await runOf(name, first!.body.event.runId);
    const later = await post(base, { region: "us", factor: 2 }, key);
    expect(later.status).toBe(202);
    expect(later.headers.get("idempotent-replayed")).toBe("true");
    expect(later.body).toMatchObject({ event: { id: first!.body.event.id, status: "started" }, run: { pipelineId: first!.body.event.runId, status: "succeeded", lineage: { events: [{ id: first!.body.event.id, idempotencyKey: key }] } } });
    expect((await historyOf(base)).map((entry) => entry.pipelineId)).toEqual([first!.body.event.runId]);
  });

  it("is kept 48 h (longer while its event waits), then forgotten; the event itself 30 days after its run started", async () => {
    const name = dailyPipeline(uniqueName("events"));
    const base = `/api/pipelines/${name}`;
    source();
    const first = (await post(base, { region: "us" }, "nightly")).body;
    await runOf(name, first.event.runId);
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    // Time passes: the stored times move back, as fireJob moves a job's.
    const age = (ms: number) =>
      runInDurableObject(scheduler, (_instance, state) => {
        state.storage.sql.exec("UPDATE idempotency_keys SET created_at = created_at - ?", ms);
        state.storage.sql.exec("UPDATE api_event_runs SET started_at = started_at - ?", ms);
      });
    await age(47 * 3_600_000);
    const kept = await post(base, { region: "us" }, "nightly");
    expect(kept.headers.get("idempotent-replayed")).toBe("true");
    expect(kept.body.event.id).toBe(first.event.id);
    await age(2 * 3_600_000);
    const fresh = await post(base, { region: "eu" }, "nightly");
    expect(fresh.status).toBe(202);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(fresh.body.event.id).not.toBe(first.event.id);
    await runOf(name, fresh.body.event.runId);
    expect((await apiJson(first.eventUrl)).status).toBe(200);
    await age(30 * 86_400_000);
    await post(base, { region: "us" });
    expect((await apiJson(`${base}/events/${first.event.id}`)).body.errors[0].code).toBe("event_not_found");
  });

  it("the same key with other params answers 422 idempotency_key_reused and starts nothing", async () => {
    const name = dailyPipeline(uniqueName("events"));
    const base = `/api/pipelines/${name}`;
    source();
    const first = await post(base, { region: "us" }, "order-1042");
    expect(first.status).toBe(202);
    await runOf(name, first.body.event.runId);
    for (const other of [{ region: "eu" }, {}, { region: "us", factor: 1 }]) {
      const reused = await post(base, other, "order-1042");
      expect(reused.status, JSON.stringify(other)).toBe(422);
      expect(reused.body, JSON.stringify(other)).toEqual({
        errors: [{ code: "idempotency_key_reused", message: `the Idempotency-Key "order-1042" was used for event ${first.body.event.id} with other params; use a new key for a new event` }],
        eventId: first.body.event.id,
      });
    }
    // A key is the pipeline's: another pipeline's event with it is its own.
    const elsewhere = dailyPipeline(uniqueName("events"));
    expect((await post(`/api/pipelines/${elsewhere}`, { region: "eu" }, "order-1042")).status).toBe(202);
    expect(await historyOf(base)).toHaveLength(1);
  });
});

describe("debounced events", () => {
  it("a burst of equal params is one run listing every event; other params are a run of their own; both in the ledger", async () => {
    const name = dailyPipeline(uniqueName("events"), { triggers: { events: { debounce: "1m" } } });
    const base = `/api/pipelines/${name}`;
    const requests = source();
    const us = [];
    for (let index = 0; index < 5; index += 1) us.push((await post(base, { region: "us" }, index % 2 === 0 ? `us-${index}` : undefined)).body);
    // `{}` is the defaults, region "eu": the same params as the explicit ones.
    const eu = [(await post(base, { region: "eu" })).body, (await post(base, {})).body, (await post(base, { factor: 1 }, "eu-2")).body];
    for (const answer of [...us, ...eu]) {
      expect(answer.event.status).toBe("pending");
      expect(answer.run).toBeUndefined();
      expect(answer.event.startsAt).toBeGreaterThan(answer.event.receivedAt);
    }
    const usRun = us[0].event.runId;
    const euRun = eu[0].event.runId;
    expect(new Set(us.map((answer) => answer.event.runId))).toEqual(new Set([usRun]));
    expect(new Set(eu.map((answer) => answer.event.runId))).toEqual(new Set([euRun]));
    expect(usRun).not.toBe(euRun);
    // The window slides: the run is due a debounce after its last event.
    expect(us[4].event.startsAt).toBeGreaterThanOrEqual(us[0].event.startsAt);
    expect(us[4].event.startsAt).toBe(us[4].event.receivedAt + 60_000);
    expect(await historyOf(base)).toEqual([]);
    expect(requests).toEqual([]);

    // The windows close: the run that came due first starts; the other waits for it, then starts.
    expect(await fireEventRuns(name)).toBe(true);
    const first = await runOf(name, usRun);
    expect(first.lineage.events).toEqual(us.map((answer) => ({ id: answer.event.id, idempotencyKey: answer.event.idempotencyKey })));
    expect(first.lineage.events.map((event) => event.idempotencyKey)).toEqual(["us-0", null, "us-2", null, "us-4"]);
    expect(first).toMatchObject({ status: "succeeded", trigger: "event", params: { region: "us", factor: 1 } });
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    expect((await apiJson(`${base}/events/${eu[0].event.id}`)).body.event.status).toBe("pending");
    expect(await hasJob(scheduler, EVENTS_CALLBACK)).toBe(true);
    expect(await fireJob(scheduler, EVENTS_CALLBACK)).toBe(true);
    const second = await runOf(name, euRun);
    expect(second.lineage.events).toEqual(eu.map((answer) => ({ id: answer.event.id, idempotencyKey: answer.event.idempotencyKey })));
    expect(second.params).toEqual({ region: "eu", factor: 1 });
    expect((await historyOf(base)).map((entry) => entry.pipelineId).sort()).toEqual([usRun, euRun].sort());
    expect(requests.map((url) => url.searchParams.get("region")).sort()).toEqual(["eu", "us"]);

    const ledger = await apiJson(`${base}/slots`);
    expect(ledger.status).toBe(200);
    expect(ledger.body.triggered).toEqual([
      { runId: usRun, trigger: "event", admittedAt: expect.any(Number), objects: [], events: first.lineage.events },
      { runId: euRun, trigger: "event", admittedAt: expect.any(Number), objects: [], events: second.lineage.events },
    ]);
    expect(ledger.body.triggered[0].admittedAt).toBeLessThanOrEqual(ledger.body.triggered[1].admittedAt);
    const done = await apiJson(`${base}/events/${us[1].event.id}`);
    expect(done.body).toMatchObject({ event: { status: "started", runId: usRun }, run: { pipelineId: usRun, status: "succeeded" } });
  });

  it("a start cut off before it was noted finds the same run: no second one", async () => {
    const name = dailyPipeline(uniqueName("events"), { triggers: { events: { debounce: "1m" } } });
    const base = `/api/pipelines/${name}`;
    source();
    const pending = (await post(base, { region: "us" }, "cut-off")).body.event;
    // As if a pass had started the run and stopped before writing that down.
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const direct = await coordinator.startRun({ runId: pending.runId, trigger: "event", scheduledFor: null, params: pending.params, settings: settingsFor(name) });
    expect(direct.outcome).toBe("started");
    await runOf(name, pending.runId);
    expect(await fireEventRuns(name)).toBe(true);
    expect((await apiJson(`${base}/events/${pending.id}`)).body).toMatchObject({ event: { status: "started", runId: pending.runId }, run: { pipelineId: pending.runId, status: "succeeded" } });
    expect((await historyOf(base)).map((entry) => entry.pipelineId)).toEqual([pending.runId]);
  });

  it("the key of an event still waiting is kept past 48 h", async () => {
    const name = dailyPipeline(uniqueName("events"), { triggers: { events: { debounce: "1m" } } });
    const base = `/api/pipelines/${name}`;
    source();
    const first = (await post(base, { region: "us" }, "slow-window")).body;
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    await runInDurableObject(scheduler, (_instance, state) => void state.storage.sql.exec("UPDATE idempotency_keys SET created_at = created_at - ?", 49 * 3_600_000));
    const again = await post(base, { region: "us" }, "slow-window");
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.event).toMatchObject({ id: first.event.id, status: "pending" });
  });

  it("an event after its run started opens the next run", async () => {
    const name = dailyPipeline(uniqueName("events"), { triggers: { events: { debounce: "1m", maxEvents: 2 } } });
    const base = `/api/pipelines/${name}`;
    source();
    const one = (await post(base, { region: "us" })).body;
    expect(one.event.status).toBe("pending");
    // The event that fills the run to maxEvents makes it due now.
    const two = (await post(base, { region: "us" })).body;
    expect(two.event).toMatchObject({ runId: one.event.runId, status: "started" });
    expect(two.run.lineage.events.map((event: { id: string }) => event.id)).toEqual([one.event.id, two.event.id]);
    const three = (await post(base, { region: "us" })).body;
    expect(three.event.status).toBe("pending");
    expect(three.event.runId).not.toBe(one.event.runId);
  });
});

describe("a busy pipeline", () => {
  it("an event that arrives during a run is accepted and waits, never a 409, and runs once the pipeline is free", async () => {
    const name = dailyPipeline(uniqueName("events"));
    const base = `/api/pipelines/${name}`;
    let release!: () => void;
    const requests = source(new Promise<void>((resolve) => (release = resolve)));
    const manual = await apiJson(`${base}/trigger`, { method: "POST" });
    expect(manual.status).toBe(202);
    await eventually(async () => requests.length, (count) => count === 1);

    const waiting = await post(base, { region: "us" }, "while-busy");
    expect(waiting.status).toBe(202);
    expect(waiting.body.event).toMatchObject({ status: "pending", idempotencyKey: "while-busy" });
    expect(waiting.body.event.startsAt).toBeLessThanOrEqual(Date.now());
    expect(waiting.body.run).toBeUndefined();
    expect((await api(waiting.body.statusUrl)).status).toBe(404);
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    expect(await hasJob(scheduler, EVENTS_CALLBACK)).toBe(true);
    // Its retry while the run goes on finds the pipeline busy: it keeps waiting.
    expect(await fireJob(scheduler, EVENTS_CALLBACK)).toBe(true);
    expect((await apiJson(waiting.body.eventUrl)).body.event.status).toBe("pending");
    expect(await hasJob(scheduler, EVENTS_CALLBACK)).toBe(true);
    expect((await post(base, { region: "us" }, "while-busy")).body.event).toMatchObject({ id: waiting.body.event.id, status: "pending" });

    release();
    await runOf(name, manual.body.pipelineId);
    expect(await fireJob(scheduler, EVENTS_CALLBACK)).toBe(true);
    const ran = await runOf(name, waiting.body.event.runId);
    expect(ran).toMatchObject({ status: "succeeded", trigger: "event", lineage: { events: [{ id: waiting.body.event.id, idempotencyKey: "while-busy" }] } });
    expect((await apiJson(waiting.body.eventUrl)).body).toMatchObject({ event: { status: "started" }, run: { pipelineId: ran.pipelineId, status: "succeeded" } });
    expect(await hasJob(scheduler, EVENTS_CALLBACK)).toBe(false);
    expect((await historyOf(base)).map((entry) => entry.trigger)).toEqual(["event", "manual"]);
  });
});
