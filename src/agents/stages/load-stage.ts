import { destinationKindOf, type DestinationSettings } from "../../destinations";
import { localDate } from "../../domain/local-time";
import { rejectionStatements, saveRejections } from "../../db/rejections";
import { classifyError, MEMORY_ADVICE, StageFailure } from "../../domain/failures";
import { duplicateReason, type Rejection, type RejectionSample } from "../../domain/records";
import { MAX_REJECTED_IN_RUN, type StageReport } from "../../domain/stage-report";
import { NOTHING_STAGED, type StageInput } from "../../domain/staged-data";
import { idOf, positionOf, type StagedRow } from "../../engine/staged-row";
import { readStaged } from "../../staging/staging-store";
import { followTransform, LoadGoSignal } from "./load-follow";
import { RawLookup } from "./raw-lookup";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";
import { Yielder } from "./yield";

/** Rejected records written in the same batch as the first rows, when a run has at most this many. */
const INLINE_REJECTIONS = 100;

/**
 * Writes one key bucket of rows to the pipeline's destination (through its kind's writer: an upsert on the
 * key) and its share of the records refused by earlier stages to `rejected_records` in D1. Both writes
 * are keyed, so loading the same run twice (a retry, a resumed run) changes nothing.
 *
 * Duplicate keys are found here: all occurrences of a key arrive in this bucket in position order, and
 * the writer says which rows found their key already taken by this run. With "reject" the first is
 * loaded and later ones are rejected with the position of the first; with "last-wins" the last one stays.
 */
export class LoadStage extends StageAgent {
  /** Loads following transform, by attempt: the run's word to go on (with the load's input) when its turn comes. */
  private readonly following = new Map<number, { go: LoadGoSignal; signal: AbortSignal }>();

  /**
   * The run's load turn has come for an attempt that followed transform: its input, as the run recorded
   * it. False when no such attempt is at work here (the agent was reset): the run then loads in its turn.
   */
  async proceed(attempt: number, input: StageInput): Promise<boolean> {
    // A follower being stopped (superseded by a newer one still waiting for it) cannot take the go.
    const following = this.following.get(attempt);
    if (!following || following.signal.aborted) return false;
    this.takenUp(attempt);
    following.go.give(input);
    return true;
  }

  protected async perform(task: StageTask, context: StageContext): Promise<StageReport> {
    if (!task.follow) return this.load(task, context);
    const go = new LoadGoSignal();
    const following = { go, signal: context.signal };
    this.following.set(task.attempt, following);
    try {
      const written = <T>(write: () => Promise<T>, store: string) => this.written(write, task.settings.destination, context.signal, store);
      return await followTransform({ env: this.env, task, context, go, written });
    } finally {
      if (this.following.get(task.attempt) === following) this.following.delete(task.attempt);
    }
  }

  private async load(task: StageTask, { signal, progress }: StageContext): Promise<StageReport> {
    const { pipeline, destination, statementsPerBatch } = task.settings;
    const kind = destinationKindOf(destination);
    const d1 = <T>(write: () => Promise<T>) => this.written(write, destination, signal, "D1");
    const written = <T>(write: () => Promise<T>) => this.written(write, destination, signal, kind.store);
    const now = Date.now();
    const env = this.env as unknown as Record<string, unknown>;
    const slotDate = localDate(task.asOf, task.settings.schedule.timezone);
    const writer = kind.writer(destination, { env, pipeline, runId: task.runId, loadedAt: now, shard: task.shard, shards: task.shards, attempt: task.attempt, slotDate, scratch: { sql: this.ctx.storage.sql, transaction: (work) => this.ctx.storage.transactionSync(work) } });
    const bucket = task.input.records[0] ?? NOTHING_STAGED;
    const raw = new RawLookup(this.env.STAGING, task.input.raw);
    const sample: RejectionSample[] = [];
    let loaded = 0;
    let duplicates = 0;
    const yielder = new Yielder();
    // A few rejections from earlier stages go in the first batch of rows: one round trip for a small run.
    const rejectedCount = task.input.rejected.reduce((sum, staged) => sum + staged.count, 0);
    const inline = kind.carriesCompanions && rejectedCount > 0 && rejectedCount <= INLINE_REJECTIONS;
    let companions: D1PreparedStatement[] = [];
    if (inline) {
      const rejections: Rejection[] = [];
      for (const staged of task.input.rejected) for await (const chunk of readStaged(this.env.STAGING, staged)) rejections.push(...(chunk.records as Rejection[]));
      companions = rejectionStatements(this.env.DB, pipeline, task.runId, rejections, now);
    }

    // The destination's shape against the definition, once, before the first row: a table that differs
    // fails the load whole, naming each difference and the migration that fixes it, not half way through.
    let shapeChecked = !kind.verifyShape;
    for await (const chunk of readStaged(this.env.STAGING, bucket)) {
      signal.throwIfAborted();
      const rows = chunk.records as StagedRow[];
      if (!shapeChecked && rows.length > 0) {
        const problem = await written(() => kind.verifyShape!(destination, { env, pipeline }));
        if (problem) throw new StageFailure(problem, "permanent");
        shapeChecked = true;
      }
      let repeated: { row: StagedRow; first: number }[] = [];
      // Live counts after every batch, so a run stopped inside a chunk shows about what it wrote; the exact
      // figure of a run that did not succeed is counted in the table when it ends (the coordinator does).
      const before = loaded;
      let writtenInChunk = 0;
      const control = {
        statementsPerBatch,
        companions,
        signal,
        written: async (count: number) => {
          writtenInChunk += count;
          progress({ inputCount: bucket.count, outputCount: before + writtenInChunk, rejectedCount: duplicates });
          // A turn between batches: a cancel (or anything else) waiting for this thread gets in here.
          await yielder.after(count);
        },
      };
      const result = await written(() => writer.write(rows, control));
      loaded += result.loaded;
      repeated = result.duplicates;
      companions = [];
      if (repeated.length > 0) {
        const rejections: Rejection[] = [];
        for (const { row, first } of repeated) {
          const reason = duplicateReason(idOf(row), first);
          rejections.push({ position: positionOf(row), id: idOf(row), stage: "load", reason, raw: await raw.at(positionOf(row)) });
          if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ position: positionOf(row), id: idOf(row), stage: "load", reason });
        }
        await d1(() => saveRejections(this.env.DB, pipeline, task.runId, rejections, now, statementsPerBatch));
        duplicates += repeated.length;
      }
      progress({ inputCount: bucket.count, outputCount: loaded, rejectedCount: duplicates });
    }
    // Companions whose rows never came (a run of rejections only) go with the finish.
    // A writer that commits whole files at the end (a Parquet dataset) says so after each: proof of life
    // for the stall detector while no row count moves.
    const finishing = { statementsPerBatch, signal, companions, written: async () => {
      progress({ inputCount: bucket.count, outputCount: loaded, rejectedCount: duplicates });
      await yielder.after(1);
    } };
    await written(() => writer.finish(finishing));
    for (const staged of inline ? [] : task.input.rejected) {
      for await (const chunk of readStaged(this.env.STAGING, staged)) {
        signal.throwIfAborted();
        await d1(() => saveRejections(this.env.DB, pipeline, task.runId, chunk.records as Rejection[], now, statementsPerBatch));
      }
    }
    return { inputCount: bucket.count, outputCount: loaded, rejectedCount: duplicates, output: [], rejected: NOTHING_STAGED, rejectedSample: sample };
  }

  /**
   * Storage errors arrive as plain Errors; says which are worth another attempt. When the destination
   * itself is wrong (a missing migration), the failure says so rather than quoting SQLite: checked only
   * after an error, so a healthy load pays no extra round trip.
   */
  private async written<T>(write: () => Promise<T>, destination: DestinationSettings, signal: AbortSignal, store: string): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (signal.aborted) throw error; // told to stop (between batches), not a failure of the store
      if (error instanceof StageFailure) throw error;
      const problem = await destinationKindOf(destination)
        .diagnose(destination, this.env as unknown as Record<string, unknown>)
        .catch(() => null);
      if (problem) throw new StageFailure(problem, "permanent");
      const message = error instanceof Error ? error.message : String(error);
      const classified = classifyError(error);
      throw new StageFailure(`${store} write failed: ${message}${classified.memory ? `: ${MEMORY_ADVICE}` : ""}`, classified.kind);
    }
  }
}
