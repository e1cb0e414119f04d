/**
 * The header's badge: what is wrong across the deployment, at a glance. A definition set aside, a pipeline
 * whose variables do not resolve, a last run that failed, a newest slot that was missed, failed or
 * succeeded after its deadline: each is named with its pipeline. "ok" only when none of these hold.
 */
import type { PipelineSummary, SlotEntry } from "./api-types";
import { slotClass } from "./day-strip";

export type HealthLevel = "ok" | "warn" | "bad";

export interface DeploymentHealth {
  level: HealthLevel;
  /** One line per problem, "orders: misconfigured". */
  problems: { pipeline: string; problem: string; level: Exclude<HealthLevel, "ok"> }[];
}

/** The newest slot that has been judged (not one still to come). */
function newestJudged(slots: readonly SlotEntry[]): SlotEntry | undefined {
  return slots.findLast((slot) => slot.state !== "pending");
}

export function deploymentHealth(pipelines: readonly PipelineSummary[], ledgers: ReadonlyMap<string, readonly SlotEntry[]>): DeploymentHealth {
  const problems: DeploymentHealth["problems"] = [];
  for (const pipeline of pipelines) {
    if (pipeline.state === "invalid") problems.push({ pipeline: pipeline.name, problem: "invalid definition", level: "bad" });
    if (pipeline.state === "misconfigured") problems.push({ pipeline: pipeline.name, problem: "misconfigured", level: "bad" });
    const lastRunFailed = pipeline.lastRun?.status === "failed";
    if (lastRunFailed) problems.push({ pipeline: pipeline.name, problem: "last run failed", level: "bad" });
    const slot = newestJudged(ledgers.get(pipeline.name) ?? []);
    if (slot === undefined) continue;
    const reads = slotClass(slot);
    if (reads === "missed") problems.push({ pipeline: pipeline.name, problem: "last slot missed", level: "bad" });
    else if (reads === "failed" && !lastRunFailed) problems.push({ pipeline: pipeline.name, problem: "last slot failed", level: "bad" });
    else if (reads === "late") problems.push({ pipeline: pipeline.name, problem: "last slot late", level: "warn" });
  }
  const level: HealthLevel = problems.some((entry) => entry.level === "bad") ? "bad" : problems.length > 0 ? "warn" : "ok";
  return { level, problems };
}

/** The badge's words: "ok", or the problems. */
export function healthText(health: DeploymentHealth): string {
  return health.problems.length === 0 ? "ok" : health.problems.map((entry) => `${entry.pipeline}: ${entry.problem}`).join(" · ");
}
