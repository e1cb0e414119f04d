/** Links into the API, for its responses and for alerts alike (outside routes/, so agents use them too). */
import { DEFAULT_PIPELINE } from "./engine/deployment";

/**
 * Where a pipeline's API lives: the seed's default pipeline keeps its original `/api/pipeline`, and every
 * pipeline (the default too) is also under `/api/pipelines/<name>`.
 */
export function pipelineBase(pipeline: string): string {
  return pipeline === DEFAULT_PIPELINE ? "/api/pipeline" : `/api/pipelines/${encodeURIComponent(pipeline)}`;
}

export function runPath(pipeline: string, runId: string, base = pipelineBase(pipeline)): string {
  return `${base}/runs/${encodeURIComponent(runId)}`;
}

export function backfillPath(base: string, backfillId: string): string {
  return `${base}/backfills/${encodeURIComponent(backfillId)}`;
}

export function eventPath(base: string, eventId: string): string {
  return `${base}/events/${encodeURIComponent(eventId)}`;
}

/** A path as links in alerts show it: absolute when PUBLIC_BASE_URL is set. */
export function publicUrl(publicBase: string | undefined, path: string): string {
  return `${(publicBase ?? "").replace(/\/+$/, "")}${path}`;
}
