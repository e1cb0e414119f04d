import { classifyError, MEMORY_ADVICE } from "../../domain/failures";
import { planShards, shardInstanceName } from "../../domain/shards";
import { mergeReports, type StageReport } from "../../domain/stage-report";
import { mergeTallies } from "../../domain/check-results";
import { NOTHING_STAGED } from "../../domain/staged-data";
import type { StageInput } from "../../domain/staged-data";
import { runKey, type StageName } from "../../domain/stages";
import type { StageAgent } from "../stages/stage-agent";
import type { StageOutcome, StageTask } from "../stages/stage-task";

/** How long a cancelled or superseded stage attempt gets to stop writing before its run is closed. */
export const STOP_GRACE_MS = 5_000;
/** Times a stage call is re-dialled when it lands on an instance that is destroying itself. */
const MAX_DIALS = 5;

export type StageCall = Pick<StageTask, "runId" | "trigger" | "scheduledFor" | "asOf" | "params" | "stage" | "attempt" | "settings" | "watermark" | "reread"> & { pass?: StageTask["pass"] };

/**
 * Calling a run's stage agents: each stage's shards side by side, each call bounded by the stage timeout
 * and told to stop when it passes or the run is stopped, re-dialled when it lands on an agent that is
 * destroying itself. Every agent a run used is dismissed when it ends.
 *
 * The next stage's agents are not woken ahead of their turn: on one machine the wake-up shares the thread
 * with the stage at work, and measured it made a four-record run about 15 ms slower, not faster.
 */
export class StageDispatch {
  /** Stage agents a run has called, dismissed when it ends. */
  private readonly called = new Set<string>();
  /** Stage calls not yet answered, by run: a stopped or timed-out attempt may still be writing. */
  private readonly pending = new Map<string, Set<Promise<unknown>>>();

  constructor(private readonly env: Env) {}

  /** Runs every shard of a stage attempt side by side; the attempt succeeds only if all of them do. */
  /**
   * `shardsDone` hears the shards' merged report when a pass of the dataset checks follows, so the run
   * shows the stage's final counts while the pass works.
   */
  async run(call: StageCall, input: StageInput, signal: AbortSignal, shardsDone?: (report: StageReport) => void): Promise<StageOutcome> {
    const plans = planShards(call.stage, input, call.settings.parallelism);
    const key = runKey(call.settings.pipeline, call.runId);
    for (const plan of plans) this.called.add(shardInstanceName(key, call.stage, plan.shard));
    const outcomes = await Promise.all(plans.map((plan) => this.callStage({ ...call, shard: plan.shard, shards: plan.shards, offset: plan.offset, input: plan.input }, signal)));
    return this.settle(call, outcomes, signal, shardsDone);
  }

  /**
   * Starts a stage's attempt beside the stage before it (attempt `previousAttempt`), on each chunk as soon
   * as that stage has staged it (one agent; see TransformStage and load-follow): transform beside extract,
   * load beside transform. Its time is the stages' before it and its own, so it is bounded by that many
   * stage timeouts. `stop` ends it and waits until it has stopped.
   */
  follow(call: StageCall, previousAttempt: number, signal: AbortSignal, shardsDone?: (report: StageReport) => void): FollowingStage {
    this.called.add(shardInstanceName(runKey(call.settings.pipeline, call.runId), call.stage, 0));
    const startedAt = Date.now();
    const own = new AbortController();
    const stopped = AbortSignal.any([signal, own.signal]);
    const task: StageTask = { ...call, shard: 0, shards: 1, offset: 0, input: { records: [NOTHING_STAGED], rejected: [], raw: NOTHING_STAGED }, follow: { attempt: previousAttempt } };
    const stagesSpanned = call.stage === "load" ? 3 : 2;
    const outcome = this.callStage(task, stopped, stagesSpanned * call.settings.stageTimeoutMs).then((first) => this.settle(call, [first], stopped, shardsDone));
    return {
      stage: call.stage,
      attempt: call.attempt,
      startedAt,
      outcome,
      stop: async (reason) => {
        own.abort(new Error(reason));
        await outcome;
      },
    };
  }

  /**
   * The load's turn has come for a load that followed transform: hands it the load's input (its outcome
   * is the follower's). False when its agent no longer has it (it was reset): the follower is stopped, and
   * the caller loads in the turn as usual.
   */
  async proceed(following: FollowingStage, call: StageCall, input: StageInput): Promise<boolean> {
    const stub = this.namespace("load").getByName(shardInstanceName(runKey(call.settings.pipeline, call.runId), "load", 0)) as unknown as { proceed(attempt: number, input: StageInput): Promise<boolean> };
    if (await stub.proceed(following.attempt, input).catch(() => false)) return true;
    await following.stop("the load agent that followed transform lost it");
    return false;
  }

  /** A stage attempt's shards answered: one outcome, after the dataset checks' pass when one is due. */
  private async settle(call: StageCall, outcomes: StageOutcome[], signal: AbortSignal, shardsDone?: (report: StageReport) => void): Promise<StageOutcome> {
    const failures = outcomes.filter((outcome): outcome is Extract<StageOutcome, { ok: false }> => !outcome.ok);
    if (failures.length === 0) {
      const report = mergeReports(outcomes.map((outcome) => (outcome as Extract<StageOutcome, { ok: true }>).report));
      if (!report.checks?.keys.some((keys) => keys.count > 0)) return { ok: true, report };
      shardsDone?.(report);
      return this.checkPass(call, report, signal);
    }
    return failed(outcomes.length, failures);
  }

  /**
   * The dataset checks' partitioned pass, part of the transform attempt: one agent per partition of the
   * check keys (equal values meet in one), side by side; their findings join the transform's tally.
   */
  private async checkPass(call: StageCall, report: StageReport, signal: AbortSignal): Promise<StageOutcome> {
    const partitions = report.checks!.keys.map((keys, shard) => ({ keys, shard })).filter((partition) => partition.keys.count > 0);
    const key = runKey(call.settings.pipeline, call.runId);
    for (const { shard } of partitions) this.called.add(passInstanceName(key, shard));
    const outcomes = await Promise.all(
      partitions.map(({ keys, shard }) => this.callStage({ ...call, pass: "checks", shard, shards: report.checks!.keys.length, offset: 0, input: { records: [keys], rejected: [], raw: NOTHING_STAGED } }, signal)),
    );
    const failures = outcomes.filter((outcome): outcome is Extract<StageOutcome, { ok: false }> => !outcome.ok);
    if (failures.length > 0) return failed(partitions.length, failures, "check partitions");
    const found = outcomes.map((outcome) => (outcome as Extract<StageOutcome, { ok: true }>).report.checks!.tally);
    return { ok: true, report: { ...report, checks: { tally: mergeTallies([report.checks!.tally, ...found]), keys: [] } } };
  }

  /**
   * Waits until every stage call of the run has been answered (a stopped attempt ends its current write
   * first), at most `maxMs`. Says whether they all were.
   */
  async settled(key: string, maxMs: number): Promise<boolean> {
    const calls = [...(this.pending.get(key) ?? [])];
    if (calls.length === 0) return true;
    const all = Promise.allSettled(calls).then(() => true);
    return Promise.race([all, sleep(maxMs).then(() => false)]);
  }

  /** Lets every stage agent of a finished run go. */
  dismiss(key: string): void {
    const prefix = `${key}:`;
    for (const name of this.called) {
      if (!name.startsWith(prefix)) continue;
      this.called.delete(name);
      const stage = name.slice(prefix.length).split(":")[0] as StageName;
      void this.namespace(stage).getByName(name).dismiss().catch(() => undefined);
    }
  }

  /**
   * One attempt of one shard, bounded by the stage timeout. On timeout or when the run is stopped, the
   * attempt is told to stop; a timed-out attempt is a transient failure (it may be retried).
   */
  private async callStage(task: StageTask, signal: AbortSignal, timeoutMs = task.settings.stageTimeoutMs): Promise<StageOutcome> {
    const timeout = Symbol("timeout");
    const stopped = Symbol("stopped");
    const deadline = Date.now() + timeoutMs;
    for (let dial = 1; ; dial += 1) {
      let stub: DurableObjectStub<StageAgent>;
      const name = task.pass === "checks" ? passInstanceName(runKey(task.settings.pipeline, task.runId), task.shard) : shardInstanceName(runKey(task.settings.pipeline, task.runId), task.stage, task.shard);
      try {
        stub = this.namespace(task.stage).getByName(name);
      } catch (error) {
        if (isGone(error) && dial < MAX_DIALS) continue;
        return rpcFailure(task, error);
      }
      const call = stub.runStage(task).then(
        (outcome): StageOutcome | "gone" => outcome,
        (error: unknown): StageOutcome | "gone" => (isGone(error) ? "gone" : rpcFailure(task, error)),
      );
      this.track(runKey(task.settings.pipeline, task.runId), call);
      const first = await raceWithTimeout(call, Math.max(0, deadline - Date.now()), signal, timeout, stopped);
      // The instance was destroying itself after an earlier attempt: a fresh stub reaches a fresh instance.
      if (first === "gone" && dial < MAX_DIALS) continue;
      if (first === "gone") return { ok: false, error: `the ${task.stage} stage agent kept disappearing`, transient: true };
      if (first !== timeout && first !== stopped) return first;

      const reason = first === timeout ? `the ${task.stage} stage did not finish within ${timeoutMs} ms` : String((signal.reason as Error | undefined)?.message ?? "stopped");
      await stub.cancelAttempt(task.attempt, reason).catch(() => false);
      if (first === stopped) {
        // Give the attempt a moment to stop writing, so cleanup after a cancel leaves nothing behind.
        await Promise.race([call, sleep(STOP_GRACE_MS)]);
        return { ok: false, error: reason, transient: false, cancelled: true };
      }
      return { ok: false, error: reason, transient: true };
    }
  }

  private track(key: string, call: Promise<unknown>): void {
    let calls = this.pending.get(key);
    if (!calls) this.pending.set(key, (calls = new Set()));
    calls.add(call);
    void call.finally(() => {
      calls.delete(call);
      if (calls.size === 0 && this.pending.get(key) === calls) this.pending.delete(key);
    });
  }

  private namespace(stage: StageName): DurableObjectNamespace<StageAgent> {
    const namespaces = {
      extract: this.env.ExtractStage,
      transform: this.env.TransformStage,
      load: this.env.LoadStage,
    } satisfies Record<StageName, DurableObjectNamespace<StageAgent>>;
    return namespaces[stage];
  }
}

/** A stage attempt started ahead of its turn (transform following extract), taken up when its turn comes. */
export interface FollowingStage {
  stage: StageName;
  attempt: number;
  startedAt: number;
  outcome: Promise<StageOutcome>;
  stop(reason: string): Promise<void>;
}

/** Several calls of one attempt, some failed, as one failure. */
function failed(calls: number, failures: readonly Extract<StageOutcome, { ok: false }>[], what = "shards"): StageOutcome {
  const errors = [...new Set(failures.map((failure) => failure.error))];
  const source = failures.find((failure) => failure.source)?.source;
  return {
    ok: false,
    error: calls > 1 ? `${failures.length} of ${calls} ${what} failed: ${errors.join("; ")}` : errors[0]!,
    transient: failures.every((failure) => failure.transient),
    overloaded: failures.some((failure) => failure.overloaded),
    cancelled: failures.some((failure) => failure.cancelled),
    ...(source ? { source } : {}),
  };
}

/** The agent of partition `shard` of the checks' pass: a transform agent beside the run's transform shards. */
function passInstanceName(key: string, shard: number): string {
  return `${shardInstanceName(key, "transform", 0)}:checks-${shard}`;
}

/** A stage call that failed in the platform (the agent's isolate reset, ran out of memory, was overloaded). */
function rpcFailure(task: StageTask, error: unknown): StageOutcome {
  const message = error instanceof Error ? error.message : String(error);
  const classified = classifyError(error);
  const advice = classified.memory ? `: ${MEMORY_ADVICE} (now ${task.settings.chunkRecords})` : "";
  return { ok: false, error: `the ${task.stage} stage agent failed: ${message}${advice}`, transient: classified.kind === "transient", overloaded: classified.overloaded };
}

/** A stub that reached an instance in the middle of destroy() fails with "destroyed"; it is not the stage's failure. */
function isGone(error: unknown): boolean {
  return error instanceof Error && /\bdestroyed\b/i.test(error.message);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

async function raceWithTimeout<T, A extends symbol, B extends symbol>(work: Promise<T>, timeoutMs: number, signal: AbortSignal, timeout: A, stopped: B): Promise<T | A | B> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<A>((resolve) => {
        timer = setTimeout(() => resolve(timeout), timeoutMs);
      }),
      new Promise<B>((resolve) => {
        if (signal.aborted) resolve(stopped);
        onAbort = () => resolve(stopped);
        signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}
