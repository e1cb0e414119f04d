/**
 * `npm run pipeline -- <command>`: the HTTP API from a terminal. Human tables by default, the API's JSON
 * with --json; `trigger --wait` (and retry, backfill) follow the run live. Exit codes in exit-codes.ts.
 */
import { Command, CommanderError, Option } from "commander";
import { createLogUpdate } from "log-update";
import { z } from "zod";
import {
  BackfillResponse,
  BackfillStarted,
  CancelResponse,
  CheckHistoryResponse,
  EventResponse,
  HistoryResponse,
  NotificationSentResponse,
  PipelineSummarySchema,
  PipelinesResponse,
  RetryResponse,
  RunSchema,
  ScheduleResponse,
  SlotsResponse,
  TriggerResponse,
  UploadResponse,
} from "../routes/responses";
import { putNotification } from "../domain/object-notifications";
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { ApiClient } from "./api-client.ts";
import { CliError, EXIT, type ExitCode } from "./exit-codes.ts";
import { contractLine } from "../display/contract.ts";
import { count, duration, relative, time } from "../display/format.ts";
import { table } from "./format.ts";
import { checkHistoryLines, checkLines } from "./checks.ts";
import { parseParams } from "./params.ts";
import { depsLines, triggeredLines, waitingSlotLines } from "./deps.ts";
import { declaredTable, planLines, planMigration, planPostgresMigration } from "./migration.ts";
import { canRedraw, LiveProgress, lineageLines, outcomeLines, runLines } from "./progress.ts";
import { printable } from "./terminal-text.ts";


export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Readonly<Record<string, string | undefined>>;
  /** How often a followed run is read again (ms). */
  pollMs?: number;
}

const DEFAULT_URL = "http://localhost:8787";
const DEFAULT_PIPELINE = "default";

interface Context {
  /** Made when a command runs, from --url or PIPELINE_API_URL. */
  api: ApiClient | null;
  /** --utc: times in UTC rather than on each pipeline's clock. */
  utc: boolean;
  io: CliIo;
  json: boolean;
  exit: ExitCode;
}

/** Runs one command line; resolves with the exit code (never exits the process itself). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const context: Context = { api: null, io, json: false, utc: false, exit: EXIT.ok };
  const program = buildProgram(context);
  try {
    await program.parseAsync(argv, { from: "user" });
    return context.exit;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; anything else commander refuses is a usage error.
      return error.code === "commander.helpDisplayed" || error.code === "commander.help" || error.code === "commander.version" ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      if (context.json && error.body !== null) context.io.stdout.write(`${printable(JSON.stringify(error.body, null, 2))}\n`);
      context.io.stderr.write(`error: ${printable(error.message)}\n`);
      return error.exitCode;
    }
    context.io.stderr.write(`error: ${printable(error instanceof Error ? error.message : String(error))}\n`);
    return EXIT.failed;
  }
}

function buildProgram(context: Context): Command {
  const { io } = context;
  const program = new Command("pipeline")
    .description("Operate scheduled-pipeline through its HTTP API (PIPELINE_API_URL, PIPELINE_API_TOKEN).")
    .option("--json", "print the API's JSON instead of tables")
    .option("--utc", "show times in UTC (default: each pipeline's time zone)")
    .option("--url <url>", `the API (default: PIPELINE_API_URL or ${DEFAULT_URL})`)
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(printable(text)), writeErr: (text) => io.stderr.write(printable(text)) })
    .showHelpAfterError("(run with --help for usage)")
    .hook("preAction", (command) => {
      const options = command.opts<{ json?: boolean; url?: string; utc?: boolean }>();
      context.json = options.json ?? false;
      context.utc = options.utc ?? false;
      const timeoutMs = Number(io.env.PIPELINE_API_TIMEOUT_MS) || undefined;
      context.api = new ApiClient({ baseUrl: options.url || io.env.PIPELINE_API_URL || DEFAULT_URL, token: io.env.PIPELINE_API_TOKEN || null, timeoutMs });
    });

  const pipelineOption = () => new Option("-p, --pipeline <name>", "the pipeline the run belongs to (found by the run's id when left out)");
  const paramOption = () => new Option("--param <name=value>", "a run parameter (repeat for more; JSON values like 2.5 or true are typed)").argParser(collect).default([]);

  program
    .command("list")
    .description("every pipeline: schedule, next run, last run, destination")
    .action(() => list(context));
  program
    .command("trigger")
    .description("start a run now")
    .argument("[pipeline]", "the pipeline", DEFAULT_PIPELINE)
    .option("-w, --wait", "follow the run until it ends (live progress in a terminal)")
    .addOption(paramOption())
    .option("--note <text>", "a note kept on the run")
    .action((pipeline: string, options: { wait?: boolean; param: string[]; note?: string }) => trigger(context, pipeline, options));
  program
    .command("event")
    .description("post an event: a run with the event's params, debounced as the pipeline declares")
    .argument("<pipeline>", "the pipeline")
    .addOption(paramOption())
    .option("-k, --key <idempotency-key>", "an Idempotency-Key: posting again with it answers the same event, never a second run")
    .option("-w, --wait", "follow the run until it ends (once its debounce has passed and the pipeline is free)")
    .action((pipeline: string, options: { param: string[]; key?: string; wait?: boolean }) => postEvent(context, pipeline, options));
  program
    .command("status")
    .description("one run: stages, counts, errors")
    .argument("<runId>", "the run")
    .addOption(pipelineOption())
    .action((runId: string, options: { pipeline?: string }) => status(context, options.pipeline, runId));
  program
    .command("history")
    .description("the newest runs of a pipeline")
    .argument("[pipeline]", "the pipeline", DEFAULT_PIPELINE)
    .option("-n, --limit <n>", "how many runs (1-100)", "20")
    .action((pipeline: string, options: { limit: string }) => history(context, pipeline, options.limit));
  program
    .command("backfill")
    .description("run the pipeline's slots in [from, to), one at a time, oldest first")
    .argument("<pipeline>", "the pipeline")
    .requiredOption("--from <time>", "start, included: 2026-11-01, 2026-11-01T00:00:00Z or epoch ms")
    .requiredOption("--to <time>", "end, excluded")
    .addOption(new Option("--reprocess <policy>", "which slots run again").choices(["none", "failed", "all"]).default("none"))
    .addOption(paramOption())
    .option("-w, --wait", "follow the backfill until it ends")
    .action((pipeline: string, options: { from: string; to: string; reprocess: string; param: string[]; wait?: boolean }) => backfill(context, pipeline, options));
  program
    .command("retry")
    .description("rerun a failed or cancelled run from the stage that failed")
    .argument("<runId>", "the failed or cancelled run")
    .addOption(pipelineOption())
    .option("-w, --wait", "follow the retry until it ends")
    .addOption(new Option("--accept-check <name>", "load despite this failed check of a run its checks blocked (repeat for more); recorded on the retry").argParser(collect).default([]))
    .addOption(new Option("--from-stage <stage>", "start from this stage at the latest (transform: judge a new batch after a fix)").choices(["extract", "transform", "load"]))
    .action((runId: string, options: { pipeline?: string; wait?: boolean; acceptCheck: string[]; fromStage?: string }) => retry(context, options.pipeline, runId, options));
  program
    .command("cancel")
    .description("stop a running run between chunks or stages")
    .argument("<runId>", "the run")
    .addOption(pipelineOption())
    .action((runId: string, options: { pipeline?: string }) => cancel(context, options.pipeline, runId));
  program
    .command("upload")
    .description("put a file where a pipeline that reads files (an r2 source) finds it on its next run")
    .argument("<pipeline>", "the pipeline")
    .argument("<file>", "the local file")
    .option("--as <name>", "its name under the source's prefix (default: the file's own name)")
    .option("-r, --run", "then run the pipeline and follow the run until it ends")
    .action((pipeline: string, file: string, options: { as?: string; run?: boolean }) => upload(context, pipeline, file, options));
  program
    .command("schedule")
    .description("a pipeline's schedule")
    .argument("[pipeline]", "the pipeline", DEFAULT_PIPELINE)
    .action((pipeline: string) => schedule(context, pipeline, "GET", "/schedule"));
  program
    .command("pause")
    .description("pause a pipeline's schedule")
    .argument("[pipeline]", "the pipeline", DEFAULT_PIPELINE)
    .action((pipeline: string) => schedule(context, pipeline, "POST", "/schedule/pause"));
  program
    .command("resume")
    .description("resume a pipeline's schedule")
    .argument("[pipeline]", "the pipeline", DEFAULT_PIPELINE)
    .action((pipeline: string) => schedule(context, pipeline, "POST", "/schedule/resume"));
  program
    .command("slots")
    .description("the slot ledger: every expected slot of a range and its fate (a waiting one: what of its upstream it waits for)")
    .argument("[pipeline]", "the pipeline", DEFAULT_PIPELINE)
    .option("--from <time>", "start, included (default: 7 days ago)")
    .option("--to <time>", "end, excluded (default: just after the next slot)")
    .action((pipeline: string, options: { from?: string; to?: string }) => slots(context, pipeline, options));
  program
    .command("checks")
    .description("each dataset check the pipeline declares, with its newest results across runs")
    .argument("[pipeline]", "the pipeline", DEFAULT_PIPELINE)
    .option("-c, --check <name>", "only this check")
    .option("-n, --limit <n>", "results per check (1-100)", "20")
    .action((pipeline: string, options: { check?: string; limit: string }) => checks(context, pipeline, options));
  program
    .command("deps")
    .description("which pipeline feeds which: what each runs after (and which of its slots), what runs after it, the objects and events that start it, its waiting slots")
    .argument("[pipeline]", "one pipeline (default: all of them)")
    .action((pipeline: string | undefined) => deps(context, pipeline ?? null));
  program
    .command("migration")
    .description("write the SQL migration that makes a pipeline's D1 table what its definition declares (reads migrations/, needs no server); for a PostgreSQL table, its CREATE TABLE in migrations/postgres/")
    .argument("<pipeline>", "the pipeline")
    .option("--dry-run", "print the migration, write nothing")
    .option("--dir <path>", "the migrations folder", "migrations")
    .action((pipeline: string, options: { dryRun?: boolean; dir: string }) => migration(context, pipeline, options));
  return program;
}

/** Reads the definitions (bundled with the CLI, loaded only here) and the migrations folder; exit 0 whether it wrote one or none was needed. */
async function migration(context: Context, pipeline: string, options: { dryRun?: boolean; dir: string }): Promise<void> {
  const { deployment } = await import("../pipelines");
  const dryRun = options.dryRun ?? false;
  const declared = declaredTable(deployment, pipeline);
  const plan = declared.postgres
    ? await planPostgresMigration(pipeline, { ...declared, postgres: declared.postgres }, { dir: options.dir, dryRun })
    : await planMigration(pipeline, declared, { dir: options.dir, dryRun });
  if (context.json) return printJson(context, { ...plan, written: plan.path !== null && !dryRun });
  for (const line of planLines(plan, options.dir, dryRun)) print(context, line);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const base = (pipeline: string) => `/api/pipelines/${encodeURIComponent(pipeline)}`;
const runUrl = (pipeline: string, runId: string) => `${base(pipeline)}/runs/${encodeURIComponent(runId)}`;

/** Everything the CLI prints goes through here: no control character from server data reaches the terminal. */
function print(context: Context, text: string): void {
  context.io.stdout.write(`${printable(text)}\n`);
}

function api(context: Context): ApiClient {
  return context.api!;
}

/** Times on the pipeline's clock (its `timezone`), or in UTC with --utc. */
function clock(context: Context, timezone: string): (ms: number | null | undefined) => string {
  const zone = context.utc ? "UTC" : timezone;
  return (ms) => time(ms, zone);
}

function printJson(context: Context, value: unknown): void {
  print(context, JSON.stringify(value, null, 2));
}

/** A run that failed or was cancelled makes the command exit 1. */
function exitFor(run: { status: string }): ExitCode {
  return run.status === "failed" || run.status === "cancelled" ? EXIT.failed : EXIT.ok;
}

async function list(context: Context): Promise<void> {
  const { body } = await api(context).get("/api/pipelines", PipelinesResponse);
  if (context.json) return printJson(context, body);
  const now = Date.now();
  print(
    context,
    table(
      ["PIPELINE", "SCHEDULE", "NEXT RUN", "LAST RUN", "DESTINATION"],
      body.pipelines.map((pipeline) => [
        pipeline.name,
        `${describeSchedule(pipeline.schedule)} ${pipeline.schedule.timezone}${pipeline.state !== "ready" ? ` (${pipeline.state})` : pipeline.schedule.enabled ? "" : " (paused)"}`,
        pipeline.state !== "ready" ? pipeline.state : pipeline.schedule.enabled ? relative(pipeline.schedule.nextExecuteAt, now) : "paused",
        pipeline.lastRun ? `${pipeline.lastRun.status} ${relative(pipeline.lastRun.endTime, now)}` : "never",
        pipeline.destination,
      ]),
    ),
  );
  for (const pipeline of body.pipelines) for (const problem of pipeline.problems) print(context, `${pipeline.name} is ${pipeline.state}: ${problem}`);
}

/** `0 3 * * *`, `every 6h`, or `-` when neither could be read. */
function describeSchedule(schedule: { cron: string | null; every: string | null }): string {
  return schedule.cron ?? (schedule.every === null ? "-" : `every ${schedule.every}`);
}

/** The type a file is sent with, by its extension. */
const CONTENT_TYPES: Record<string, string> = { csv: "text/csv", ndjson: "application/x-ndjson", jsonl: "application/x-ndjson", json: "application/json" };

async function upload(context: Context, pipeline: string, file: string, options: { as?: string; run?: boolean }): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new CliError(EXIT.usage, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const name = options.as ?? basename(file);
  const type = CONTENT_TYPES[extname(name).slice(1).toLowerCase()] ?? "application/octet-stream";
  const path = `${base(pipeline)}/uploads/${name.split("/").map(encodeURIComponent).join("/")}`;
  const { body: stored } = await api(context).putBytes(path, UploadResponse, bytes, type);
  if (!context.json) print(context, `uploaded ${name} (${count(stored.size)} bytes) → ${stored.uri}; ${stored.message}`);
  const notified = await notifyUpload(context, pipeline, stored);
  if (notified && !context.json) print(context, notified);
  if (context.json && !options.run) return printJson(context, stored);
  if (options.run) await trigger(context, pipeline, { wait: true, param: [] });
}

/**
 * Where R2 sends no event notifications (a local `npm run dev`), sends the one it would have for the file
 * just uploaded, so a pipeline with `triggers.objects` starts its run as it would deployed. Says what
 * became of it; says nothing where the server gets R2's own (it answers notifications_not_simulated) or
 * the pipeline does not start runs on files landing.
 */
async function notifyUpload(context: Context, pipeline: string, stored: z.output<typeof UploadResponse>): Promise<string | null> {
  const { body: summary } = await api(context).get(base(pipeline), ObjectTriggerView);
  const objects = summary.triggers?.objects;
  if (!objects) return null;
  let sent: z.output<typeof NotificationSentResponse>;
  try {
    ({ body: sent } = await api(context).post("/api/notifications/r2", NotificationSentResponse, putNotification(objects.bucket, stored, Date.now())));
  } catch (error) {
    if (error instanceof CliError && apiCode(error.body) === "notifications_not_simulated") return null;
    throw error;
  }
  const runs = sent.pipelines.map((entry) => `${entry.name} starts a run once no file has landed for ${duration(entry.debounceMs)}`);
  return `sent the PutObject notification R2 would have (${objects.bucket}/${stored.key}): ${runs.length > 0 ? runs.join("; ") : `it starts no run (${sent.ignored})`}`;
}

/** Of a pipeline's summary, the one field the upload looks at: what its `triggers.objects` listens for. */
const ObjectTriggerView = z.object({ triggers: PipelineSummarySchema.shape.triggers.unwrap().pick({ objects: true }).nullable() });

/** The first error code of an answer in the API's error shape. */
function apiCode(body: unknown): string | null {
  const code = (body as { errors?: { code?: unknown }[] } | null)?.errors?.[0]?.code;
  return typeof code === "string" ? code : null;
}

async function trigger(context: Context, pipeline: string, options: { wait?: boolean; param: string[]; note?: string }): Promise<void> {
  const params = parseParams(options.param);
  const body = { ...(params ? { params } : {}), ...(options.note ? { note: options.note } : {}) };
  const { body: started } = await api(context).post(`${base(pipeline)}/trigger`, TriggerResponse, body);
  if (!options.wait) {
    if (context.json) return printJson(context, started);
    print(context, `started ${started.pipelineId}\nfollow: npm run pipeline -- status ${started.pipelineId} --pipeline ${pipeline}   (${api(context).baseUrl}${started.statusUrl})`);
    return;
  }
  await follow(context, pipeline, started.pipelineId);
}

/**
 * Posts an event (the params are the body). Says which run it starts and when: at once, after its
 * debounce, or once the pipeline is free; with --wait, waits for that and follows the run.
 */
async function postEvent(context: Context, pipeline: string, options: { param: string[]; key?: string; wait?: boolean }): Promise<void> {
  const params = parseParams(options.param) ?? {};
  const headers: Record<string, string> = options.key === undefined ? {} : { "idempotency-key": options.key };
  const { body: posted, headers: answered } = await api(context).post(`${base(pipeline)}/events`, EventResponse, params, headers);
  const replayed = answered.get("idempotent-replayed") === "true";
  if (!options.wait && context.json) return printJson(context, posted);
  const { event } = posted;
  if (!context.json) {
    const now = Date.now();
    const when =
      event.status === "started" ? "started" : event.startsAt > now ? `pending: starts ${relative(event.startsAt, now)}, unless more events with its params come first` : "pending: starts once the run now active has ended";
    const lines = [`event ${event.id} → run ${event.runId} ${when}`];
    if (replayed) lines.push(`(the key ${JSON.stringify(event.idempotencyKey)} was used before: this is that event, received ${relative(event.receivedAt, now)})`);
    if (!options.wait) lines.push(`follow: npm run pipeline -- status ${event.runId} --pipeline ${pipeline}   (${api(context).baseUrl}${posted.statusUrl})`);
    print(context, lines.join("\n"));
  }
  if (!options.wait) return;
  let current = posted;
  while (current.event.status === "pending") {
    await sleep(context.io.pollMs ?? 500);
    current = (await api(context).get(posted.eventUrl, EventResponse)).body;
  }
  await follow(context, pipeline, event.runId);
}

/** Reads the run until it ends, showing its progress; the command's exit code is the run's. */
async function follow(context: Context, pipeline: string, runId: string): Promise<void> {
  const progress = context.json ? null : new LiveProgress(context.io.stdout);
  for (;;) {
    const { body: run } = await api(context).get(runUrl(pipeline, runId), RunSchema);
    if (run.status !== "running") {
      if (progress) {
        progress.done(run);
        for (const line of checkLines(run, clock(context, run.timezone))) print(context, line);
      } else printJson(context, run);
      context.exit = exitFor(run);
      return;
    }
    progress?.show(run);
    await sleep(context.io.pollMs ?? 500);
  }
}

/** The run, from its pipeline's path, or (no pipeline given) found by its id across pipelines. */
async function readRun(context: Context, pipeline: string | undefined, runId: string) {
  const path = pipeline === undefined ? `/api/runs/${encodeURIComponent(runId)}` : runUrl(pipeline, runId);
  return (await api(context).get(path, RunSchema)).body;
}

async function status(context: Context, pipeline: string | undefined, runId: string): Promise<void> {
  const run = await readRun(context, pipeline, runId);
  pipeline = run.pipeline;
  context.exit = exitFor(run);
  if (context.json) return printJson(context, run);
  const lines = [...runLines(run, Date.now())];
  if (run.scheduledFor !== null) lines.push(`slot ${clock(context, run.timezone)(run.scheduledFor)}${context.utc || run.timezone === "UTC" ? "" : ` (${run.timezone})`}`);
  if (Object.keys(run.params).length > 0) lines.push(`params ${JSON.stringify(run.params)}`);
  if (run.source) lines.push(`source ${run.source.name}${run.source.url ? ` ${run.source.url}` : ""}${run.source.served ? "" : " (not served)"}`);
  lines.push(...lineageLines(run, clock(context, run.timezone)));
  const drift = contractLine(run.contract);
  if (drift) lines.push(drift);
  if (run.status !== "running") lines.push(...outcomeLines(run));
  lines.push(...checkLines(run, clock(context, run.timezone)));
  if (run.retriedBy.length > 0) lines.push(`retried by ${run.retriedBy.join(", ")}`);
  for (const rejected of run.rejected.slice(0, 5)) lines.push(`rejected ${rejected.id ?? "(no id)"} in ${rejected.stage}: ${rejected.reason}`);
  if (run.rejectedCount > 5) lines.push(`… ${count(run.rejectedCount - 5)} more rejected: ${api(context).baseUrl}${runUrl(pipeline, runId)}/rejected`);
  print(context, lines.join("\n"));
}

async function history(context: Context, pipeline: string, limit: string): Promise<void> {
  const { body } = await api(context).get(`${base(pipeline)}/history?limit=${encodeURIComponent(limit)}`, HistoryResponse);
  if (context.json) return printJson(context, body);
  const rate = body.summary.successRate === null ? "-" : `${Math.round(body.summary.successRate * 100)}%`;
  print(context, `${pipeline}: ${count(body.summary.totalRuns)} runs, ${rate} succeeded`);
  print(
    context,
    table(
      ["RUN", "TRIGGER", "STATUS", "SLOT", "STARTED", "DURATION", "LOADED", "REJECTED"],
      body.runs.map((run) => [run.pipelineId, run.trigger, run.status, clock(context, run.timezone)(run.scheduledFor), clock(context, run.timezone)(run.startTime), duration(run.totalDuration), count(run.accounting.loaded), count(run.rejectedCount)]),
    ),
  );
}

/** Each check's newest results across runs, times on the pipeline's clock. */
async function checks(context: Context, pipeline: string, options: { check?: string; limit: string }): Promise<void> {
  const query = new URLSearchParams({ limit: options.limit, ...(options.check === undefined ? {} : { check: options.check }) });
  const { body } = await api(context).get(`${base(pipeline)}/checks?${query}`, CheckHistoryResponse);
  if (context.json) return printJson(context, body);
  const { body: summary } = await api(context).get(base(pipeline), PipelineSummarySchema.pick({ schedule: true }));
  print(context, checkHistoryLines(body, clock(context, summary.schedule.timezone)).join("\n"));
}

type BackfillView = z.output<typeof BackfillResponse>;

async function backfill(context: Context, pipeline: string, options: { from: string; to: string; reprocess: string; param: string[]; wait?: boolean }): Promise<void> {
  const params = parseParams(options.param);
  const request = { from: timeArgument(options.from), to: timeArgument(options.to), reprocess: options.reprocess, ...(params ? { params } : {}) };
  const { body: started } = await api(context).post(`${base(pipeline)}/backfill`, BackfillStarted, request);
  if (!options.wait) {
    if (context.json) return printJson(context, started);
    print(context, `backfill ${started.backfillId}: ${count(started.slots.length)} slots, ${count(started.toRun)} to run, ${count(started.skipped)} skipped\nfollow: ${api(context).baseUrl}${started.statusUrl}`);
    return;
  }
  const redraw = !context.json && canRedraw(context.io.stdout) ? createLogUpdate(context.io.stdout) : null;
  let last = "";
  for (;;) {
    const { body: view } = await api(context).get(started.statusUrl, BackfillResponse);
    const done = view.status !== "running" && !view.slots.some((slot) => slot.status === "running");
    const line = backfillLine(view, clock(context, view.timezone));
    if (redraw) redraw(printable(line));
    else if (!context.json && line !== last) print(context, line);
    last = line;
    if (done) {
      redraw?.done();
      if (context.json) printJson(context, view);
      else print(context, table(["SLOT", "STATUS", "RUN", "REASON"], view.slots.map((slot) => [clock(context, view.timezone)(slot.scheduledFor), slot.status, slot.runId, slot.reason])));
      context.exit = view.status === "succeeded" ? EXIT.ok : EXIT.failed;
      return;
    }
    await sleep(context.io.pollMs ?? 500);
  }
}

function backfillLine(view: BackfillView, at: (ms: number) => string): string {
  const { counts } = view;
  const total = view.slots.length - counts.skipped;
  const finished = counts.succeeded + counts.failed + counts.cancelled;
  const running = view.slots.find((slot) => slot.status === "running");
  return `backfill ${view.backfillId} ${view.status}: ${finished}/${total} slots done (${counts.succeeded} succeeded, ${counts.failed} failed)${running ? `, running ${at(running.scheduledFor)}` : ""}`;
}

async function retry(context: Context, given: string | undefined, runId: string, options: { wait?: boolean; acceptCheck: string[]; fromStage?: string }): Promise<void> {
  const pipeline = given ?? (await readRun(context, undefined, runId)).pipeline;
  const request = { ...(options.acceptCheck.length > 0 ? { acceptChecks: options.acceptCheck } : {}), ...(options.fromStage ? { fromStage: options.fromStage } : {}) };
  const { body } = await api(context).post(`${runUrl(pipeline, runId)}/retry`, RetryResponse, Object.keys(request).length > 0 ? request : undefined);
  if (!options.wait) {
    if (context.json) return printJson(context, body);
    const reused = body.retry.reused.length > 0 ? `, reusing ${body.retry.reused.join(" and ")}` : "";
    const accepting = options.acceptCheck.length > 0 ? `, accepting ${options.acceptCheck.join(", ")}` : "";
    print(context, `started ${body.pipelineId}: retry of ${runId} from ${body.retry.fromStage}${reused}${accepting}${body.retry.note ? ` (${body.retry.note})` : ""}`);
    return;
  }
  await follow(context, pipeline, body.pipelineId);
}

async function cancel(context: Context, given: string | undefined, runId: string): Promise<void> {
  const pipeline = given ?? (await readRun(context, undefined, runId)).pipeline;
  const { body } = await api(context).post(`${runUrl(pipeline, runId)}/cancel`, CancelResponse);
  if (context.json) return printJson(context, body);
  const stage = body.run.stages.find((candidate) => candidate.status === "cancelled")?.name;
  print(context, `cancelled ${runId}${stage ? ` in ${stage}` : ""}`);
}

async function schedule(context: Context, pipeline: string, method: "GET" | "POST", path: string): Promise<void> {
  const { body } = await api(context).request(method, `${base(pipeline)}${path}`, ScheduleResponse);
  if (context.json) return printJson(context, body);
  const [view] = body;
  if (!view) return;
  const at = clock(context, view.timezone);
  const rows: [string, string][] = [
    ["schedule", describeSchedule(view)],
    ["timezone", view.timezone],
    ["enabled", view.error ? "no (misconfigured, see error)" : view.enabled ? "yes" : "no (paused)"],
    ["next run", view.nextExecuteAt === null ? "-" : `${at(view.nextExecuteAt)} (${relative(view.nextExecuteAt, Date.now())})`],
    ["missed runs", `${view.missedRuns} (at most ${view.maxCatchUp})`],
    ["deadline", view.deadline ?? "none"],
    ["source", view.source === "api" ? "set through the API" : "the pipeline's definition"],
    ["executions", `${count(view.executionCount)}, last ${at(view.lastExecutedAt)}`],
  ];
  if (view.error) rows.push(["error", view.error]);
  print(context, table(["", ""], rows).split("\n").slice(1).join("\n"));
}

async function slots(context: Context, pipeline: string, options: { from?: string; to?: string }): Promise<void> {
  const query = new URLSearchParams();
  if (options.from) query.set("from", String(timeArgument(options.from)));
  if (options.to) query.set("to", String(timeArgument(options.to)));
  const { body } = await api(context).get(`${base(pipeline)}/slots${query.size > 0 ? `?${query}` : ""}`, SlotsResponse);
  if (context.json) return printJson(context, body);
  const states = body.slots.reduce<Record<string, number>>((counts, slot) => ({ ...counts, [slot.state]: (counts[slot.state] ?? 0) + 1 }), {});
  print(context, `${pipeline}: ${Object.entries(states).map(([state, n]) => `${n} ${state}`).join(", ") || "no slots in the range"}`);
  print(
    context,
    table(
      ["SLOT", "STATE", "RUN", "STATUS", "STARTED LATE BY", "DEADLINE", "BACKFILL", "REASON"],
      body.slots.map((slot) => [
        clock(context, body.timezone)(slot.scheduledFor),
        slot.state,
        slot.runId,
        slot.status,
        duration(slot.startedLateByMs),
        slot.deadlineMet === null ? "-" : slot.deadlineMet ? "met" : "missed",
        // Kept apart: the slot is judged on its own runs, the backfill shown beside it.
        slot.backfill === null ? "-" : slot.backfill.runId === slot.runId ? slot.backfill.status : `${slot.backfill.status} (${slot.backfill.runId})`,
        slot.reason,
      ]),
    ),
  );
  const at = (ms: number) => clock(context, body.timezone)(ms);
  const waiting = waitingSlotLines(body.slots, at);
  if (waiting.length > 0) print(context, ["waiting for their upstream:", ...waiting.map((line) => `  ${line}`)].join("\n"));
  if (body.triggered.length > 0) print(context, ["runs outside the slots, started by objects or events:", ...triggeredLines(body.triggered, at).map((line) => `  ${line}`)].join("\n"));
}

/**
 * The dependency graph: every pipeline (or one) with what it runs after, what runs after it, what else
 * starts it, and its slots waiting for their upstream. --json: the API's answer (GET /api/pipelines, or
 * the one pipeline's entry).
 */
async function deps(context: Context, only: string | null): Promise<void> {
  const { body } = await api(context).get("/api/pipelines", PipelinesResponse);
  const entry = only === null ? null : body.pipelines.find((pipeline) => pipeline.name === only);
  // Not in the list: its own path answers the API's 404 (exit 2), naming the pipelines there are.
  const named = only !== null && !entry ? (await api(context).get(base(only), PipelineSummarySchema)).body : entry;
  if (context.json) return printJson(context, named ?? body);
  const pipelines = named && !entry ? [...body.pipelines, named] : body.pipelines;
  print(context, depsLines(pipelines, only, (ms, zone) => clock(context, zone)(ms), Date.now()).join("\n"));
}

/** Epoch ms stay numbers; anything else goes to the API as written (it names what is wrong). */
function timeArgument(value: string): string | number {
  return /^\d{1,16}$/.test(value) ? Number(value) : value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
