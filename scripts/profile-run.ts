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
import WebSocket from "ws";
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
    const args = server.child.spawnargs;
    const port = args[args.indexOf("--inspector-port") + 1];
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
    const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => socket.once("open", () => resolve()).once("error", reject));
    let id = 0;
    const waiting = new Map<number, (result: any) => void>();
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) waiting.get(message.id)?.(message.result);
    });
    const send = (method: string, params: unknown = {}) =>
      new Promise<any>((resolve) => {
        const next = ++id;
        waiting.set(next, resolve);
        socket.send(JSON.stringify({ id: next, method, params }));
        // The inspector acts once the isolate wakes: a request wakes it.
        void fetch(`${server.url}/api/health`).catch(() => undefined);
      });
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
    socket.close();
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
