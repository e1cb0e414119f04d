/**
 * When a running run counts as stalled, and what to do then: resume it once more, or give up on it.
 * Pure: the coordinator passes the time in.
 */
export interface StallPolicy {
  stallTimeoutMs: number;
  maxResumes: number;
}

export type StallVerdict = { kind: "healthy" } | { kind: "resume" } | { kind: "give-up"; reason: string };

export function judgeStall(run: { status: string; lastProgressAt: number; resumes: number }, now: number, policy: StallPolicy): StallVerdict {
  if (run.status !== "running" || now - run.lastProgressAt < policy.stallTimeoutMs) return { kind: "healthy" };
  if (run.resumes >= policy.maxResumes) {
    return {
      kind: "give-up",
      reason: `no progress for ${formatDuration(now - run.lastProgressAt)} after ${run.resumes} resume${run.resumes === 1 ? "" : "s"} (limit ${policy.maxResumes})`,
    };
  }
  return { kind: "resume" };
}

export function formatDuration(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}
