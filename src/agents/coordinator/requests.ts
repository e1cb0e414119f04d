import type { Lineage, RunParams, Trigger } from "../../domain/run";
import type { RunView } from "../../domain/run-view";
import type { PipelineSettings } from "../../engine/settings";

/** What the coordinator's RPC methods take and answer: failures are values, since errors lose all but their message over RPC. */

export interface StartRunRequest {
  runId: string;
  trigger: Trigger;
  scheduledFor: number | null;
  note?: string | null;
  /** Checked by the caller; a run without them gets the pipeline's defaults. */
  params?: RunParams;
  backfillId?: string | null;
  /** Read again what earlier runs read already (a backfill with reprocess "all"). */
  reread?: boolean;
  /** What fed the run and what started it: upstream runs, objects, events, the cascade it belongs to. */
  lineage?: Lineage;
  settings: PipelineSettings;
  /** Answer only when the started run has finished (or after this many ms): one call instead of two. */
  waitMs?: number;
  /** A scheduled run that must not be recorded as skipped when another run is active (a backlog start). */
  ifIdle?: boolean;
}

export type StartRunResult =
  /** A new run was started. */
  | { outcome: "started"; run: RunView }
  /** A run with this id already exists (a second delivery of the same slot, or a same-millisecond trigger). */
  | { outcome: "exists"; run: RunView }
  /** Another run is active; a manual trigger is refused. */
  | { outcome: "conflict"; active: RunView }
  /** Another run is active; a scheduled slot is recorded as skipped. */
  | { outcome: "skipped"; run: RunView }
  /** A backfill is under way; a scheduled slot waits for its current run and goes before its next one. */
  | { outcome: "queued"; runId: string }
  /** The scheduled slot already has a running or succeeded run under another id (a backfill's). */
  | { outcome: "covered"; runId: string };

export type RetryResult =
  | { outcome: "started"; run: RunView }
  | { outcome: "not_found" }
  | { outcome: "not_retryable"; run: RunView; reason: string }
  | { outcome: "conflict"; active: RunView }
  | { outcome: "misconfigured"; errors: string[] }
  /** The retry's options do not fit the run (acceptChecks naming a check that did not fail, …). */
  | { outcome: "refused"; status: 400 | 409; code: string; reason: string };

/** How a retry was asked for: from which stage at the latest, which failed checks to accept, by whom. */
export interface RetryOptions {
  waitMs?: number;
  fromStage?: "extract" | "transform" | "load";
  acceptChecks?: string[];
  /** The label of the token that asked, if it has one. */
  by?: string | null;
}

export type CancelResult = { outcome: "cancelled"; run: RunView } | { outcome: "not_active"; run: RunView } | { outcome: "not_found" };

export interface RejectedRecord {
  position: number;
  id: string | null;
  stage: string;
  reason: string;
  /** The record as received, as JSON text (cut at 16 KB). */
  raw: string;
}

export type RejectedPage = { found: false } | { found: true; records: RejectedRecord[]; nextPosition: number | null };
