import type { EventName } from "../../observability/events";
import type { Run } from "../../domain/run";
import { runKey } from "../../domain/stages";
import { DEFAULT_TUNING } from "../../engine/tuning";
import type { PipelineSettings } from "../../engine/settings";
import { deleteRunStaging } from "../../staging/staging-store";
import type { RunStore } from "./run-store";

/** Finished runs whose staged objects are removed per sweep (the rest wait for the next one). */
const SWEEP_BATCH = 20;

export interface RetentionHost {
  env: Env;
  store: RunStore;
  pipeline(): string;
  log(event: EventName, runId: string, fields?: Record<string, unknown>): void;
}

/**
 * What happens to a run's staged objects in R2 once it ends. A succeeded run's are removed at once; a
 * failed or cancelled run's are kept for `keepFailedStagingMs` (7 days by default), so a retry can start
 * from the stage that failed. Sweeps (on wake, hourly, after each run) remove what is due, and what a
 * crash or an R2 error left behind.
 */
export class StagingRetention {
  constructor(private readonly host: RetentionHost) {}

  /** Records how long an ended run's staged data stays; true when it is to be removed now (see `remove`). */
  runEnded(run: Run, settings: PipelineSettings): boolean {
    const keepMs = settings.keepFailedStagingMs ?? DEFAULT_TUNING.history.keepFailedStagingMs;
    if (run.status === "failed" || run.status === "cancelled") {
      this.host.store.keepStaging(run.runId, (run.endTime ?? Date.now()) + keepMs);
      if (keepMs > 0) return false;
    }
    return true;
  }

  /**
   * Deletes a finished run's staged objects and marks it done. A run that finished without this (the
   * process died in between, or R2 failed) is swept again later.
   */
  async remove(runId: string): Promise<void> {
    // Marked first, in the same turn as the caller's checks: from here on no retry plans to reuse it.
    this.host.store.markRemoving(runId, true);
    try {
      await deleteRunStaging(this.host.env.STAGING, runKey(this.host.pipeline(), runId));
      this.host.store.markCleaned(runId);
    } catch (error) {
      this.host.store.markRemoving(runId, false);
      // Leftover staging costs storage, not correctness; the run's outcome stands.
      this.host.log("staging_cleanup_failed", runId, { error: String(error) });
    }
  }

  /** Removes what is due, except what an active run is reading (a retry reusing an earlier run's output). */
  async sweep(now: number): Promise<void> {
    const { store } = this.host;
    for (const runId of store.uncleaned(SWEEP_BATCH, now)) {
      // Checked again for each run: a retry may have started while the previous one was being removed.
      if (!store.stagingInUse().has(runId)) await this.remove(runId);
    }
  }

  /** Why a run's staged data cannot be reused any more, for a retry's note. */
  gone(runId: string): string {
    const state = this.host.store.stagingKept(runId);
    if (state.kept) return `the staged data of run ${runId} is still kept`;
    if (state.pruned) return `run ${runId} was pruned from history, and its staged data with it`;
    return state.until === null
      ? `the staged data of run ${runId} was removed when it ended (it ended before staged data was kept for retries)`
      : `the staged data of run ${runId} was removed on ${new Date(state.until).toISOString()} (kept for history.keepFailedStagingMs after the run)`;
  }
}
