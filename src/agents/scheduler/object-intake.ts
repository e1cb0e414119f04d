import type { EventName } from "../../observability/events";
import { admissionDue, judgeObject, type ObjectState } from "../../domain/object-admission";
import type { ObjectArrival } from "../../domain/object-notifications";
import { emptyLineage, type Lineage } from "../../domain/run";
import { objectRunId } from "../../domain/run-ids";
import type { TriggeredRun } from "../../domain/triggered-run";
import type { Pipeline } from "../../engine/define-pipeline";
import { defaultParams } from "../../engine/params";
import type { PipelineSettings } from "../../engine/settings";
import { resolveTriggers, type ObjectTrigger } from "../../engine/triggers";
import { sourceKindOf } from "../../sources";
import { runValues } from "../../sources/placeholders";
import type { StartRunResult } from "../coordinator/requests";
import type { ObjectStore, StoredArrival } from "./object-store";

/** How soon objects whose pipeline was busy try to start their run again. */
const BUSY_RETRY_MS = 15_000;
/** How soon a pipeline that cannot run (misconfigured), or an admission that failed, is looked at again. */
const TROUBLE_RETRY_MS = 60_000;
/** Objects decided on are remembered this long (repeats of their notifications arrive within days). */
const REMEMBER_MS = 30 * 86_400_000;

export interface IntakeHost {
  store: ObjectStore;
  /** The pipeline's settings and its `triggers.objects`, or why objects cannot start its runs now. */
  current(): { settings: PipelineSettings; trigger: ObjectTrigger } | { problem: string; removed: boolean };
  /** Each object as a run started now would find it, in the order given. */
  objectStates(settings: PipelineSettings, objects: readonly { key: string; etag: string }[]): Promise<ObjectState[]>;
  startRun(request: { runId: string; lineage: Lineage; settings: PipelineSettings }): Promise<StartRunResult>;
  /** The scheduler's alarms for admitting objects (one callback): those armed, arming one, cancelling one. */
  alarms: {
    armed(): Promise<{ id: string; time: number }[]>;
    arm(at: Date): Promise<void>;
    cancel(id: string): Promise<void>;
  };
  log(event: EventName, fields: Record<string, unknown>): void;
}

/**
 * Objects landing in R2 start a pipeline's runs (`triggers.objects`). The Queue consumer tells the
 * scheduler of each object (key and etag) as notifications arrive; each is known once, however often
 * it is delivered. Objects wait until none has arrived for the debounce, then start one run together:
 * each is first looked at as the run would find it, and one that is gone, was overwritten (the newer
 * version is its own object), was read already by another run, or lies where the source does not read,
 * is set aside with the reason. The run's id is written to its objects before the run is started, so a
 * scheduler stopped in between starts the same run (the coordinator knows it by id) rather than another.
 * The object ledger of the R2 source keeps any object from being read by two successful runs either way.
 */
export class ObjectIntake {
  constructor(private readonly host: IntakeHost) {}

  /** Objects that landed: the new ones wait for their run; repeats change nothing. */
  async arrived(arrivals: readonly ObjectArrival[], now: number): Promise<{ received: number; repeated: number }> {
    let received = 0;
    for (const arrival of arrivals) {
      if (this.host.store.receive(arrival, now)) {
        received += 1;
        this.host.log("object_received", { key: arrival.key, etag: arrival.etag, size: arrival.size });
      } else this.host.log("object_ignored", { key: arrival.key, etag: arrival.etag, reason: "a repeated notification" });
    }
    // Armed for repeats too: a delivery whose first try stored the objects but failed to arm is retried.
    if (arrivals.length > 0) await this.wake(now);
    return { received, repeated: arrivals.length - received };
  }

  /**
   * Makes sure objects that wait have their admission alarm (after a restart, from the hourly check, on a
   * repeated delivery): nothing that landed is left without one.
   */
  async wake(now: number): Promise<void> {
    const { store } = this.host;
    if (store.starting()) return this.admitAt(now);
    const pending = store.pending();
    if (pending.length === 0) return;
    const current = this.host.current();
    await this.admitAt("problem" in current ? now : (admissionDue(pending, current.trigger.debounceMs) ?? now));
  }

  /** From the alarm: starts the run of the objects whose debounce has passed, or looks again later. */
  async admit(now: number): Promise<void> {
    try {
      await this.admitDue(now);
    } catch (error) {
      // The objects keep waiting; the alarm's own retries would give up after three quick tries.
      this.host.log("trigger_not_started", { trigger: "object", error: error instanceof Error ? error.message : String(error) });
      await this.admitAt(now + TROUBLE_RETRY_MS);
    }
  }

  /** Runs that objects started, admitted in [from, to), oldest first. */
  runs(from: number, to: number): TriggeredRun[] {
    return this.host.store.runs(from, to);
  }

  /**
   * Looks at the waiting objects again at `at`, unless an alarm is armed for that or sooner. Alarms keep
   * whole seconds (cut down), so the time is rounded up: the alarm never finds the debounce not yet over.
   */
  private async admitAt(at: number): Promise<void> {
    const now = Date.now();
    const when = Math.ceil(Math.max(at, now) / 1000) * 1000;
    const armed = (await this.host.alarms.armed()).filter((alarm) => alarm.time * 1000 > now);
    if (armed.some((alarm) => alarm.time * 1000 <= when)) return;
    for (const alarm of armed) await this.host.alarms.cancel(alarm.id);
    await this.host.alarms.arm(new Date(when));
  }

  private async admitDue(now: number): Promise<void> {
    const { store } = this.host;
    store.prune(now - REMEMBER_MS);
    const current = this.host.current();
    if ("problem" in current) {
      const waiting = store.pending().length + (store.starting()?.objects.length ?? 0);
      if (waiting === 0) return;
      this.host.log("trigger_not_started", { trigger: "object", waiting, reason: current.problem });
      // A pipeline removed from the code has nothing left to start; a misconfigured one may be fixed.
      if (current.removed) for (const object of [...store.pending(), ...(store.starting()?.objects ?? [])]) store.ignore(object, current.problem, now);
      else await this.admitAt(now + TROUBLE_RETRY_MS);
      return;
    }
    // A run id written but its start not confirmed: start that run (again), as it was given.
    const starting = store.starting();
    if (starting && !(await this.start(starting.runId, starting.objects, current.settings, now))) return;
    const pending = store.pending();
    const due = admissionDue(pending, current.trigger.debounceMs);
    if (due === null) return;
    // Just started a run: the pipeline is busy, the others wait their turn (and their debounce).
    if (now < due || starting) return this.admitAt(starting ? Math.max(due, now + BUSY_RETRY_MS) : due);
    const states = await this.host.objectStates(current.settings, pending);
    const admitted: StoredArrival[] = [];
    pending.forEach((object, index) => {
      const verdict = judgeObject(states[index]!);
      if (verdict.admit) admitted.push(object);
      else {
        store.ignore(object, verdict.reason, now);
        this.host.log("object_ignored", { key: object.key, etag: object.etag, reason: verdict.reason });
      }
    });
    if (admitted.length > 0) {
      const runId = objectRunId(now);
      // Should the scheduler stop between these two steps, this alarm starts the run it was given.
      await this.admitAt(now + TROUBLE_RETRY_MS);
      store.assign(admitted, runId, now);
      if (!(await this.start(runId, admitted, current.settings, now))) return;
    }
    // Objects that arrived while this admission looked at the others wait for their own debounce.
    const later = admissionDue(store.pending(), current.trigger.debounceMs);
    if (later !== null) await this.admitAt(later);
  }

  /** Starts the run of objects given `runId`; false when the pipeline was busy (they wait again, and are looked at again). */
  private async start(runId: string, objects: readonly StoredArrival[], settings: PipelineSettings, now: number): Promise<boolean> {
    const lineage = { ...emptyLineage(), objects: objects.map((object) => ({ key: object.key, etag: object.etag })) };
    const result = await this.host.startRun({ runId, lineage, settings });
    if (result.outcome === "conflict") {
      this.host.store.release(runId);
      this.host.log("objects_waiting", { runId, objects: objects.length, activeRunId: result.active.pipelineId, retryInMs: BUSY_RETRY_MS });
      await this.admitAt(now + BUSY_RETRY_MS);
      return false;
    }
    this.host.store.admitted(runId);
    this.host.log("objects_admitted", { runId, outcome: result.outcome, objects: objects.length, keys: objects.slice(0, 10).map((object) => object.key) });
    return true;
  }
}

/** The settings a scheduler resolves, as the intake reads them. */
type SettingsResult = { ok: true; settings: PipelineSettings } | { ok: false; errors: string[]; removed?: boolean };

/** The pipeline's settings and its `triggers.objects`, or why objects cannot start its runs now. */
export function objectTriggerOf(settings: SettingsResult, pipeline: Pipeline | undefined): ReturnType<IntakeHost["current"]> {
  if (!settings.ok) return { problem: settings.errors.join("; "), removed: settings.removed === true };
  const trigger = pipeline ? resolveTriggers(pipeline.triggers, settings.settings.schedule).objects : null;
  if (trigger === null) return { problem: "the pipeline no longer declares triggers.objects", removed: true };
  return { settings: settings.settings, trigger };
}

/**
 * Each object as the run started now would find it, asked of the pipeline's first source that reads
 * objects (its prefix filled as that run fills it: today, the params' defaults).
 */
export async function objectStatesOf(env: Readonly<Record<string, unknown>>, pipeline: Pipeline, settings: PipelineSettings, objects: readonly { key: string; etag: string }[]): Promise<ObjectState[]> {
  const source = settings.sources.find((candidate) => sourceKindOf(candidate).objectStates);
  if (!source) return objects.map(() => ({ state: "outside", reason: "the pipeline has no source that reads objects" }));
  const values = runValues({ asOf: Date.now(), timezone: settings.schedule.timezone, params: defaultParams(pipeline) });
  return sourceKindOf(source).objectStates!(source, { env, pipeline: pipeline.name, runValues: values }, objects);
}
