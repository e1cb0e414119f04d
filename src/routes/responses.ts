import { CHECK_OUTCOMES, CHECK_SEVERITIES } from "../domain/check-results";
import { CHECK_TYPES } from "../engine/checks";
import { z } from "zod";
import { ALERT_EVENTS, ALERT_STATUSES } from "../domain/alerts";
import { RUN_ERROR_CODES, RUN_STATUSES, STAGE_STATUSES, TRIGGERS } from "../domain/run";
import { SLOT_MAPPINGS } from "../domain/upstream-window";
import { LATE_POLICIES } from "../domain/upstream-gate";
import { BACKFILL_SLOT_STATUSES, BACKFILL_STATUSES, REPROCESS_POLICIES } from "../domain/backfill";
import { MISSED_RUN_POLICIES } from "../domain/schedule";
import { LATENESS_EVENTS, SLOT_STATES } from "../domain/slot-ledger";
import { STAGE_NAMES } from "../domain/stages";
import { UNKNOWN_FIELD_POLICIES } from "../domain/contract-summary";
import { EVENT_STATUSES } from "../domain/api-events";

/**
 * The shapes the API answers with, as zod schemas: the OpenAPI document is generated from these and from
 * the request schemas that validate input. test/api/openapi.test.ts checks at compile time that they match
 * the TypeScript types the agents return, and at run time that real responses match the document.
 */

const nullableNumber = z.number().nullable();
/** A moment on a pipeline's wall clock, with its offset: `2026-11-28T03:00:00-05:00`. */
const localTime = z.string().meta({ description: "The same moment on the schedule's wall clock, with its offset (2026-11-28T03:00:00-05:00)." });
const stageName = z.enum(STAGE_NAMES);
const runStatus = z.enum(RUN_STATUSES);
const paramScalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export const paramValue = z.union([paramScalar, z.array(paramScalar)]);

export const ErrorResponse = z
  .object({ errors: z.array(z.object({ code: z.string(), message: z.string() })).min(1) })
  .catchall(z.unknown())
  .meta({ description: 'Every error: `{ "errors": [ { "code", "message" } ] }`, sometimes with context (the active run\'s id on 409).' });

export const StageRunSchema = z.object({
  name: stageName,
  status: z.enum(STAGE_STATUSES),
  startTime: nullableNumber,
  endTime: nullableNumber,
  durationMs: nullableNumber,
  inputCount: nullableNumber,
  outputCount: nullableNumber,
  rejectedCount: nullableNumber,
  attempts: z.number(),
  attemptErrors: z.array(z.string()),
  reusedFrom: z.string().optional().meta({ description: "On a retry: the run whose staged output this stage reused instead of running again." }),
  aheadMs: z.number().optional().meta({ description: "Overlap: how long the stage's current attempt worked beside the stage before it, before its own turn (startTime); durationMs is the part after. Absent when that attempt started in its turn (a later attempt, a stage a retry reused)." }),
  error: z.string().optional(),
});

export const SourceReportSchema = z.object({
  name: z.string(),
  served: z.boolean(),
  kind: z.string().meta({ description: "The source's kind: its `type` in the pipeline file (GET /api/openapi.json's info lists the kinds)." }),
  url: z.string().nullable(),
  format: z.string().nullable(),
  pages: z.number(),
  truncated: z.boolean(),
  watermark: z.string().nullable(),
  attempts: z.number(),
  attemptErrors: z.array(z.string()),
  skipped: z.array(z.object({ name: z.string(), reason: z.string() })),
  objects: z
    .array(z.object({ key: z.string(), etag: z.string(), size: z.number(), records: nullableNumber, firstPosition: nullableNumber, skipped: z.string().optional() }))
    .optional()
    .meta({ description: "Object sources: the first 100 objects read (records: the items it gave, from firstPosition) or passed over (skipped: why), in key order." }),
  objectCounts: z.object({ read: z.number(), skipped: z.number() }).optional().meta({ description: "Object sources: objects read and passed over, in all." }),
});

export const AlertRecordSchema = z.object({
  event: z.enum(ALERT_EVENTS),
  status: z.enum(ALERT_STATUSES),
  attempts: z.number(),
  error: z.string().optional(),
  at: z.number(),
});

const WorkerVersionSchema = z.object({ id: z.string(), tag: z.string().nullable() }).nullable();

export const RunDefinitionSchema = z.object({
  fingerprint: z.string(),
  stages: z.object({ extract: z.string(), transform: z.string() }),
  workerVersion: WorkerVersionSchema,
  changes: z.array(
    z.object({ at: z.number(), from: z.string(), to: z.string(), workerVersion: WorkerVersionSchema, restartedFrom: z.enum(STAGE_NAMES).nullable(), note: z.string() }),
  ),
});

const checkValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const CheckResultSchema = z.object({
  name: z.string(),
  type: z.enum(CHECK_TYPES),
  severity: z.enum(CHECK_SEVERITIES).meta({ description: '"error" blocks the load when it fails; "warn" loads and alerts.' }),
  outcome: z.enum(CHECK_OUTCOMES).meta({ description: '"skipped": nothing to judge (a relative row count before any run succeeded).' }),
  expected: z.string(),
  found: z.string(),
  offending: z.number().nullable().meta({ description: "Rows that break it (checks that look at rows), else null." }),
  sample: z.array(z.object({ position: z.number(), id: z.string(), values: z.record(z.string(), checkValue) })).meta({ description: "The first offending records by position, with the values judged." }),
  accepted: z.object({ by: z.string().nullable(), at: z.number(), retryOf: z.string() }).optional().meta({ description: "A retry loaded despite this failure (acceptChecks): the token's label, when, of which run." }),
});

export const CheckReportSchema = z.object({
  evaluatedAt: z.number(),
  results: z.array(CheckResultSchema),
  blocked: z.boolean().meta({ description: "An error check failed (not accepted): the run failed with checks_failed before anything was written." }),
});

export const CheckHistoryResponse = z.object({
  pipeline: z.string(),
  limit: z.number().meta({ description: "At most this many results per check." }),
  checks: z
    .array(
      z.object({
        name: z.string(),
        type: z.enum(CHECK_TYPES),
        severity: z.enum(CHECK_SEVERITIES).meta({ description: "As declared now." }),
        counts: z.object({ passed: z.number(), failed: z.number(), skipped: z.number() }).meta({ description: "Outcomes among the results listed." }),
        results: z
          .array(
            z.object({
              runId: z.string(),
              startTime: z.number(),
              status: runStatus.meta({ description: "The run's status (failed with checks_failed when an error check blocked its load)." }),
              severity: z.enum(CHECK_SEVERITIES).meta({ description: "As the run judged it." }),
              outcome: z.enum(CHECK_OUTCOMES),
              expected: z.string(),
              found: z.string(),
              offending: z.number().nullable(),
              accepted: CheckResultSchema.shape.accepted.unwrap().nullable().meta({ description: "A retry loaded despite this failure: the token's label, when, of which run; null otherwise." }),
            }),
          )
          .meta({ description: "Newest first, across the runs the history keeps (the run holds the offending sample)." }),
      }),
    )
    .meta({ description: "Every check the pipeline declares, in its order (empty when it declares none)." }),
});

export const ContractSummarySchema = z
  .object({
    unknownFields: z.enum(UNKNOWN_FIELD_POLICIES).meta({ description: "The policy applied: the pipeline's contract.unknownFields, or evolve when it declares none." }),
    declared: z.boolean().meta({ description: "Whether the pipeline declares a contract." }),
    fields: z
      .array(z.object({ name: z.string(), records: z.number(), firstPosition: z.number() }))
      .meta({ description: "The fields the record schema does not know, first met first (at most 50): how many records carried each, and the first one's position." }),
    truncated: z.boolean().meta({ description: "More distinct unknown fields were met than are listed." }),
    records: z.number().meta({ description: "Records that carried an unknown field (with freeze, each was rejected for it)." }),
  })
  .meta({ description: "Fields the record schema does not know that the run's records carried, and what the contract did with them (evolve: kept going; freeze: rejected; discard: dropped)." });

export const RunSchema = z
  .object({
    pipelineId: z.string(),
    pipeline: z.string(),
    trigger: z.enum(TRIGGERS),
    scheduledFor: nullableNumber,
    scheduledForLocal: z.string().nullable().meta({ description: "The slot on the schedule's wall clock with its offset (2026-11-28T03:00:00-05:00); null without a slot." }),
    timezone: z.string().meta({ description: "The IANA time zone of the schedule the run's slot belongs to." }),
    note: z.string().nullable(),
    params: z.record(z.string(), paramValue).meta({ description: "The run's parameters, checked against the pipeline's params schema ({} when it declares none)." }),
    backfillId: z.string().nullable().meta({ description: "The backfill this run belongs to (trigger backfill)." }),
    lineage: z
      .object({
        upstream: z.array(z.object({ pipeline: z.string(), scheduledFor: z.number(), runId: z.string() })).meta({ description: "The upstream runs whose slots fed this run's slot (its windows)." }),
        missingUpstream: z.string().nullable().meta({ description: "Set when the slot ran without all of its upstream (late, whenLate \"run\"): what was missing." }),
        objects: z.array(z.object({ key: z.string(), etag: z.string() })).meta({ description: "The objects whose notifications started the run (trigger object)." }),
        events: z.array(z.object({ id: z.string(), idempotencyKey: z.string().nullable() })).meta({ description: "The API events that started the run (trigger event)." }),
        cascadeOf: z.string().nullable().meta({ description: "The upstream backfill whose cascade this run belongs to." }),
      })
      .meta({ description: "What fed the run and what started it, beyond its trigger." }),
    retry: z
      .object({
        of: z.string().meta({ description: "The failed or cancelled run this one retries." }),
        fromStage: stageName.meta({ description: "The first stage this run executed." }),
        reused: z.array(stageName).meta({ description: "Stages whose staged output was reused from the original (or the run it reused them from)." }),
        note: z.string().nullable().meta({ description: "Why the retry started earlier than the failed stage (its staged data had expired)." }),
      })
      .nullable(),
    retriedBy: z.array(z.string()).meta({ description: "Runs that retried this one, oldest first." }),
    status: runStatus,
    startTime: z.number(),
    endTime: nullableNumber,
    totalDuration: nullableNumber,
    currentStage: stageName.nullable(),
    stagesCompleted: z.array(stageName),
    stages: z.array(StageRunSchema),
    finalResult: z
      .object({ recordCount: z.number(), destination: z.string(), success: z.boolean(), errors: z.array(z.string()).optional() })
      .nullable(),
    rejected: z.array(z.object({ id: z.string().nullable(), stage: stageName, reason: z.string() })),
    rejectedCount: z.number(),
    accounting: z.object({ extracted: z.number(), loaded: z.number(), rejected: z.number(), skipped: z.number(), balanced: z.boolean() }),
    resumes: z.number(),
    lastProgressAt: nullableNumber,
    source: SourceReportSchema.nullable(),
    alerts: z.array(AlertRecordSchema),
    contract: ContractSummarySchema.optional().meta({ description: "Set by transform when the pipeline declares a contract or a record carried a field the record schema does not know." }),
    definition: RunDefinitionSchema.optional().meta({ description: "What the run's output depends on, hashed (the definition's fingerprint, and each stage's), the Worker version (CF_VERSION_METADATA; null when the platform gives none), and changes a resume met." }),
    error: z.string().optional(),
    errorCode: z.enum(RUN_ERROR_CODES).optional().meta({ description: '"checks_failed": a dataset check with severity error failed; nothing was loaded (retry with acceptChecks, or fix and retry with fromStage transform).' }),
    checks: CheckReportSchema.optional().meta({ description: "The dataset checks' results, judged between transform and load (absent for a pipeline without checks, or before its transform ended)." }),
    acceptChecks: z.object({ names: z.array(z.string()), by: z.string().nullable(), at: z.number(), retryOf: z.string() }).optional().meta({ description: "Set on a retry asked to load despite these failed checks." }),
  })
;

export const TriggerResponse = z.object({
  message: z.string(),
  pipelineId: z.string(),
  status: runStatus,
  statusUrl: z.string(),
  run: RunSchema.optional(),
});

export const EventSchema = z.object({
  id: z.string(),
  idempotencyKey: z.string().nullable().meta({ description: "The Idempotency-Key it was posted with, or null." }),
  receivedAt: z.number(),
  status: z
    .enum(EVENT_STATUSES)
    .meta({ description: '"pending": its run has not started (its debounce window is open, or, with startsAt past, the pipeline is busy and it tries again every 15 s); "started": its run has started (the run says how it went).' }),
  runId: z.string().meta({ description: "The run it starts or started, fixed when it arrived (events with the same params within a debounce share one)." }),
  startsAt: z.number().meta({ description: "When that run is (or was) due: its debounce window closing, or the moment the event arrived." }),
  params: z.record(z.string(), paramValue).meta({ description: "The run's params: the body, checked, with the schema's defaults." }),
});

export const EventResponse = z.object({
  event: EventSchema,
  run: RunSchema.optional().meta({ description: "The run, once it has started." }),
  statusUrl: z.string().meta({ description: "The run's URL (GET …/runs/:id), which answers once the run has started." }),
  eventUrl: z.string().meta({ description: "The event's URL (GET …/events/:id), which answers from the start." }),
});

export const CancelResponse = z.object({ message: z.string(), pipelineId: z.string(), status: runStatus, run: RunSchema });

export const HistorySummarySchema = z.object({
  totalRuns: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  skipped: z.number(),
  cancelled: z.number(),
  running: z.number(),
  successRate: nullableNumber,
  averageDurationMs: nullableNumber,
  lastRunAt: nullableNumber,
});

export const HistoryResponse = z.object({ summary: HistorySummarySchema, runs: z.array(RunSchema), nextCursor: z.string().nullable() });

export const ScheduleViewSchema = z.object({
  id: z.string().nullable(),
  name: z.string(),
  scheduleType: z.literal("recurring"),
  cron: z.string().nullable(),
  every: z.string().nullable(),
  timezone: z.string(),
  interval: nullableNumber,
  enabled: z.boolean(),
  missedRuns: z.enum(MISSED_RUN_POLICIES),
  maxCatchUp: z.number(),
  source: z.enum(["api", "config"]),
  nextExecuteAt: nullableNumber,
  nextExecuteAtLocal: localTime.nullable(),
  lastExecutedAt: nullableNumber,
  lastExecutedAtLocal: localTime.nullable(),
  executionCount: z.number(),
  backlog: z.array(z.number()),
  deadline: z.string().nullable().meta({ description: 'How long after its slot a run must have succeeded ("2h"), or null.' }),
  error: z.string().optional(),
});

export const ScheduleResponse = z.array(ScheduleViewSchema);

export const StatsResponse = z.object({
  window: z.string(),
  from: nullableNumber,
  runs: z.number(),
  byStatus: z.object({ running: z.number(), succeeded: z.number(), failed: z.number(), skipped: z.number(), cancelled: z.number() }),
  successRate: nullableNumber,
  durationMs: z.object({ p50: nullableNumber, p95: nullableNumber, max: nullableNumber }),
  records: z.object({ loaded: z.number(), rejected: z.number() }),
  series: z.array(
    z.object({ runId: z.string(), trigger: z.string(), scheduledFor: nullableNumber.meta({ description: "The slot the run was for; null for a run outside the schedule." }), status: runStatus, startTime: z.number(), durationMs: nullableNumber, loaded: z.number(), rejected: z.number() }),
  ),
});

export const ScheduleHealthSchema = z.object({
  lastCheckAt: nullableNumber.meta({ description: "When the hourly check last verified the schedule's alarm." }),
  rearms: z.number().meta({ description: "How often the next slot's alarm was found missing or unset and re-armed." }),
  lastRearmAt: nullableNumber,
  lastRearmReason: z.string().nullable(),
});

export const StatsWithHealthResponse = StatsResponse.extend({ schedule: ScheduleHealthSchema });

export const RetryResponse = z.object({
  message: z.string(),
  pipelineId: z.string(),
  status: runStatus,
  statusUrl: z.string(),
  retry: RunSchema.shape.retry.unwrap(),
  run: RunSchema.optional(),
});

const backfillSlot = z.object({
  scheduledFor: z.number(),
  scheduledForLocal: localTime,
  status: z.enum(BACKFILL_SLOT_STATUSES),
  runId: z.string().nullable(),
  reason: z.string().nullable(),
  consumed: z.array(z.object({ pipeline: z.string(), scheduledFor: z.number(), runId: z.string() })).optional().meta({ description: "In a cascade: the upstream runs the slot's run consumes." }),
  statusUrl: z.string().nullable(),
});

const cascadeOrigin = z
  .object({
    root: z.string().meta({ description: "The backfill the cascade started from." }),
    closure: z.array(z.string()).meta({ description: "The pipelines it reaches, in dependency order, the root's pipeline first." }),
    notifiedAt: nullableNumber.meta({ description: "When the downstream pipelines were told this backfill ended." }),
  })
  .nullable()
  .optional();

const backfillSummary = z.object({
  backfillId: z.string(),
  pipeline: z.string(),
  from: z.number(),
  to: z.number(),
  fromLocal: localTime,
  toLocal: localTime,
  reprocess: z.enum(REPROCESS_POLICIES),
  params: z.record(z.string(), paramValue),
  timezone: z.string().meta({ description: "The time zone of the schedule the slots come from; {{slot.date}} is read in it." }),
  status: z.enum(BACKFILL_STATUSES),
  createdAt: z.number(),
  endedAt: nullableNumber,
  counts: z.object(Object.fromEntries(BACKFILL_SLOT_STATUSES.map((status) => [status, z.number()])) as Record<(typeof BACKFILL_SLOT_STATUSES)[number], z.ZodNumber>),
  alert: z
    .object({ status: z.enum(["pending", "delivered", "failed"]), attempts: z.number(), error: z.string().optional(), at: z.number() })
    .nullable()
    .meta({ description: "The one alert a backfill sends when it ends with failed slots (its runs send none one by one)." }),
  cascade: cascadeOrigin.meta({ description: "Set when the backfill is part of a cascade (cascade: true, or started by an upstream's)." }),
  statusUrl: z.string(),
});

export const BackfillStarted = z.object({
  backfillId: z.string(),
  pipeline: z.string(),
  status: z.enum(BACKFILL_STATUSES),
  slots: z.array(z.number()).meta({ description: "The pipeline's slots in [from, to), epoch ms, oldest first." }),
  timezone: z.string().meta({ description: "The time zone of the schedule the slots come from; dates in the request were its days." }),
  slotsLocal: z.array(localTime),
  toRun: z.number().meta({ description: "Slots the backfill runs (the others are skipped, as reprocess says)." }),
  skipped: z.number(),
  cascade: cascadeOrigin,
  statusUrl: z.string(),
});

export const BackfillResponse = backfillSummary.extend({ slots: z.array(backfillSlot) });
export const BackfillCancelResponse = BackfillResponse.extend({ message: z.string() });
export const BackfillsResponse = z.object({ backfills: z.array(backfillSummary) });

const waitingFor = z.object({
  pipeline: z.string(),
  from: z.number().meta({ description: "The window of the upstream's slots the slot consumes: [from, to)." }),
  to: z.number(),
  slots: z.array(z.object({ scheduledFor: z.number(), state: z.string(), runId: z.string().nullable(), status: runStatus.nullable() })).meta({ description: "Upstream slots of the window not succeeded yet (the first 24)." }),
  count: z.number().meta({ description: "How many upstream slots of the window have not succeeded." }),
  problem: z.string().nullable().meta({ description: "Why the upstream cannot be read (its definition is invalid), or null." }),
});

export const SlotEntrySchema = z.object({
  scheduledFor: z.number(),
  scheduledForLocal: localTime,
  state: z.enum(SLOT_STATES),
  runId: z.string().nullable(),
  status: runStatus.nullable(),
  reason: z.string().nullable(),
  startedLateByMs: nullableNumber,
  deadlineAt: nullableNumber,
  deadlineMet: z.boolean().nullable(),
  waitingFor: z.array(waitingFor).nullable().meta({ description: "For a waiting slot: what of its upstream it still waits for." }),
  backfill: z
    .object({ runId: z.string(), backfillId: z.string().nullable(), status: runStatus, startedAt: z.number() })
    .nullable()
    .meta({ description: "The newest backfill run of the slot, kept apart: the slot's lateness and deadline are judged on its own runs." }),
  alerts: z.array(
    z.object({
      event: z.enum(LATENESS_EVENTS),
      status: z.enum(["pending", "delivered", "failed", "not_sent"]),
      attempts: z.number(),
      error: z.string().optional(),
      at: z.number(),
    }),
  ),
});

export const SlotsResponse = z.object({
  from: z.number(),
  to: z.number(),
  timezone: z.string().meta({ description: "The schedule's time zone: dates in the query were its days." }),
  fromLocal: localTime,
  toLocal: localTime,
  slots: z.array(SlotEntrySchema),
  triggered: z
    .array(
      z.object({
        runId: z.string(),
        trigger: z.enum(["object", "event"]),
        admittedAt: z.number(),
        objects: z.array(z.object({ key: z.string(), etag: z.string() })),
        events: z.array(z.object({ id: z.string(), idempotencyKey: z.string().nullable() })),
      }),
    )
    .meta({ description: "Runs of the range that belong to no slot, started by objects landing or events posted, with what started each." }),
});

export const RejectedResponse = z.object({
  pipelineId: z.string(),
  rejected: z.array(z.object({ position: z.number(), id: z.string().nullable(), stage: z.string(), reason: z.string(), raw: z.string() })),
  nextCursor: z.string().nullable(),
});

export const HealthResponse = z.object({ status: z.literal("ok") });

export const PIPELINE_STATES = ["ready", "misconfigured", "invalid"] as const;

export const PipelineSummarySchema = z.object({
  name: z.string(),
  description: z.string(),
  state: z
    .enum(PIPELINE_STATES)
    .meta({ description: '"ready"; "misconfigured": its variables do not resolve (problems says why); "invalid": its definition has mistakes and was set aside when the deployment loaded (problems lists them).' }),
  problems: z.array(z.string()).meta({ description: "Why the pipeline cannot run; empty when it is ready." }),
  schedule: z.object({ cron: z.string().nullable(), every: z.string().nullable(), timezone: z.string(), enabled: z.boolean(), nextExecuteAt: nullableNumber }),
  destination: z.string().meta({ description: "d1://<database>/<table>, as in a run's finalResult.destination" }),
  params: z.record(z.string(), z.unknown()).nullable().meta({ description: "The JSON Schema of the params a run takes (POST …/trigger { params }), or null when it takes none." }),
  lastRun: z.object({ pipelineId: z.string(), status: runStatus, endTime: nullableNumber }).nullable(),
  triggers: z
    .object({
      after: z.array(z.object({ pipeline: z.string(), slots: z.enum(SLOT_MAPPINGS) })).meta({ description: "The upstream pipelines each slot waits for, and which of their slots it consumes." }),
      wait: z.object({ waitMs: z.number(), whenLate: z.enum(LATE_POLICIES) }).nullable().meta({ description: "How long a slot waits for its upstream after its time, and what it does then." }),
      downstream: z.array(z.string()).meta({ description: "The pipelines whose slots wait for this one's." }),
      objects: z.object({ bucket: z.string(), prefix: z.string(), suffix: z.string(), debounceMs: z.number() }).nullable().meta({ description: "Objects landing in this bucket under the prefix start a run (R2 event notifications)." }),
      events: z
        .object({ debounceMs: z.number(), maxWaitMs: z.number(), maxEvents: z.number() })
        .meta({ description: "POST …/events: events with the same params within the debounce make one run (started at most maxWaitMs after its first event, or once it holds maxEvents); debounceMs 0: each event is a run of its own." }),
    })
    .nullable()
    .meta({ description: "What starts runs besides the clock; null for a definition set aside." }),
  waiting: z
    .array(z.object({ scheduledFor: z.number(), scheduledForLocal: localTime, since: z.number(), waitingFor: z.array(waitingFor) }))
    .meta({ description: "Slots whose time has come, waiting for their upstream, oldest first." }),
});

export const PipelinesResponse = z.object({ pipelines: z.array(PipelineSummarySchema) });

export const UploadResponse = z.object({
  message: z.string(),
  source: z.string().meta({ description: "The source that reads the file." }),
  key: z.string(),
  etag: z.string(),
  size: z.number(),
  uri: z.string().meta({ description: "Where it is: r2://<binding>/<key>." }),
});

export const NotificationSentResponse = z.object({
  message: z.string(),
  pipelines: z.array(z.object({ name: z.string(), debounceMs: z.number() })).meta({ description: "The pipelines whose triggers.objects it matches: each starts a run once no object has landed for its debounce." }),
  ignored: z.string().nullable().meta({ description: "Why it starts no run (a delete, or no pipeline listens there); null when it does." }),
});

export const DatasetResponse = z.object({
  uri: z.string(),
  partitions: z.array(
    z.object({
      name: z.string().meta({ description: 'The partition folder, e.g. "order_day=2026-11-28" ("" when the dataset is not partitioned).' }),
      rows: z.number(),
      runId: z.string().meta({ description: "The run whose load committed this version of the partition." }),
      committedAt: z.number(),
      files: z.array(z.object({ key: z.string(), rows: z.number(), bytes: z.number() })),
    }),
  ),
});
