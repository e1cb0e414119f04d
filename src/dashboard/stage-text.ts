/** What a stage's box says under its name: its counts, and how it ran or where its output came from. */
import { count, duration } from "../display/format";
import type { StageRun } from "./api-types";

export function stageCounts(stage: StageRun): string {
  return `in ${count(stage.inputCount)} · out ${count(stage.outputCount)} · rejected ${count(stage.rejectedCount)}`;
}

/**
 * `1.2 s · 2 attempts`, and `started 2.9 s ahead` for one that worked beside the stage before it; a stage a
 * retry reused did not run: `reused from manual-1`.
 */
export function stageTiming(stage: StageRun): string {
  if (stage.reusedFrom) return `reused from ${stage.reusedFrom}`;
  if (stage.attempts === 0) return stage.status === "pending" ? "not started" : "not run";
  const ahead = stage.aheadMs === undefined ? "" : ` · started ${duration(stage.aheadMs)} ahead`;
  return `${duration(stage.durationMs)} · ${stage.attempts} attempt${stage.attempts === 1 ? "" : "s"}${ahead}`;
}
