import { STAGE_NAMES } from "../domain/stages";
import { z } from "zod";
import type { TimeInput } from "../domain/local-time";
import { decodeCursor, decodePositionCursor } from "../domain/history";
import { REPROCESS_POLICIES } from "../domain/backfill";
import { MISSED_RUN_POLICIES } from "../domain/schedule";
import { STATS_WINDOW_NAMES } from "../domain/stats";
import { IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE } from "../domain/api-events";

/** Query strings carry text: booleans are spelled out, nothing else is accepted. */
const flag = z
  .enum(["true", "false", "1", "0"], { message: 'must be "true" or "false"' })
  .transform((value) => value === "true" || value === "1");

export const TriggerQuery = z.strictObject({ wait: flag.optional() });

/**
 * A run's parameters as sent: an object, checked against the pipeline's params schema by the route, with
 * every own key kept. Not z.record: zod leaves out a `__proto__` key when it builds an object, so a
 * misspelt param under that name would slip past the unknown-name check and be dropped.
 */
const paramsObject = z
  .custom<Record<string, unknown>>((value) => typeof value === "object" && value !== null && !Array.isArray(value), { message: "must be an object of parameters" })
  .meta({ type: "object", additionalProperties: {} })
  .superRefine((value, ctx) => {
    for (const key of Object.keys(value)) if (key.length > 100) ctx.addIssue({ code: "custom", path: [key.slice(0, 40)], message: "a param name has at most 100 characters" });
  })
  .transform((value) => {
    const kept: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value)) kept[key] = value[key];
    return kept;
  });

/** Optional JSON body of a manual trigger. */
export const TriggerBody = z.strictObject({
  note: z.string().min(1).max(500, "must be at most 500 characters").optional(),
  params: paramsObject.optional().meta({ description: "The run's parameters, checked against the pipeline's params schema (GET /api/pipelines/:name lists them)." }),
});

/**
 * The body of `POST …/events`: the run's params themselves, as a webhook posts them (an empty body: the
 * defaults), checked against the pipeline's params schema by the route.
 */
export const EventBody = paramsObject.meta({
  description: "The run's parameters as a JSON object, checked against the pipeline's params schema (GET /api/pipelines/:name lists them); an empty body means the defaults.",
});

/** `Idempotency-Key`: a repeated request with it answers the first one's event. */
export const EventHeaders = z.object({
  "idempotency-key": z
    .string()
    .regex(IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE)
    .optional()
    .meta({ description: `A key of your choosing (${IDEMPOTENCY_KEY_RULE.replace(/^must be /, "")}; a UUID is one): a request repeated with it within 48 h answers the first one's event and run, never a second one.` }),
});

export const EventIdParam = z.object({ id: z.string().min(1).max(100) });

/**
 * A time as the API takes it for a pipeline: an ISO 8601 time with its offset (`2026-11-01T00:00:00Z`,
 * `2026-11-01T03:00:00-05:00`), epoch milliseconds (a number, or digits in a query string), or a date
 * (`2026-11-01`): a day of the pipeline's calendar, which starts at midnight in the pipeline's time zone
 * (resolved where the zone is known, `resolveTime`).
 */
export const instant = z.union([z.number().int(), z.string()]).transform((given, ctx): TimeInput => {
  const value = String(given).trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) && realDate(value)) {
    if (value >= "1970-01-01") return { day: value };
    ctx.addIssue({ code: "custom", message: "must be between 1970-01-01 and 9999-12-31" });
    return z.NEVER;
  }
  let parsed = Number.NaN;
  if (/^\d{1,16}$/.test(value)) parsed = Number(value);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value) && realDate(value.slice(0, 10))) parsed = Date.parse(value);
  if (!Number.isFinite(parsed)) {
    ctx.addIssue({ code: "custom", message: "must be an ISO 8601 time with its offset (2026-11-01T00:00:00Z), a date (2026-11-01, a day in the pipeline's time zone) or epoch milliseconds" });
    return z.NEVER;
  }
  if (parsed < 0 || parsed > LATEST_INSTANT) {
    ctx.addIssue({ code: "custom", message: "must be between 1970-01-01 and 9999-12-31" });
    return z.NEVER;
  }
  return { at: parsed };
});

/** The latest moment the API takes: the end of year 9999 (dates and cron maths stop not far beyond). */
const LATEST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A calendar date that exists: 2026-02-30 is not read as 2 March. */
function realDate(text: string): boolean {
  const [year, month, day] = text.split("-").map(Number) as [number, number, number];
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0 to 99 as 1900 to 1999.
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export const BackfillBody = z.strictObject({
    from: instant.meta({ description: "The range's start, included." }),
    to: instant.meta({ description: "The range's end, excluded." }),
    reprocess: z
      .enum(REPROCESS_POLICIES)
      .default("none")
      .meta({ description: '"none" (default): slots without a succeeded run; "failed": only slots whose newest run failed or was cancelled; "all": every slot.' }),
    params: paramsObject.optional().meta({ description: "Parameters for every run of the backfill." }),
    cascade: z
      .boolean()
      .default(false)
      .meta({ description: "When it ends, the pipelines downstream of this one (triggers.after, transitively) backfill the slots that consumed the slots it ran: each once, after its upstreams." }),
  });

export const BackfillIdParam = z.object({ id: z.string().min(1).max(100) });

export const SlotsQuery = z.strictObject({
  from: instant.optional().meta({ description: "Start of the range, included (default: 7 days before the end)." }),
  to: instant.optional().meta({ description: "End of the range, excluded (default: just after the next slot)." }),
});

/** Optional JSON body of a cancel request. */
export const CancelBody = z.strictObject({
  reason: z.string().min(1).max(500, "must be at most 500 characters").optional(),
});

/**
 * `POST …/runs/:id/retry` may say how: start from a stage at the latest (`transform` to check a batch
 * again after a fix), and load despite named failed checks (`acceptChecks`, recorded on the retry).
 */
export const RetryBody = z.strictObject({
  fromStage: z.enum(STAGE_NAMES).optional().meta({ description: "Start from this stage at the latest (the stages before it are reused where they can be)." }),
  acceptChecks: z
    .array(z.string().min(1).max(120))
    .min(1)
    .max(50)
    .optional()
    .meta({ description: "Failed checks of a checks_failed run to load despite; only with its checked batch reused (the retry starts from load)." }),
});

/** `?limit=&cursor=` of a paged list: a bounded whole number, and a cursor this API handed out before. */
function pageQuery<Cursor>(maxLimit: number, decode: (text: string) => Cursor | null) {
  return z.strictObject({
    limit: z
      .string()
      .regex(/^\d{1,6}$/, `must be a whole number from 1 to ${maxLimit}`)
      .transform(Number)
      .pipe(z.number().int().min(1, `must be a whole number from 1 to ${maxLimit}`).max(maxLimit, `must be a whole number from 1 to ${maxLimit}`))
      .optional(),
    cursor: z
      .string()
      .transform((value, ctx) => {
        const cursor = decode(value);
        if (cursor === null) {
          ctx.addIssue({ code: "custom", message: "is not a cursor returned by this API (use nextCursor from a previous page)" });
          return z.NEVER;
        }
        return cursor;
      })
      .optional(),
  });
}

export const HISTORY_DEFAULT_LIMIT = 20;
export const HISTORY_MAX_LIMIT = 100;
export const HistoryQuery = pageQuery(HISTORY_MAX_LIMIT, decodeCursor);

export const REJECTED_DEFAULT_LIMIT = 100;
export const REJECTED_MAX_LIMIT = 1_000;
export const RejectedQuery = pageQuery(REJECTED_MAX_LIMIT, decodePositionCursor);

export const CHECKS_DEFAULT_LIMIT = 20;
export const CHECKS_MAX_LIMIT = 100;
/** `GET …/checks`: how many results of each check, and optionally one check by name. */
export const ChecksQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,6}$/, `must be a whole number from 1 to ${CHECKS_MAX_LIMIT}`)
    .transform(Number)
    .pipe(z.number().int().min(1, `must be a whole number from 1 to ${CHECKS_MAX_LIMIT}`).max(CHECKS_MAX_LIMIT, `must be a whole number from 1 to ${CHECKS_MAX_LIMIT}`))
    .optional()
    .meta({ description: `Results per check, newest first (1 to ${CHECKS_MAX_LIMIT}, default ${CHECKS_DEFAULT_LIMIT}).` }),
  check: z.string().min(1).max(120).optional().meta({ description: "Only this check, by its name (as results and acceptChecks name it)." }),
});

export const RunIdParam = z.object({
  id: z.string().min(1).max(200, "is longer than any run id"),
});

const scheduleFields = {
  cron: z.string().min(1).max(120).optional(),
  interval: z.string().min(2).max(20).optional(),
  timezone: z.string().min(1).max(64).optional(),
  enabled: z.boolean().optional(),
  missedRuns: z.enum(MISSED_RUN_POLICIES).optional(),
  maxCatchUp: z.number().int().min(1).max(100).optional(),
  deadline: z.string().min(2).max(20).nullable().optional().meta({ description: 'How long after its slot a run must have succeeded ("2h"); null for none.' }),
};

/** PUT: the whole schedule; exactly one of cron and interval. */
export const SchedulePut = z.strictObject(scheduleFields).refine((body) => (body.cron === undefined) !== (body.interval === undefined), {
  message: "set exactly one of cron and interval",
});

/** PATCH: any of the fields; setting cron replaces an interval and the other way round. */
export const SchedulePatch = z.strictObject(scheduleFields).refine((body) => Object.keys(body).length > 0, { message: "change at least one field" });

export const StatsQuery = z.strictObject({
  window: z.enum(STATS_WINDOW_NAMES, { message: `must be ${orList(STATS_WINDOW_NAMES)}` }).optional(),
});

/** A pipeline's name in a path: what the API knows is checked against the registry, not here. */
export const PipelineParam = z.object({
  name: z.string().min(1).max(63),
});

/** `"7d", "30d" or "all"` */
function orList(values: readonly string[]): string {
  const quoted = values.map((value) => JSON.stringify(value));
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}` : (quoted[0] ?? "");
}

/** A file's name in an upload path: the rest of the path, checked against the source's files by its kind. */
export const UploadParam = z.object({
  file: z.string().min(1).max(512),
});

/** A dataset file's key, as GET …/dataset lists it. */
export const DatasetFileParam = z.object({
  key: z.string().min(1).max(1024),
});
