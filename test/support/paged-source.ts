/**
 * A paged NDJSON source whose second page waits for the test, and the run helpers the overlap tests share:
 * what a stage following the one before it did is seen while that stage is still held at work.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { expect } from "vitest";
import type { PipelineSettings } from "../../src/engine/settings";
import type { RunView } from "../../src/domain/run-view";
import { runKey } from "../../src/domain/stages";
import { runPrefix } from "../../src/staging/staging-store";
import { httpSource, settingsFor } from "./settings";

export const SOURCE = "https://overlap.example.test/records.ndjson";

const line = (id: string) => `${JSON.stringify({ id, value: "5", timestamp: "2024-05-01T00:00:00Z", metadata: { type: "t" } })}\n`;
export const lines = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => line(`${prefix}-${index}`));

/** A gate the test opens: the source holds the rest of its body until then. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * A source of two NDJSON pages (link-header pagination): the first at once, the second only once `opened`
 * (an error status when `second` is a number). `firstPage` is asked for each read of the source, from 1.
 */
export function pagedSource(firstPage: (read: number) => { lines: string[]; more: boolean }, opened: Promise<void>, second: string[] | number) {
  let reads = 0;
  const handler = http.get(SOURCE, async ({ request }) => {
    if (new URL(request.url).searchParams.get("page") !== "2") {
      const page = firstPage(++reads);
      return new HttpResponse(page.lines.join(""), { headers: page.more ? { link: `<${SOURCE}?page=2>; rel="next"` } : {} });
    }
    await Promise.race([opened, new Promise((resolve) => request.signal.addEventListener("abort", resolve, { once: true }))]);
    return typeof second === "number" ? new HttpResponse("unavailable", { status: second }) : new HttpResponse(second.join(""));
  });
  return { handler, reads: () => reads };
}

export async function start(name: string, changes: Partial<PipelineSettings>) {
  const coordinator = await getAgentByName(env.PipelineCoordinator, name);
  const runId = `manual-${Date.now()}`;
  const settings = settingsFor(name, { sources: [httpSource(SOURCE, { format: "ndjson", timeoutMs: 30_000, pagination: { type: "link-header" } })], chunkRecords: 10, ...changes });
  expect((await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings })).outcome).toBe("started");
  return { coordinator, runId, read: () => coordinator.getRun(runId) as Promise<RunView | null> };
}

/** Chunks the transform of `runId` has staged so far (attempt 1). */
export async function transformChunks(name: string, runId: string): Promise<number> {
  const listed = await env.STAGING.list({ prefix: `${runPrefix(runKey(name, runId))}transform/attempt-1/part-` });
  return listed.objects.length;
}

export async function idsOfRun(runId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM metrics WHERE run_id = ? ORDER BY id").bind(runId).all<{ id: string }>();
  return results.map((row) => row.id);
}

export const stageOf = (run: RunView, name: string) => run.stages.find((stage) => stage.name === name)!;

