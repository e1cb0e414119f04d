import type { EventName } from "../../observability/events";
import {
  canonicalJson,
  EVENT_RETENTION_MS,
  EVENT_RETRY_MS,
  eventId,
  IDEMPOTENCY_KEY_TTL_MS,
  MAX_PENDING_EVENT_RUNS,
  placeEvent,
  type EventStatus,
  type EventWindow,
} from "../../domain/api-events";
import { emptyLineage, type RunParams } from "../../domain/run";
import { eventRunId } from "../../domain/run-ids";
import type { RunView } from "../../domain/run-view";
import type { TriggeredRun } from "../../domain/triggered-run";
import type { PipelineSettings } from "../../engine/settings";
import type { StartRunRequest, StartRunResult } from "../coordinator/requests";
import type { EventRun, EventStore } from "./event-store";

/** The callback of the alarm that starts event runs when they are due. A constant: schedule rows store it by name. */
export const EVENTS_CALLBACK = "startDueEvents";
/** The ledger lists at most this many event runs of a range. */
const MAX_LISTED_RUNS = 1_000;

/** An event as the API shows it. */
export interface EventView {
  id: string;
  idempotencyKey: string | null;
  receivedAt: number;
  status: EventStatus;
  /** The run it started or will start: fixed when it arrived. */
  runId: string;
  /** When that run is (or was) due: its debounce window closing, or the moment it arrived. */
  startsAt: number;
  /** The run's params: the event's, checked, with the schema's defaults. */
  params: RunParams;
}

export interface EventRequest {
  /** Checked against the pipeline's params schema by the caller, defaults filled. */
  params: RunParams;
  /** A hash of the params as they were sent: a repeated key with another body is refused. */
  fingerprint: string;
  idempotencyKey: string | null;
}

export type EventReceipt =
  /** Accepted now, or (replayed) a repeat of a request with the same Idempotency-Key: the same event. */
  | { outcome: "accepted"; replayed: boolean; event: EventView; run: RunView | null }
  /** The Idempotency-Key was used for a request with other params. */
  | { outcome: "key_reused"; event: EventView }
  /** MAX_PENDING_EVENT_RUNS runs wait already, and this event would open another. */
  | { outcome: "too_many_pending"; pending: number }
  | { outcome: "misconfigured"; errors: string[] };

export interface IntakeHost {
  store: EventStore;
  /** The settings a run starts with and the pipeline's event window, or why it cannot run. */
  current(): { ok: true; settings: PipelineSettings; window: EventWindow } | { ok: false; errors: string[] };
  startRun(request: StartRunRequest): Promise<StartRunResult>;
  getRun(runId: string): Promise<RunView | null>;
  listSchedules(): Promise<{ id: string; callback: string; time: number }[]>;
  schedule(when: Date, callback: string): Promise<unknown>;
  cancelSchedule(id: string): Promise<unknown>;
  log(event: EventName, fields: Record<string, unknown>): void;
}

/**
 * Events posted to the API, on the scheduler's side. Each accepted event is stored with its params, its
 * Idempotency-Key, when it arrived and the run it is given, before any run is started: the run id is
 * fixed then, so a start repeated after a crash or by a second caller finds the same run. Without a
 * debounce an event's run is due at once; with one, equal params within the window share a run (see
 * placeEvent). A due run that finds the pipeline busy waits and tries again every EVENT_RETRY_MS: an
 * accepted event is never dropped and never answered with a conflict. Starts happen one pass at a time,
 * in the order runs came due.
 */
export class EventIntake {
  /** The pass starting due runs, if one is under way: the next waits for it, and so does a replay. */
  private work: Promise<unknown> = Promise.resolve();

  constructor(private readonly host: IntakeHost) {}

  async receive(request: EventRequest): Promise<EventReceipt> {
    const { store } = this.host;
    const now = Date.now();
    const key = request.idempotencyKey;
    this.prune(now);
    if (key !== null) {
      const seen = store.keyed(key);
      if (seen) {
        const event = this.view(seen.eventId)!;
        if (seen.fingerprint !== request.fingerprint) return { outcome: "key_reused", event };
        // A start of its run under way answers first, so the repeat says what the first request says.
        await this.work;
        return { outcome: "accepted", replayed: true, ...(await this.describe(seen.eventId))! };
      }
    }
    const current = this.host.current();
    if (!current.ok) return { outcome: "misconfigured", errors: current.errors };
    // No await from the key check to the insert: the Durable Object runs this alone, so a concurrent
    // request with the same key finds this one's event, and one with equal params its run.
    const paramsKey = canonicalJson(request.params);
    const placement = placeEvent(store.openRun(paramsKey, now), now, current.window);
    if (placement.kind === "open") {
      const pending = store.pendingRuns();
      if (pending >= MAX_PENDING_EVENT_RUNS) return { outcome: "too_many_pending", pending };
    }
    const seq = store.nextSeq();
    const event = { id: eventId(now, seq), idempotencyKey: key, receivedAt: now, runId: placement.kind === "join" ? placement.runId : eventRunId(now, seq) };
    store.add({ event, seq, fingerprint: request.fingerprint, params: request.params, paramsKey, startsAt: placement.startsAt, opens: placement.kind === "open" });
    this.host.log("event_received", { eventId: event.id, idempotencyKey: key, runId: event.runId, joined: placement.kind === "join", startsAt: placement.startsAt });
    // The event is stored: whatever this pass meets, the answer is 202 (the alarm and the hourly check try again).
    const started = await this.startDue().catch((error: unknown) => {
      this.host.log("trigger_not_started", { trigger: "event", runId: event.runId, reason: String(error) });
      return new Map<string, RunView>();
    });
    const view = this.view(event.id)!;
    return { outcome: "accepted", replayed: false, event: view, run: started.get(event.runId) ?? (view.status === "started" ? await this.host.getRun(event.runId) : null) };
  }

  /** An event and, once it started, its run (null when the run is no longer in the history). */
  async describe(id: string): Promise<{ event: EventView; run: RunView | null } | null> {
    const event = this.view(id);
    if (!event) return null;
    return { event, run: event.status === "started" ? await this.host.getRun(event.runId) : null };
  }

  /** Runs events started in [from, to), oldest first, with their events (for the slot ledger). */
  runs(from: number, to: number): TriggeredRun[] {
    return this.host.store.startedIn(from, to, MAX_LISTED_RUNS).map((run) => ({ runId: run.runId, trigger: "event", admittedAt: run.startedAt, objects: [], events: run.events }));
  }

  /**
   * Starts the runs that are due, in the order they came due, until one finds the pipeline busy; then
   * arms the alarm for the next try (busy) or the next run due. Passes never overlap. Answers the runs
   * it started.
   */
  startDue(): Promise<Map<string, RunView>> {
    const pass = this.work.then(() => this.pass());
    this.work = pass.catch(() => undefined);
    return pass;
  }

  private async pass(): Promise<Map<string, RunView>> {
    const { store } = this.host;
    const started = new Map<string, RunView>();
    const now = Date.now();
    this.prune(now);
    const due = store.dueRuns(now);
    let retryAt: number | null = null;
    if (due.length > 0) {
      const current = this.host.current();
      if (!current.ok) {
        // They wait for the pipeline to be fixed: the hourly check and the next event look again.
        this.host.log("trigger_not_started", { trigger: "event", runIds: due.map((run) => run.runId), reason: current.errors.join("; ") });
      } else {
        // Armed before the first start: should this pass be cut off, the alarm tries again.
        await this.arm(now + EVENT_RETRY_MS);
        for (const run of due) {
          const view = await this.start(run, current.settings);
          if (view === null) {
            retryAt = Date.now() + EVENT_RETRY_MS;
            break;
          }
          started.set(run.runId, view);
        }
      }
    }
    const next = store.nextDue(Date.now());
    await this.arm(retryAt === null ? next : Math.min(retryAt, next ?? retryAt));
    return started;
  }

  /** Starts one run with every event it holds; null when it could not start now (the pipeline is busy). */
  private async start(run: EventRun, settings: PipelineSettings): Promise<RunView | null> {
    const events = this.host.store.eventsOf(run.runId);
    let result: StartRunResult;
    try {
      result = await this.host.startRun({ runId: run.runId, trigger: "event", scheduledFor: null, params: run.params, lineage: { ...emptyLineage(), events }, settings });
    } catch (error) {
      this.host.log("trigger_not_started", { trigger: "event", runId: run.runId, reason: String(error) });
      return null;
    }
    switch (result.outcome) {
      case "started":
      case "exists":
        // "exists": started before (a pass cut off after the start, or a second caller): the same run.
        this.host.store.started(run.runId, Date.now());
        this.host.log("events_admitted", { runId: run.runId, events: events.length, waitedMs: Date.now() - run.startsAt, outcome: result.outcome });
        return result.run;
      case "conflict":
        return null;
      case "skipped":
      case "queued":
      case "covered":
        // Only a scheduled slot's start answers these.
        this.host.log("trigger_not_started", { trigger: "event", runId: run.runId, reason: `the coordinator answered ${result.outcome}` });
        return null;
    }
  }

  /** Keys are forgotten IDEMPOTENCY_KEY_TTL_MS after their event's run started, events EVENT_RETENTION_MS after. */
  private prune(now: number): void {
    this.host.store.prune(now - IDEMPOTENCY_KEY_TTL_MS, now - EVENT_RETENTION_MS);
  }

  private view(id: string): EventView | null {
    const event = this.host.store.event(id);
    const run = event && this.host.store.run(event.runId);
    if (!event || !run) return null;
    return { id: event.id, idempotencyKey: event.idempotencyKey, receivedAt: event.receivedAt, status: run.startedAt === null ? "pending" : "started", runId: event.runId, startsAt: run.startsAt, params: run.params };
  }

  /**
   * Keeps one alarm for the next try at `at` (null: none). The SDK keeps alarm times in whole seconds, so
   * the alarm is the second at or after `at`: it never fires before the run is due.
   */
  private async arm(at: number | null): Promise<void> {
    const now = Date.now();
    const armed = (await this.host.listSchedules()).filter((schedule) => schedule.callback === EVENTS_CALLBACK && schedule.time * 1000 > now);
    const when = at === null ? null : Math.ceil(Math.max(at, now + 1) / 1000) * 1000;
    if (when !== null && armed.length === 1 && armed[0]!.time * 1000 === when) return;
    for (const schedule of armed) await this.host.cancelSchedule(schedule.id);
    if (when !== null) await this.host.schedule(new Date(when), EVENTS_CALLBACK);
  }
}
