/**
 * npm run profile: a CPU profile of one run of the default pipeline (PROFILE_PIPELINE=orders: orders, CSV)
 * on the benchmark's local source, taken through workerd's inspector, summed by function (self time), for
 * finding where a stage spends its time. PROFILE_RECORDS (300000), PROFILE_FORMAT (ndjson), PROFILE_CONFIG
 * (merged into the pipeline's config variable, e.g. '{"overlap":false}'). Writes the raw profile to
 * PROFILE_OUT (a .cpuprofile Chrome DevTools opens) when set.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openInspector } from "./lib/inspector.ts";
import { startSyntheticSource } from "./lib/synthetic-source.ts";
import { migrateLocal, sleep, startDev, stopDev } from "./lib/wrangler-dev.ts";

const RECORDS = Number(process.env.PROFILE_RECORDS ?? 300_000);
const ORDERS = process.env.PROFILE_PIPELINE === "orders";
const FORMAT = ORDERS ? "csv" : (process.env.PROFILE_FORMAT ?? "ndjson");
const EXTRA = JSON.parse(process.env.PROFILE_CONFIG ?? "{}") as Record<string, unknown>;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

async function main(): Promise<void> {
  const source = await startSyntheticSource();
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-profile-"));
  migrateLocal(persistTo);
  const url = `${source.base}/records?n=${RECORDS}&format=${FORMAT}${ORDERS ? "&shape=orders" : ""}`;
  const config = { sources: [{ type: "http", url, format: FORMAT, timeoutMs: 300_000 }], ...(!ORDERS && FORMAT === "csv" ? { fields: { type: "type" } } : {}), timeouts: { stageMs: 3_600_000 }, ...EXTRA };
  const server = await startDev({ persistTo, vars: { ALLOW_UNAUTHENTICATED: "true", [ORDERS ? "ORDERS_CONFIG" : "PIPELINE_CONFIG"]: JSON.stringify(config) } });
  const base = ORDERS ? "/api/pipelines/orders" : "/api/pipeline";
  try {
    const inspector = await openInspector(server);
    const send = inspector.send;
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: 200 });
    await send("Profiler.start");
    const trigger = (await (await fetch(`${server.url}${base}/trigger`, { method: "POST" })).json()) as { pipelineId: string };
    let run: any;
    do {
      await sleep(250);
      run = await (await fetch(`${server.url}${base}/runs/${trigger.pipelineId}`)).json();
    } while (run.status === "running");
    const { profile } = (await send("Profiler.stop")) as { profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] } };
    inspector.close();
    if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
    const total = profile.samples.length;
    const bySelf = new Map<string, number>();
    for (const node of profile.nodes) {
      const { functionName, url, lineNumber } = node.callFrame;
      const key = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
      bySelf.set(key, (bySelf.get(key) ?? 0) + (node.hitCount ?? 0));
    }
    console.log(`run ${run.status} in ${run.totalDuration} ms: ${run.stages.map((stage: any) => `${stage.name} ${stage.durationMs} ms${stage.aheadMs ? ` (+${stage.aheadMs} ahead)` : ""}`).join(", ")}`);
    for (const [key, hits] of [...bySelf.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${((hits / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
  } finally {
    await stopDev(server);
    await source.close();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
