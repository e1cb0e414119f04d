import type { RunView } from "../../domain/run-view";

/** Callers waiting for a run to end (`POST …/trigger?wait=true`): answered when it does, or at their timeout. */
export class RunWaiters {
  private readonly waiting = new Map<string, Set<(run: RunView) => void>>();

  /** Resolves with the run when it ends, or with `current()` after `timeoutMs`. */
  wait(runId: string, timeoutMs: number, current: () => RunView): Promise<RunView> {
    return new Promise<RunView>((resolve) => {
      const waiters = this.waiting.get(runId) ?? new Set();
      this.waiting.set(runId, waiters);
      const done = (run: RunView) => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0) this.waiting.delete(runId);
        resolve(run);
      };
      const timer = setTimeout(() => done(current()), timeoutMs);
      waiters.add(done);
    });
  }

  ended(run: RunView): void {
    for (const notify of [...(this.waiting.get(run.pipelineId) ?? [])]) notify(run);
    this.waiting.delete(run.pipelineId);
  }
}
