/**
 * A pipeline's triggers as the deployment loads them: upstream names that are not pipelines and cycles are
 * refused with a message naming them (the pipelines involved are set aside, the others run), `triggers`
 * fields are checked with the field in the message, and a pipeline that only runs after its upstream's
 * days may leave out its clock.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { Deployment } from "../../src/engine/deployment";
import { resolveSettings } from "../../src/engine/settings";
import { objectBucketProblems, resolveTriggers } from "../../src/engine/triggers";
import { deployment } from "../../src/pipelines";

const pipeline = (name: string, triggers?: unknown, schedule: Record<string, unknown> = { cron: "0 3 * * *", timezone: "Europe/Berlin" }) =>
  ({
    name,
    description: "test",
    schedule,
    ...(triggers === undefined ? {} : { triggers }),
    sources: [{ type: "sample" }],
    sample: { records: [] },
    record: z.object({ id: z.string() }),
    transform: (event: { id: string }) => ({ id: event.id }),
    destination: { table: name.replace(/-/g, "_"), key: ["id"], columns: { id: "text" } },
  }) as unknown as Pipeline;

const errorsOf = (loaded: Deployment, name: string) => loaded.invalidNamed(name)?.errors;

describe("upstream pipelines when the deployment loads", () => {
  it("accepts an upstream declared after its downstream, and knows who feeds whom", () => {
    const loaded = new Deployment([pipeline("daily", { after: [{ pipeline: "hourly", slots: "day" }] }), pipeline("hourly")]);
    expect(loaded.invalid()).toEqual([]);
    expect(loaded.downstreamOf("hourly")).toEqual(["daily"]);
    expect(loaded.downstreamClosure("hourly")).toEqual(["daily"]);
  });

  it("refuses an upstream that is not a pipeline, naming it; the others run", () => {
    const loaded = new Deployment([pipeline("hourly"), pipeline("daily", { after: [{ pipeline: "hourlies", slots: "day" }] })]);
    expect(loaded.all().map((entry) => entry.name)).toEqual(["hourly"]);
    expect(errorsOf(loaded, "daily")).toEqual(['pipeline "daily": triggers.after names "hourlies", which is not a pipeline of this deployment']);
  });

  it("refuses a cycle, naming it on every pipeline in it; a pipeline downstream of the cycle still loads", () => {
    const loaded = new Deployment([
      pipeline("a", { after: [{ pipeline: "b", slots: "day" }] }),
      pipeline("b", { after: [{ pipeline: "a", slots: "day" }] }),
      pipeline("c", { after: [{ pipeline: "a", slots: "day" }] }),
    ]);
    expect(errorsOf(loaded, "a")).toEqual(['pipeline "a": triggers.after makes a cycle: a → b → a']);
    expect(errorsOf(loaded, "b")).toEqual(['pipeline "b": triggers.after makes a cycle: a → b → a']);
    expect(loaded.all().map((entry) => entry.name)).toEqual(["c"]);
  });

  it("refuses a pipeline added later whose upstream does not exist", () => {
    const loaded = new Deployment([pipeline("hourly")]);
    expect(loaded.add(pipeline("late", { after: [{ pipeline: "nobody", slots: "interval" }] }))).toEqual(['triggers.after names "nobody", which is not a pipeline of this deployment']);
    expect(loaded.add(pipeline("fine", { after: [{ pipeline: "hourly", slots: "interval" }] }))).toEqual([]);
  });

  it.each([
    [{ after: [{ pipeline: "hourly", slots: "week" }] }, "triggers.after[0].slots: slots must be one of day, interval"],
    [{ after: [{ pipeline: "hourly" }] }, "triggers.after[0].slots: slots must be one of day, interval"],
    [{ after: [{ pipeline: "hourly", slots: "day" }], wait: "soon" }, 'triggers.wait: wait "soon" is not a duration like "30s", "15m", "6h" or "1d"'],
    [{ after: [{ pipeline: "hourly", slots: "day" }], wait: "10s" }, 'triggers.wait: wait must be between 1 min and 30 days, got "10s"'],
    [{ after: [{ pipeline: "hourly", slots: "day" }], whenLate: "panic" }, "triggers.whenLate: whenLate must be one of run, miss"],
    [{ afterwards: [] }, 'triggers: Unrecognized key: "afterwards"'],
    [{ objects: { bucket: "scheduled-pipeline-uploads" } }, "triggers.objects needs an r2 source: the run reads the objects that landed through it"],
  ])("checks %j", (triggers, error) => {
    const loaded = new Deployment([pipeline("hourly"), pipeline("daily", triggers)]);
    expect(errorsOf(loaded, "daily")).toEqual([`pipeline "daily": ${error}`]);
  });
});

describe("a clockless downstream", () => {
  it("runs at the midnight that closes each day of its upstream, in its own zone", () => {
    const loaded = new Deployment([pipeline("hourly"), pipeline("rollup", { after: [{ pipeline: "hourly", slots: "day" }] }, { timezone: "Europe/Berlin" })]);
    expect(loaded.invalid()).toEqual([]);
    const settings = resolveSettings(loaded.find("rollup")!, { D1_DATABASE_NAME: "scheduled-pipeline" });
    expect(settings.ok ? settings.settings.schedule : settings.errors).toMatchObject({ cron: "0 0 * * *", intervalMs: null, timezone: "Europe/Berlin" });
  });

  it("needs a clock of its own for an interval mapping (the interval is between its own slots)", () => {
    const loaded = new Deployment([pipeline("hourly"), pipeline("rollup", { after: [{ pipeline: "hourly", slots: "interval" }] }, {})]);
    expect(errorsOf(loaded, "rollup")).toEqual(['pipeline "rollup": schedule needs cron or every: only upstream slots mapped by day imply one (midnight)']);
  });
});

describe("resolved triggers", () => {
  it("wait for the upstream until the deadline, or a day, unless told", () => {
    const after = [{ pipeline: "hourly", slots: "day" as const }];
    expect(resolveTriggers({ after }, { deadlineMs: 7_200_000 }).wait).toEqual({ waitMs: 7_200_000, whenLate: "miss" });
    expect(resolveTriggers({ after }, { deadlineMs: null }).wait).toEqual({ waitMs: 86_400_000, whenLate: "miss" });
    expect(resolveTriggers({ after, wait: "30m", whenLate: "run" }, { deadlineMs: 7_200_000 }).wait).toEqual({ waitMs: 1_800_000, whenLate: "run" });
    expect(resolveTriggers(undefined, { deadlineMs: null })).toEqual({ after: [], wait: null, objects: null, events: { debounceMs: 0, maxWaitMs: 0, maxEvents: 1_000 } });
  });

  it("make orders-daily wait for the day's orders", () => {
    expect(deployment.downstreamOf("orders")).toEqual(["orders-daily"]);
  });
});

describe("an object trigger's bucket", () => {
  it("must be the bucket its r2 source's binding is (npm run check reads wrangler.jsonc)", () => {
    const drops = { name: "drops", triggers: { objects: { bucket: "scheduled-pipeline-uploads" } }, sources: [{ type: "r2", bucket: "UPLOADS" }] };
    expect(objectBucketProblems([drops], { UPLOADS: "scheduled-pipeline-uploads" })).toEqual([]);
    expect(objectBucketProblems([drops], { UPLOADS: "other-bucket" })).toEqual([
      'pipeline "drops": triggers.objects.bucket is "scheduled-pipeline-uploads", but its r2 source reads the binding UPLOADS, which is the bucket "other-bucket" (wrangler.jsonc r2_buckets): notifications would never match',
    ]);
  });
});
