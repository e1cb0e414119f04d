import { encodeCursor, summarizeGroups, type HistoryCursor, type HistorySummary } from "../../domain/history";
import type { StoredCheckResult } from "../../domain/check-history";
import type { CheckResult } from "../../domain/check-results";
import { upgradeRun, type Lineage, type Run, type RunStatus } from "../../domain/run";
import { toRunView, type RunSummary, type RunView } from "../../domain/run-view";
import { recordRun, type SlotRecord } from "../../domain/slot-ledger";
import type { RunPoint } from "../../domain/stats";
import { upgradeSettings, type PipelineSettings } from "../../engine/settings";

/** The Agents SDK's tagged-template SQL over the agent's own SQLite. */
/** What started a queued slot's run, when not its alarm (its upstream), and what it consumed. */
export interface QueuedStart {
  trigger: "scheduled" | "upstream";
  lineage: Lineage;
}

export type Sql = <T = Record<string, SqlStorageValue>>(strings: TemplateStringsArray, ...values: (string | number | boolean | null)[]) => T[];

export interface StoredRun {
  run: Run;
  settings: PipelineSettings;
}

export interface HistoryPage {
  summary: HistorySummary;
  runs: RunView[];
  next: HistoryCursor | null;
}


/** Slot records kept: a year of an hourly schedule, ten of a daily one, about 70 days of a per-minute one. */
export const MAX_SLOT_RECORDS = 100_000;

/** The shape of the stored API views: raised when a view gains fields, so older ones are made again. */
const VIEW_VERSION = "2";

/**
 * A pipeline's run history in its coordinator's SQLite: the schema, and every statement the coordinator
 * runs against it. Runs are stored as documents (the run, and the settings it started with) beside the
 * columns queries need, plus the run's API view as JSON text, so reads pass text through unparsed.
 */
export class RunStore {
  private cachedSummary: HistorySummary | null = null;

  constructor(private readonly sql: Sql) {}

  /** Creates the tables, and brings older ones up to date (columns added since). */
  migrate(): void {
    this.sql`CREATE TABLE IF NOT EXISTS runs (
      run_id      TEXT PRIMARY KEY,
      trigger     TEXT NOT NULL,
      status      TEXT NOT NULL,
      start_time  INTEGER NOT NULL,
      end_time    INTEGER,
      duration_ms INTEGER,
      doc         TEXT NOT NULL,
      settings    TEXT NOT NULL
    )`;
    this.sql`CREATE INDEX IF NOT EXISTS runs_newest_first ON runs (start_time DESC, run_id DESC)`;
    this.sql`CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status)`;
    this.sql`CREATE TABLE IF NOT EXISTS pipeline_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`;
    const columns = new Set(this.sql<{ name: string }>`SELECT name FROM pragma_table_info('runs')`.map((column) => column.name));
    if (!columns.has("staging_cleaned")) this.sql`ALTER TABLE runs ADD COLUMN staging_cleaned INTEGER NOT NULL DEFAULT 0`;
    if (!columns.has("view")) this.sql`ALTER TABLE runs ADD COLUMN view TEXT`;
    // A failed or cancelled run's staged data is kept until then, for a retry.
    if (!columns.has("staging_keep_until")) this.sql`ALTER TABLE runs ADD COLUMN staging_keep_until INTEGER`;
    this.sql`CREATE TABLE IF NOT EXISTS slot_ledger (slot INTEGER PRIMARY KEY, record TEXT NOT NULL)`;
    // Scheduled slots that arrived during a backfill run, waiting for it to end.
    this.sql`CREATE TABLE IF NOT EXISTS run_queue (run_id TEXT PRIMARY KEY, scheduled_for INTEGER NOT NULL, queued_at INTEGER NOT NULL, timezone TEXT)`;
    const queueColumns = this.sql<{ name: string }>`SELECT name FROM pragma_table_info('run_queue')`.map((column) => column.name);
    if (!queueColumns.includes("timezone")) this.sql`ALTER TABLE run_queue ADD COLUMN timezone TEXT`;
    // A slot released by its upstream keeps what started it, and what it consumed, while it waits in the queue.
    if (!queueColumns.includes("start")) this.sql`ALTER TABLE run_queue ADD COLUMN start TEXT`;
    if (this.sql<{ n: number }>`SELECT COUNT(*) AS n FROM slot_ledger`[0]!.n === 0) this.rebuildLedger();
    this.refreshViews();
  }

  /**
   * Stored API views are re-made from the documents when the view gains fields (VIEW_VERSION): older
   * documents first learn their schedule's time zone from the settings they were saved with.
   */
  private refreshViews(): void {
    const [row] = this.sql<{ value: string }>`SELECT value FROM pipeline_state WHERE key = 'view_version'`;
    if (row?.value === VIEW_VERSION) return;
    this.sql`UPDATE runs SET doc = json_set(doc, '$.timezone', COALESCE(json_extract(settings, '$.schedule.timezone'), 'UTC')) WHERE json_extract(doc, '$.timezone') IS NULL`;
    this.sql`UPDATE runs SET view = NULL`;
    this.sql`INSERT INTO pipeline_state (key, value) VALUES ('view_version', ${VIEW_VERSION}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
  }

  /** The slot ledger of a history saved before the ledger existed: built once from the runs still kept. */
  private rebuildLedger(): void {
    for (const row of this.sql<{ doc: string }>`SELECT doc FROM runs ORDER BY start_time`) {
      this.recordSlot(upgradeRun(JSON.parse(row.doc) as Record<string, unknown>));
    }
  }

  /** Keeps the slot's record in step with a run of it; written only when it changes. */
  private recordSlot(run: Run): void {
    if (run.scheduledFor === null) return;
    const [row] = this.sql<{ record: string }>`SELECT record FROM slot_ledger WHERE slot = ${run.scheduledFor}`;
    const record = JSON.stringify(recordRun(row ? (JSON.parse(row.record) as SlotRecord) : null, run as Run & { scheduledFor: number }));
    if (record === row?.record) return;
    this.sql`INSERT INTO slot_ledger (slot, record) VALUES (${run.scheduledFor}, ${record}) ON CONFLICT (slot) DO UPDATE SET record = excluded.record`;
  }

  /** What became of the slots in [from, to) that any run belonged to, oldest first (at most `limit`). */
  slotRecords(from: number, to: number, limit = MAX_SLOT_RECORDS): SlotRecord[] {
    return this.sql<{ record: string }>`SELECT record FROM slot_ledger WHERE slot >= ${from} AND slot < ${to} ORDER BY slot LIMIT ${limit}`.map((row) => JSON.parse(row.record) as SlotRecord);
  }

  /** Keeps the newest MAX_SLOT_RECORDS slot records (years of a per-minute schedule would grow without end). */
  pruneSlotRecords(): void {
    this.sql`DELETE FROM slot_ledger WHERE slot < (SELECT slot FROM slot_ledger ORDER BY slot DESC LIMIT 1 OFFSET ${MAX_SLOT_RECORDS - 1})`;
  }

  load(runId: string): StoredRun | null {
    const [row] = this.sql<{ doc: string; settings: string }>`SELECT doc, settings FROM runs WHERE run_id = ${runId}`;
    if (!row) return null;
    const settings = upgradeSettings(JSON.parse(row.settings) as PipelineSettings);
    return { run: upgradeRun(JSON.parse(row.doc) as Record<string, unknown>, settings.schedule.timezone), settings };
  }

  save(run: Run, settings: PipelineSettings): void {
    this.cachedSummary = null;
    const duration = run.endTime === null ? null : run.endTime - run.startTime;
    this.sql`
      INSERT INTO runs (run_id, trigger, status, start_time, end_time, duration_ms, doc, settings, view)
      VALUES (${run.runId}, ${run.trigger}, ${run.status}, ${run.startTime}, ${run.endTime}, ${duration},
              ${JSON.stringify(run)}, ${JSON.stringify(settings)}, ${JSON.stringify(toRunView(run))})
      ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, end_time = excluded.end_time,
        duration_ms = excluded.duration_ms, doc = excluded.doc, view = excluded.view`;
    this.recordSlot(run);
  }

  activeRunIds(): string[] {
    return this.sql<{ run_id: string }>`SELECT run_id FROM runs WHERE status = 'running' ORDER BY start_time`.map((row) => row.run_id);
  }

  /** A run's API view as JSON text, or null. */
  runJson(runId: string): string | null {
    const [row] = this.sql<{ doc: string; view: string | null }>`SELECT CASE WHEN view IS NULL THEN doc END AS doc, view FROM runs WHERE run_id = ${runId}`;
    return row ? viewText(row) : null;
  }

  /** The most recent run that executed and ended, as JSON text ("null" before any). */
  lastFinishedJson(): string {
    const [row] = this.sql<{ doc: string; view: string | null }>`
      SELECT CASE WHEN view IS NULL THEN doc END AS doc, view FROM runs WHERE status IN ('succeeded', 'failed', 'cancelled') ORDER BY start_time DESC, run_id DESC LIMIT 1`;
    return row ? viewText(row) : "null";
  }

  lastFinished(): RunView | null {
    const json = this.lastFinishedJson();
    return json === "null" ? null : (JSON.parse(json) as RunView);
  }

  /** The last finished run in brief, for the pipelines list. */
  lastFinishedSummary(): RunSummary | null {
    const [row] = this.sql<{ run_id: string; status: RunStatus; end_time: number | null }>`
      SELECT run_id, status, end_time FROM runs WHERE status IN ('succeeded', 'failed', 'cancelled') ORDER BY start_time DESC, run_id DESC LIMIT 1`;
    return row ? { pipelineId: row.run_id, status: row.status, endTime: row.end_time } : null;
  }

  /** A history page as the API answers it, as JSON text: the stored run views joined, unparsed. */
  historyJson(limit: number, cursor: HistoryCursor | null): string {
    const rows = this.page(limit, cursor);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const next = rows.length > limit && last ? JSON.stringify(encodeCursor({ startTime: last.start_time, runId: last.run_id })) : "null";
    return `{"summary":${JSON.stringify(this.summary())},"runs":[${page.map(viewText).join(",")}],"nextCursor":${next}}`;
  }

  history(limit: number, cursor: HistoryCursor | null): HistoryPage {
    const rows = this.page(limit, cursor);
    const runs = rows.slice(0, limit).map((row) => JSON.parse(viewText(row)) as RunView);
    const last = rows.slice(0, limit).at(-1);
    return { summary: this.summary(), runs, next: rows.length > limit && last ? { startTime: last.start_time, runId: last.run_id } : null };
  }

  /** The history summary, aggregated by SQLite rather than by loading every run; kept until a run changes. */
  summary(): HistorySummary {
    if (this.cachedSummary) return this.cachedSummary;
    const groups = this.sql<{ status: RunStatus; runs: number; finished_ms: number; finished: number; last_start: number }>`
      SELECT status, COUNT(*) AS runs,
             TOTAL(CASE WHEN status IN ('succeeded', 'failed') THEN duration_ms END) AS finished_ms,
             COUNT(CASE WHEN status IN ('succeeded', 'failed') AND duration_ms IS NOT NULL THEN 1 END) AS finished,
             MAX(start_time) AS last_start
      FROM runs GROUP BY status`;
    this.cachedSummary = summarizeGroups(groups.map((group) => ({ status: group.status, runs: group.runs, durationTotal: group.finished_ms, durationCount: group.finished, lastStart: group.last_start })));
    return this.cachedSummary;
  }

  /** Runs that started since `from` and are not running, as the stats see them. */
  statsPoints(from: number): RunPoint[] {
    return this.sql<{ doc: string }>`SELECT doc FROM runs WHERE start_time >= ${from} AND status != 'running'`.map((row) => {
      const run = upgradeRun(JSON.parse(row.doc) as Record<string, unknown>);
      return {
        runId: run.runId,
        trigger: run.trigger,
        scheduledFor: run.scheduledFor,
        status: run.status,
        startTime: run.startTime,
        durationMs: run.endTime === null ? null : run.endTime - run.startTime,
        loaded: run.finalResult?.recordCount ?? 0,
        rejected: run.rejectedCount,
      };
    });
  }

  /** The first run that started after `startTime` and succeeded, if any. */
  succeededSince(startTime: number): string | null {
    const [row] = this.sql<{ run_id: string }>`SELECT run_id FROM runs WHERE status = 'succeeded' AND start_time > ${startTime} ORDER BY start_time, run_id LIMIT 1`;
    return row?.run_id ?? null;
  }

  /** The rows the last `limit` successful runs staged for loading (what a dataset check calls "the usual"), newest first. */
  recentRowCounts(limit: number): number[] {
    return this.sql<{ rows: number | null }>`
      SELECT json_extract(doc, '$.stages[1].outputCount') AS rows FROM runs WHERE status = 'succeeded'
      ORDER BY start_time DESC, run_id DESC LIMIT ${limit}`
      .map((row) => row.rows)
      .filter((rows): rows is number => typeof rows === "number");
  }

  /**
   * The newest results of the named checks across the runs kept, at most `perCheck` of each, read out of
   * the run documents by SQLite (json_each over `checks.results`) rather than by loading every run.
   */
  checkResults(names: readonly string[], perCheck: number): StoredCheckResult[] {
    if (names.length === 0) return [];
    return this.sql<{ run_id: string; start_time: number; status: RunStatus; result: string }>`
      SELECT run_id, start_time, status, result FROM (
        SELECT runs.run_id, runs.start_time, runs.status, entry.value AS result,
               ROW_NUMBER() OVER (PARTITION BY json_extract(entry.value, '$.name') ORDER BY runs.start_time DESC, runs.run_id DESC) AS nth
        FROM runs, json_each(runs.doc, '$.checks.results') AS entry
        WHERE json_extract(entry.value, '$.name') IN (SELECT value FROM json_each(${JSON.stringify(names)}))
      ) WHERE nth <= ${perCheck}
      ORDER BY start_time DESC, run_id DESC`.map((row) => ({ runId: row.run_id, startTime: row.start_time, status: row.status, result: JSON.parse(row.result) as CheckResult }));
  }

  /** The status of the last run before `run` that executed (skipped runs did not), backfill runs aside. */
  previousFinishedStatus(run: Run): RunStatus | null {
    const [row] = this.sql<{ status: RunStatus }>`
      SELECT status FROM runs WHERE status IN ('succeeded', 'failed', 'cancelled') AND run_id != ${run.runId}
        AND trigger != 'backfill' AND start_time <= ${run.startTime}
      ORDER BY start_time DESC, run_id DESC LIMIT 1`;
    return row?.status ?? null;
  }

  watermark(): string | null {
    const [row] = this.sql<{ value: string }>`SELECT value FROM pipeline_state WHERE key = 'watermark'`;
    return row?.value ?? null;
  }

  /** Moves the watermark forward, never back. */
  advanceWatermark(value: string): void {
    const current = this.watermark();
    if (current !== null && current >= value) return;
    this.sql`INSERT INTO pipeline_state (key, value) VALUES ('watermark', ${value}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
  }

  /** Finished runs beyond the newest `keep`, oldest last. */
  runsBeyond(keep: number): string[] {
    return this.sql<{ run_id: string }>`
      SELECT run_id FROM runs WHERE status != 'running' ORDER BY start_time DESC, run_id DESC LIMIT -1 OFFSET ${keep}`.map((row) => row.run_id);
  }

  delete(runIds: readonly string[]): void {
    for (const runId of runIds) this.sql`DELETE FROM runs WHERE run_id = ${runId}`;
    this.cachedSummary = null;
  }

  /** Finished runs whose staged objects may still be in R2 and are no longer kept for a retry. */
  uncleaned(limit: number, now: number): string[] {
    return this.sql<{ run_id: string }>`
      SELECT run_id FROM runs WHERE status != 'running' AND staging_cleaned != 1 AND (staging_keep_until IS NULL OR staging_keep_until <= ${now})
      LIMIT ${limit}`.map((row) => row.run_id);
  }

  /** Keeps a finished run's staged data until `until`, for a retry. */
  keepStaging(runId: string, until: number): void {
    this.sql`UPDATE runs SET staging_keep_until = ${until} WHERE run_id = ${runId}`;
  }

  /** Whether a run's staged data is still there: kept for a retry and not yet removed. */
  stagingKept(runId: string): { kept: true } | { kept: false; until: number | null; pruned: boolean } {
    const [row] = this.sql<{ cleaned: number; until: number | null }>`SELECT staging_cleaned AS cleaned, staging_keep_until AS until FROM runs WHERE run_id = ${runId}`;
    if (row && row.cleaned === 0) return { kept: true };
    return { kept: false, until: row?.until ?? null, pruned: row === undefined };
  }

  /** Whether a finished run's staged data was removed already. */
  isCleaned(runId: string): boolean {
    return this.sql<{ cleaned: number }>`SELECT staging_cleaned AS cleaned FROM runs WHERE run_id = ${runId}`[0]?.cleaned === 1;
  }

  /** Runs whose staged data an active run is reading (a retry reusing their output). */
  stagingInUse(): Set<string> {
    const owners = this.activeRunIds().flatMap((runId) => this.load(runId)?.run.stages ?? []).map((stage) => stage.reusedFrom);
    return new Set(owners.filter((runId): runId is string => runId !== undefined));
  }

  /** A scheduled slot that waits for the active backfill run to end, with the time zone its slot is read in. */
  enqueue(runId: string, scheduledFor: number, now: number, timezone: string, start: QueuedStart | null = null): void {
    this.sql`INSERT OR IGNORE INTO run_queue (run_id, scheduled_for, queued_at, timezone, start) VALUES (${runId}, ${scheduledFor}, ${now}, ${timezone}, ${start === null ? null : JSON.stringify(start)})`;
  }

  /** The oldest waiting slot. */
  nextQueued(): { runId: string; scheduledFor: number; timezone: string | null; start: QueuedStart | null } | null {
    const [row] = this.sql<{ run_id: string; scheduled_for: number; timezone: string | null; start: string | null }>`SELECT run_id, scheduled_for, timezone, start FROM run_queue ORDER BY scheduled_for LIMIT 1`;
    return row ? { runId: row.run_id, scheduledFor: row.scheduled_for, timezone: row.timezone, start: row.start === null ? null : (JSON.parse(row.start) as QueuedStart) } : null;
  }

  dequeue(runId: string): void {
    this.sql`DELETE FROM run_queue WHERE run_id = ${runId}`;
  }

  queuedSlots(): number[] {
    return this.sql<{ scheduled_for: number }>`SELECT scheduled_for FROM run_queue ORDER BY scheduled_for`.map((row) => row.scheduled_for);
  }

  markCleaned(runId: string): void {
    this.sql`UPDATE runs SET staging_cleaned = 1 WHERE run_id = ${runId}`;
  }

  /**
   * Marks a run's staged data as being removed (2) or back to kept (0, when removal failed). While it is
   * being removed no retry may plan to reuse it.
   */
  markRemoving(runId: string, removing: boolean): void {
    this.sql`UPDATE runs SET staging_cleaned = ${removing ? 2 : 0} WHERE run_id = ${runId} AND staging_cleaned != 1`;
  }

  private page(limit: number, cursor: HistoryCursor | null) {
    type Row = { doc: string; view: string | null; run_id: string; start_time: number };
    return cursor
      ? this.sql<Row>`
          SELECT CASE WHEN view IS NULL THEN doc END AS doc, view, run_id, start_time FROM runs WHERE (start_time, run_id) < (${cursor.startTime}, ${cursor.runId})
          ORDER BY start_time DESC, run_id DESC LIMIT ${limit + 1}`
      : this.sql<Row>`SELECT CASE WHEN view IS NULL THEN doc END AS doc, view, run_id, start_time FROM runs ORDER BY start_time DESC, run_id DESC LIMIT ${limit + 1}`;
  }
}

/** A run's API view as JSON text: stored with every save, derived for rows saved before that existed. */
function viewText(row: { doc: string; view: string | null }): string {
  return row.view ?? JSON.stringify(toRunView(upgradeRun(JSON.parse(row.doc) as Record<string, unknown>)));
}

