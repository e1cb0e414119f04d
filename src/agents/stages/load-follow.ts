import { destinationKindOf } from "../../destinations";
import type { WriteControl } from "../../destinations/kind";
import { saveRejections } from "../../db/rejections";
import { StageFailure } from "../../domain/failures";
import { duplicateReason, type Rejection, type RejectionSample } from "../../domain/records";
import { shardInstanceName } from "../../domain/shards";
import { MAX_REJECTED_IN_RUN, type StageReport } from "../../domain/stage-report";
import { NOTHING_STAGED, type StagedData, type StageInput } from "../../domain/staged-data";
import { runKey } from "../../domain/stages";
import { idOf, positionOf, type StagedRow } from "../../engine/staged-row";
import type { FedChunk, FeedNews } from "../../staging/chunk-feed";
import { ChunkWriter, readChunk, readStaged, readStagedChunk } from "../../staging/staging-store";
import { RawLookup } from "./raw-lookup";
import type { StageContext, StageTask } from "./stage-task";
import { untilAborted } from "./until-aborted";
import { Yielder } from "./yield";

/** How long one poll of the transform's feed may be held open. */
const FEED_POLL_MS = 5_000;

/** The run's word that a load following transform may go on: its input, once its turn has come. */
export class LoadGoSignal {
  private given: StageInput | null = null;
  private readonly waiters: ((input: StageInput) => void)[] = [];

  give(input: StageInput): void {
    if (this.given) return;
    this.given = input;
    for (const waiter of this.waiters.splice(0)) waiter(input);
  }

  get input(): StageInput | null {
    return this.given;
  }

  wait(): Promise<StageInput> {
    return this.given ? Promise.resolve(this.given) : new Promise((resolve) => this.waiters.push(resolve));
  }
}

export interface LoadFollowDeps {
  env: Env;
  task: StageTask;
  context: StageContext;
  go: LoadGoSignal;
  /** A write to the destination, its errors said as the load says them (see LoadStage). */
  written<T>(write: () => Promise<T>, store: string): Promise<T>;
}

/** A duplicate found while the rows waited: resolved into a rejected record once the run's input is known. */
interface Repeat {
  position: number;
  id: string;
  first: number;
}

/**
 * A load that follows transform: each chunk of rows transform stages is written as soon as it is there,
 * into the destination's staging (rows held aside, see DestinationKind.staging), never into the
 * destination itself; duplicates are found there as the load would find them. When the run's load turn
 * comes (transform succeeded, the dataset checks let the rows through), the run hands over the load's
 * input: what was taken must be the first chunks of transform's output (else the load starts over on
 * it), the rest is written, then everything is published into the destination at once, and the refused
 * records are written. A transform that started over starts this over; one whose feed was lost (its agent
 * reset) or that failed leaves it waiting for the run, which either stops it or hands over the input, and
 * then the load starts over on all of it: chunks of a lost feed cannot be told from a later try's.
 */
export async function followTransform({ env, task, context, go, written }: LoadFollowDeps): Promise<StageReport> {
  const { signal, progress } = context;
  const { pipeline, destination, statementsPerBatch, chunkRecords } = task.settings;
  const kind = destinationKindOf(destination);
  if (!kind.staging) throw new StageFailure(`a ${kind.type} destination cannot hold rows aside, so its load cannot follow transform`, "permanent");
  const key = runKey(pipeline, task.runId);
  const now = Date.now();
  const bindings = env as unknown as Record<string, unknown>;
  const staging = kind.staging(destination, { env: bindings, pipeline, runId: task.runId, loadedAt: now });
  const transform = env.TransformStage.getByName(shardInstanceName(key, "transform", 0));
  const yielder = new Yielder();

  let opened = false;
  let shapeChecked = !kind.verifyShape;
  let taken: FedChunk[] = [];
  let received = 0;
  let loaded = 0;
  let repeats = new ChunkWriter(env.STAGING, key, "load", task.attempt, "repeats", chunkRecords);
  let sample: RejectionSample[] = [];
  const counts = () => ({ inputCount: received, outputCount: loaded, rejectedCount: repeats.written });

  const control = (): WriteControl => ({
    statementsPerBatch,
    signal,
    written: async (rows: number) => {
      progress(counts());
      await yielder.after(rows);
    },
  });
  const startOver = async () => {
    taken = [];
    received = 0;
    loaded = 0;
    repeats = new ChunkWriter(env.STAGING, key, "load", task.attempt, "repeats", chunkRecords);
    sample = [];
    if (opened) await written(() => staging.open(), kind.store);
  };
  const write = async (records: unknown[]) => {
    signal.throwIfAborted();
    const rows = records as StagedRow[];
    if (!shapeChecked && rows.length > 0) {
      const problem = await written(() => kind.verifyShape!(destination, { env: bindings, pipeline }), kind.store);
      if (problem) throw new StageFailure(problem, "permanent");
      shapeChecked = true;
    }
    if (!opened) {
      await written(() => staging.open(), kind.store);
      opened = true;
    }
    const result = await written(() => staging.writer.write(rows, control()), kind.store);
    received += rows.length;
    loaded += result.loaded;
    for (const { row, first } of result.duplicates) {
      await repeats.add({ position: positionOf(row), id: idOf(row), first } satisfies Repeat);
      if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ position: positionOf(row), id: idOf(row), stage: "load", reason: duplicateReason(idOf(row), first) });
    }
    progress(counts());
  };

  try {
    // Following: chunks as transform stages them, until its feed says it is done (or can say nothing more).
    let generation = 0;
    let sawBegun = false;
    let clean: StagedData | null = null;
    while (!go.input) {
      const next = transform.feedNext(task.follow!.attempt, generation, taken.length, FEED_POLL_MS) as Promise<FeedNews>;
      const news = await untilAborted(Promise.race([next, go.wait().then(() => null)]), signal);
      if (news === null) break;
      if (news.kind === "chunks" && news.begun) sawBegun = true;
      const lost = sawBegun && news.kind === "chunks" && !news.begun;
      if (news.kind === "failed" || lost) break;
      if (news.generation !== generation) {
        generation = news.generation;
        if (taken.length > 0) await startOver();
      }
      if (news.kind === "done") {
        clean = news.output;
        break;
      }
      if (news.from !== taken.length) await startOver();
      for (const chunk of news.chunks.slice(taken.length - news.from)) {
        await write(await readChunk(env.STAGING, chunk.key));
        taken.push(chunk);
      }
    }

    // The run's turn for load: its input says what transform's output is.
    const input = await untilAborted(go.wait(), signal);
    const output = input.records[0] ?? NOTHING_STAGED;
    if (clean === null && taken.length > 0) {
      // The go came while this follower was behind (load slower than transform): the feed, asked once
      // more, says whether the chunks taken are of the read that ended, so they are kept, not rewritten.
      const last = (await untilAborted(transform.feedNext(task.follow!.attempt, generation, taken.length, 0) as Promise<FeedNews>, signal));
      if (last.kind === "done" && last.generation === generation) clean = last.output;
    }
    const same = clean !== null && taken.every((chunk, index) => output.keys[index] === chunk.key && output.counts[index] === chunk.count);
    if (!same && (taken.length > 0 || received > 0)) await startOver();
    for (let index = taken.length; index < output.keys.length; index += 1) await write(await readStagedChunk(env.STAGING, output, index));
    if (received !== output.count) throw new StageFailure(`the load that followed transform wrote ${received} rows where transform staged ${output.count}`, "transient");

    if (opened) await written(() => staging.publish(control()), kind.store);
    opened = false;
    await saveRefused(env, task, input, await repeats.finish(), now, signal, written);
    return { inputCount: output.count, outputCount: loaded, rejectedCount: repeats.written, output: [], rejected: NOTHING_STAGED, rejectedSample: sample };
  } finally {
    // Rows that were never published go with their staging (a stopped or failed follower).
    if (opened) await staging.discard().catch(() => undefined);
  }
}

/** The records refused on the way (duplicates found here, and what the stages before refused) into `rejected_records`. */
async function saveRefused(env: Env, task: StageTask, input: StageInput, repeats: StagedData, now: number, signal: AbortSignal, written: LoadFollowDeps["written"]): Promise<void> {
  const { pipeline, statementsPerBatch } = task.settings;
  const raw = new RawLookup(env.STAGING, input.raw);
  for await (const chunk of readStaged(env.STAGING, repeats)) {
    signal.throwIfAborted();
    const rejections: Rejection[] = [];
    for (const { position, id, first } of chunk.records as Repeat[]) rejections.push({ position, id, stage: "load", reason: duplicateReason(id, first), raw: await raw.at(position) });
    await written(() => saveRejections(env.DB, pipeline, task.runId, rejections, now, statementsPerBatch), "D1");
  }
  for (const staged of input.rejected) {
    for await (const chunk of readStaged(env.STAGING, staged)) {
      signal.throwIfAborted();
      await written(() => saveRejections(env.DB, pipeline, task.runId, chunk.records as Rejection[], now, statementsPerBatch), "D1");
    }
  }
}
