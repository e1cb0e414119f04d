import { z } from "zod";
import { parseInterval, type ScheduleSpec } from "../domain/schedule";
import { LATE_POLICIES, type WaitPolicy } from "../domain/upstream-gate";
import { SLOT_MAPPINGS, type SlotMapping } from "../domain/upstream-window";
import { DEFAULT_MAX_WAIT_FACTOR, MAX_EVENTS_PER_RUN, type EventWindow } from "../domain/api-events";

/**
 * What starts a pipeline's runs besides its clock (`triggers` in its definition): the upstream pipelines
 * whose slots its slots wait for, objects landing in R2 (event notifications through a Queue), and
 * events posted to the API. Checked when the deployment loads, with the field in the message.
 */

const duration = (what: string, min: number, max: number) =>
  z.string().superRefine((text, ctx) => {
    const ms = parseInterval(text);
    if (ms === null) ctx.addIssue({ code: "custom", message: `${what} ${JSON.stringify(text)} is not a duration like "30s", "15m", "6h" or "1d"` });
    else if (ms < min || ms > max) ctx.addIssue({ code: "custom", message: `${what} must be between ${describe(min)} and ${describe(max)}, got ${JSON.stringify(text)}` });
  });

const describe = (ms: number) => (ms === 0 ? "0 s" : ms % 86_400_000 === 0 ? `${ms / 86_400_000} day${ms === 86_400_000 ? "" : "s"}` : ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

export const UpstreamSchema = z.strictObject({
  pipeline: z.string().min(1).max(63),
  slots: z.enum(SLOT_MAPPINGS, { message: `slots must be one of ${SLOT_MAPPINGS.join(", ")}` }),
});

export const ObjectTriggerSchema = z.strictObject({
  /** The bucket's name as notifications give it (wrangler.jsonc `r2_buckets[].bucket_name`). */
  bucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "must be an R2 bucket name (lower-case letters, digits and dashes, 3 to 63)"),
  prefix: z.string().max(512).default(""),
  suffix: z.string().max(128).default(""),
  debounce: duration("debounce", 0, 3_600_000).default("30s"),
});

/**
 * Events posted to the API (POST …/events). `debounce`: events with the same params make one run, which
 * starts once none has come for this long; `maxWait`: the longest that run waits after its first event
 * (default ten debounces); `maxEvents`: a run holding this many starts at once. Without a debounce every
 * event is a run of its own.
 */
export const EventTriggerSchema = z
  .strictObject({
    debounce: duration("debounce", 0, 3_600_000).default("0s"),
    maxWait: duration("maxWait", 1_000, 86_400_000).optional(),
    maxEvents: z
      .number({ message: `maxEvents must be a whole number from 1 to ${MAX_EVENTS_PER_RUN}` })
      .int(`maxEvents must be a whole number from 1 to ${MAX_EVENTS_PER_RUN}`)
      .min(1, `maxEvents must be a whole number from 1 to ${MAX_EVENTS_PER_RUN}`)
      .max(MAX_EVENTS_PER_RUN, `maxEvents must be a whole number from 1 to ${MAX_EVENTS_PER_RUN}`)
      .optional(),
  })
  .superRefine((events, ctx) => {
    const debounceMs = parseInterval(events.debounce) ?? 0;
    for (const field of ["maxWait", "maxEvents"] as const) {
      if (events[field] !== undefined && debounceMs === 0) ctx.addIssue({ code: "custom", path: [field], message: `${field} batches debounced events: set a debounce too` });
    }
    const maxWaitMs = events.maxWait === undefined ? null : parseInterval(events.maxWait);
    if (maxWaitMs !== null && debounceMs > 0 && maxWaitMs < debounceMs) ctx.addIssue({ code: "custom", path: ["maxWait"], message: `maxWait must be at least the debounce (${events.debounce}), got ${JSON.stringify(events.maxWait)}` });
  });

export const TriggersSchema = z.strictObject({
  after: z.array(UpstreamSchema).min(1).max(20).optional(),
  wait: duration("wait", 60_000, 30 * 86_400_000).optional(),
  whenLate: z.enum(LATE_POLICIES, { message: `whenLate must be one of ${LATE_POLICIES.join(", ")}` }).default("miss"),
  objects: ObjectTriggerSchema.optional(),
  events: EventTriggerSchema.optional(),
});

export type TriggersInput = z.input<typeof TriggersSchema>;

export interface UpstreamTrigger {
  pipeline: string;
  slots: SlotMapping;
}

export interface ObjectTrigger {
  bucket: string;
  prefix: string;
  suffix: string;
  debounceMs: number;
}

/** A pipeline's triggers, resolved: durations in milliseconds, defaults filled. */
export interface TriggerSettings {
  after: UpstreamTrigger[];
  /** How long a slot waits for its upstream, and what it does then (null without `after`). */
  wait: WaitPolicy | null;
  objects: ObjectTrigger | null;
  /** Events by API: without a declaration (debounce 0) each event is a run of its own. */
  events: EventWindow;
}

/** A slot waits this long for its upstream when neither `wait` nor a deadline says otherwise. */
export const DEFAULT_WAIT_MS = 86_400_000;

/** The problems of a definition's `triggers`, each naming its field. */
export function triggerProblems(declared: unknown): string[] {
  if (declared === undefined) return [];
  const checked = TriggersSchema.safeParse(declared);
  if (checked.success) return [];
  return checked.error.issues.map((issue) => `triggers${issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("")}: ${issue.message}`);
}

/** The upstream pipelines a definition names (for the graph; an invalid `triggers` names none). */
export function upstreamNames(declared: unknown): string[] {
  const checked = TriggersSchema.safeParse(declared ?? {});
  return checked.success ? (checked.data.after ?? []).map((entry) => entry.pipeline) : [];
}

/**
 * The triggers a pipeline runs with. A slot waits for its upstream for `wait`, or until its deadline, or
 * a day; `schedule` is the schedule in force (its deadline is read from it).
 */
export function resolveTriggers(declared: unknown, schedule: Pick<ScheduleSpec, "deadlineMs">): TriggerSettings {
  const parsed = TriggersSchema.parse(declared ?? {});
  const after = (parsed.after ?? []).map((entry) => ({ pipeline: entry.pipeline, slots: entry.slots }));
  const waitMs = parsed.wait !== undefined ? parseInterval(parsed.wait)! : (schedule.deadlineMs ?? DEFAULT_WAIT_MS);
  return {
    after,
    wait: after.length === 0 ? null : { waitMs, whenLate: parsed.whenLate },
    objects: parsed.objects ? { bucket: parsed.objects.bucket, prefix: parsed.objects.prefix, suffix: parsed.objects.suffix, debounceMs: parseInterval(parsed.objects.debounce)! } : null,
    events: eventWindow(parsed.events),
  };
}

/**
 * A pipeline that only runs after its upstream may leave out its clock: its slots are then the ends of the
 * windows it consumes, midnight in its time zone for `day` (the slot runs once the day's upstream slots are
 * in). With `interval` a pipeline needs a schedule of its own: the interval is between its own slots.
 */
export function impliedCron(declared: unknown): string | null {
  const checked = TriggersSchema.safeParse(declared ?? {});
  const after = checked.success ? (checked.data.after ?? []) : [];
  return after.length > 0 && after.every((entry) => entry.slots === "day") ? "0 0 * * *" : null;
}

/** `triggers.events` with its defaults: a run waits at most ten debounces, and holds at most 1,000 events. */
function eventWindow(declared: z.output<typeof EventTriggerSchema> | undefined): EventWindow {
  const debounceMs = parseInterval(declared?.debounce ?? "0s")!;
  const maxWaitMs = declared?.maxWait !== undefined ? parseInterval(declared.maxWait)! : debounceMs * DEFAULT_MAX_WAIT_FACTOR;
  return { debounceMs, maxWaitMs, maxEvents: declared?.maxEvents ?? MAX_EVENTS_PER_RUN };
}

/**
 * An object trigger names its bucket as notifications do (`bucket_name`), its source as the Worker does
 * (the binding): they must be the same bucket, or no notification ever matches. Checked by `npm run check`
 * against wrangler.jsonc's `r2_buckets` (binding → bucket name).
 */
export function objectBucketProblems(pipelines: readonly { name: string; triggers?: unknown; sources?: readonly unknown[] }[], bucketNames: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const pipeline of pipelines) {
    const checked = TriggersSchema.safeParse(pipeline.triggers ?? {});
    const objects = checked.success ? checked.data.objects : undefined;
    if (!objects) continue;
    const source = (pipeline.sources ?? []).find((candidate) => (candidate as { type?: unknown }).type === "r2") as { bucket?: string } | undefined;
    const bound = source?.bucket === undefined ? undefined : bucketNames[source.bucket];
    if (bound !== undefined && bound !== objects.bucket) {
      problems.push(`pipeline ${JSON.stringify(pipeline.name)}: triggers.objects.bucket is ${JSON.stringify(objects.bucket)}, but its r2 source reads the binding ${source!.bucket}, which is the bucket ${JSON.stringify(bound)} (wrangler.jsonc r2_buckets): notifications would never match`);
    }
  }
  return problems;
}
