import { acceptanceProblem, planRetry, retryRun, startingAt } from "../../domain/retry";
import { retryRunId } from "../../domain/run-ids";
import type { Run, RunParams } from "../../domain/run";
import type { RunDefinition } from "../../domain/definition";
import type { PipelineSettings } from "../../engine/settings";
import type { RetryOptions, RetryResult } from "./requests";
import { retryChange } from "./run-definitions";

/** What deciding a retry's plan reads from the coordinator: whether staged data is still kept, and why not; later successes. */
export interface RetryConditionsSource {
  stagingKept(runId: string): boolean;
  stagingGone(runId: string): string;
  /** A run that started after `startTime` and succeeded, if any. */
  succeededSince(startTime: number): string | null;
}

/**
 * A retry as asked for: the plan (the original's reusable stages, no further than `fromStage`), refused
 * when `acceptChecks` does not fit the original, else the new run with its params, definition and the
 * acceptance recorded.
 */
export function retryAsAsked(
  original: { run: Run; settings: PipelineSettings },
  now: { settings: PipelineSettings; params: RunParams; definition: RunDefinition; at: number },
  options: RetryOptions,
  staging: RetryConditionsSource,
): { refused: Extract<RetryResult, { outcome: "refused" }> } | { retry: Run } {
  const plan = startingAt(
    planRetry(original.run, {
      stagingKept: (owner) => staging.stagingKept(owner),
      stagingGone: (owner) => staging.stagingGone(owner),
      destinationChanged: JSON.stringify(original.settings.destination) !== JSON.stringify(now.settings.destination),
      definitionChanged: retryChange(original.run, now.definition),
    }),
    // A batch its checks blocked, retried without accepting them, is transformed again: judged on the same
    // tally it would only be blocked again (a plain retry after a blocked run follows a fix of the source,
    // the transform or a table).
    options.fromStage ?? (original.run.errorCode === "checks_failed" && !options.acceptChecks?.length ? "transform" : undefined),
  );
  const accept = options.acceptChecks ?? [];
  const refused = acceptanceProblem(original.run, accept, plan, accept.length > 0 ? staging.succeededSince(original.run.startTime) : null);
  if (refused) return { refused: { outcome: "refused", status: refused.code === "checks_not_failed" ? 400 : 409, code: refused.code, reason: refused.reason } };
  return {
    retry: {
      ...retryRun(original.run, { runId: retryRunId(now.at), now: now.at, destination: now.settings.destination.uri, plan }),
      params: now.params,
      definition: now.definition,
      // What a retry of a retry accepted before stays accepted: the same batch, the same failures.
      ...(accept.length > 0 ? { acceptChecks: { names: [...new Set([...(original.run.acceptChecks?.names ?? []), ...accept])], by: options.by ?? null, at: now.at, retryOf: original.run.runId } } : {}),
    },
  };
}
