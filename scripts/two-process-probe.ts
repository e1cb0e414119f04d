/**
 * npm run probe:two-processes: can a run's stage agents work in a second local `wrangler dev`, on a
 * thread of their own (issue 21)? Two things must hold: a Durable Object of one session answers RPC
 * from the other (the dev registry), and both sessions read and write the same local R2 and D1 (the
 * staged chunks and the destination), which locally means one `--persist-to` folder.
 *
 * Two sessions of a small Worker are started on one folder; the second defines a Durable Object the
 * first binds by `script_name`. The probe calls it across, then has both sessions write R2 objects and
 * D1 rows at the same time, and finally one after the other, and reports what each saw. Nothing of the
 * pipeline runs here: this is the platform question on its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDev, stopDev, type DevServer } from "./lib/wrangler-dev.ts";

const OBJECTS = Number(process.env.PROBE_OBJECTS ?? 200);

const WORKER = `
import { DurableObject } from "cloudflare:workers";
export class Stage extends DurableObject {
  async ping() { return "pong from " + this.env.SESSION; }
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/api/health") return new Response("ok");
    if (url.pathname === "/rpc") return new Response(await env.STAGE.getByName("probe").ping());
    const prefix = url.searchParams.get("prefix");
    const n = Number(url.searchParams.get("n"));
    try {
      if (url.pathname === "/write") {
        await env.DB.exec("CREATE TABLE IF NOT EXISTS probe (k TEXT PRIMARY KEY, v INTEGER)");
        for (let i = 0; i < n; i += 1) {
          await env.BUCKET.put(prefix + "/" + i, "x".repeat(100_000));
          await env.DB.prepare("INSERT INTO probe VALUES (?, ?) ON CONFLICT DO UPDATE SET v = excluded.v").bind(prefix + "-" + i, i).run();
        }
        return Response.json({ ok: true });
      }
      if (url.pathname === "/read") {
        let objects = 0;
        for (let i = 0; i < n; i += 1) if (await env.BUCKET.head(prefix + "/" + i)) objects += 1;
        const rows = await env.DB.prepare("SELECT count(*) AS c FROM probe WHERE k LIKE ?").bind(prefix + "-%").first("c");
        return Response.json({ ok: true, objects, rows });
      }
    } catch (error) {
      return Response.json({ ok: false, error: String(error) });
    }
    return new Response("not found", { status: 404 });
  },
};
`;

function config(name: string, session: string, ownsStage: boolean): string {
  return JSON.stringify({
    name,
    main: "worker.js",
    compatibility_date: "2026-10-01",
    vars: { SESSION: session },
    durable_objects: { bindings: [ownsStage ? { name: "STAGE", class_name: "Stage" } : { name: "STAGE", class_name: "Stage", script_name: "probe-stages" }] },
    ...(ownsStage ? { migrations: [{ tag: "v1", new_sqlite_classes: ["Stage"] }] } : {}),
    r2_buckets: [{ binding: "BUCKET", bucket_name: "probe-shared" }],
    d1_databases: [{ binding: "DB", database_name: "probe-shared", database_id: "00000000-0000-4000-8000-000000000001" }],
  });
}

async function call(server: DevServer, path: string): Promise<unknown> {
  const response = await fetch(`${server.url}${path}`);
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { status: response.status, text: text.slice(0, 200) };
  }
}

async function main(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), "two-process-probe-"));
  const persistTo = join(folder, "state");
  writeFileSync(join(folder, "worker.js"), WORKER);
  writeFileSync(join(folder, "main.json"), config("probe-main", "main", false));
  writeFileSync(join(folder, "stages.json"), config("probe-stages", "stages", true));
  const registry = { WRANGLER_REGISTRY_PATH: join(folder, "registry") };
  const stages = await startDev({ persistTo, vars: {}, config: join(folder, "stages.json"), env: registry });
  const main = await startDev({ persistTo, vars: {}, config: join(folder, "main.json"), env: registry });
  try {
    console.log(`RPC from the main session to a Durable Object of the other: ${JSON.stringify(await call(main, "/rpc"))}`);
    const [mainWrite, stagesWrite] = await Promise.all([call(main, `/write?prefix=together-main&n=${OBJECTS}`), call(stages, `/write?prefix=together-stages&n=${OBJECTS}`)]);
    console.log(`both sessions writing ${OBJECTS} R2 objects of 100 KB and ${OBJECTS} D1 rows at once: main ${JSON.stringify(mainWrite)}, other ${JSON.stringify(stagesWrite)}`);
    console.log(`  the main session reads the other's: ${JSON.stringify(await call(main, `/read?prefix=together-stages&n=${OBJECTS}`))}; the other reads the main's: ${JSON.stringify(await call(stages, `/read?prefix=together-main&n=${OBJECTS}`))}`);
    const alone = await call(stages, `/write?prefix=alone-stages&n=${OBJECTS}`);
    console.log(`the other session writing alone: ${JSON.stringify(alone)}; the main session reads it: ${JSON.stringify(await call(main, `/read?prefix=alone-stages&n=${OBJECTS}`))}`);
  } finally {
    await stopDev(main);
    await stopDev(stages);
    rmSync(folder, { recursive: true, force: true });
  }
}

await main();
