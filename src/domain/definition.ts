import type { Run, StageRun } from "./run";
import { STAGE_NAMES, type StageName } from "./stages";

/**
 * The definition a run works under: the fingerprints of what its stages' output depends on
 * (src/engine/fingerprint.ts) and the Worker version that started it, with every change a resume met.
 */
export interface StageFingerprints {
  extract: string;
  transform: string;
}

/** The deployed Worker's version (CF_VERSION_METADATA), where the platform says. */
export interface WorkerVersion {
  id: string;
  tag: string | null;
}

export interface DefinitionChange {
  at: number;
  from: string;
  to: string;
  workerVersion: WorkerVersion | null;
  /** The first stage that ran again, or null when nothing done so far depended on the change. */
  restartedFrom: StageName | null;
  note: string;
}

export interface RunDefinition {
  /** The definition's fingerprint: the transform stage's, which covers everything that shapes the rows. */
  fingerprint: string;
  stages: StageFingerprints;
  workerVersion: WorkerVersion | null;
  changes: DefinitionChange[];
}

export function runDefinition(stages: StageFingerprints, workerVersion: WorkerVersion | null): RunDefinition {
  return { fingerprint: stages.transform, stages, workerVersion, changes: [] };
}

const ORDER: readonly (keyof StageFingerprints)[] = ["extract", "transform"];

/** The first stage whose fingerprint differs, or null: where a retry or a resume must start again at the latest. */
export function changedStage(recorded: StageFingerprints | undefined, current: StageFingerprints): keyof StageFingerprints | null {
  if (!recorded) return null;
  return ORDER.find((stage) => recorded[stage] !== current[stage]) ?? null;
}

/**
 * A run picked up again (after a restart, often a deploy) meets the definition as deployed now. When a
 * stage's fingerprint differs from the one the run started under and that stage (or a later one) had
 * done work, the run starts over from that stage: its output, and everything after it, is dropped, so
 * no stage ever reads what another definition produced. Otherwise the run goes on under the new
 * definition. Either way the change is recorded with what was done.
 */
export function adoptDefinition(run: Run, current: { stages: StageFingerprints; workerVersion: WorkerVersion | null }, now: number): Run {
  const recorded = run.definition;
  if (!recorded) return { ...run, definition: runDefinition(current.stages, current.workerVersion) };
  const changed = changedStage(recorded.stages, current.stages);
  if (changed === null) return run;
  const from = STAGE_NAMES.indexOf(changed);
  const worked = run.stages.slice(from).some((stage) => stage.status !== "pending");
  const what = changed === "extract" ? "the sources" : "the transform, its record schema, config or destination";
  const later = STAGE_NAMES.slice(from);
  const note = worked
    ? `the definition changed while the run was under way (${what}; ${recorded.fingerprint} → ${current.stages.transform}): ${later.join(" and ")} start${later.length === 1 ? "s" : ""} over${from > 0 ? `; ${STAGE_NAMES.slice(0, from).join(" and ")}'s output is still valid` : ""}`
    : `the definition changed before ${changed} started (${what}; ${recorded.fingerprint} → ${current.stages.transform}): the run goes on under the new one`;
  const change: DefinitionChange = { at: now, from: recorded.fingerprint, to: current.stages.transform, workerVersion: current.workerVersion, restartedFrom: worked ? changed : null, note };
  const definition: RunDefinition = { ...runDefinition(current.stages, current.workerVersion), changes: [...recorded.changes, change] };
  return worked ? { ...restartFrom(run, changed), definition } : { ...run, definition };
}

/** The run as if it had just finished the stages before `stage`: what came after is dropped. */
function restartFrom(run: Run, stage: StageName): Run {
  const from = STAGE_NAMES.indexOf(stage);
  const kept = new Set<StageName>(STAGE_NAMES.slice(0, from));
  // Attempts keep counting: a stage started over is a new attempt, never a second attempt of the same number.
  const stages = run.stages.map((current, index): StageRun => (index < from ? current : { ...blank(current.name), attempts: current.attempts }));
  const checkpoints = Object.fromEntries(Object.entries(run.checkpoints).filter(([name]) => kept.has(name as StageName)));
  // What transform met of unknown fields goes with its output.
  const { contract, ...rest } = run;
  return {
    ...(from <= STAGE_NAMES.indexOf("transform") ? rest : run),
    currentStage: null,
    stages,
    checkpoints,
    rejected: run.rejected.filter((entry) => kept.has(entry.stage)),
    rejectedCount: stages.slice(0, from).reduce((sum, current) => sum + (current.rejectedCount ?? 0), 0),
    skippedCount: from <= STAGE_NAMES.indexOf("transform") ? 0 : run.skippedCount,
    source: from === 0 ? null : run.source,
    newestWatermark: from <= STAGE_NAMES.indexOf("transform") ? null : run.newestWatermark,
  };
}

function blank(name: StageName): StageRun {
  return { name, status: "pending", startTime: null, endTime: null, durationMs: null, inputCount: null, outputCount: null, rejectedCount: null, attempts: 0, attemptErrors: [] };
}
