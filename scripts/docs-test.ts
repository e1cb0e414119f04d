/**
 * npm run test:docs (in CI): every example in the README and in docs/*.md is run as a person would run
 * it, against a fresh `wrangler dev` per page started as `npm run dev` starts it (no token, built-in sample
 * data): curl commands, `npx wrangler d1 execute` (on the server's local database), `npm run pipeline`,
 * `npx vitest run` (a test the page has the reader write), `psql "$DATABASE_URL"` on a page marked
 * `<!-- example: postgres -->` (a throwaway cluster of its own, which the server's HYPERDRIVE binding reaches).
 * Where a page shows the answer, the real answer must match it: the same fields (an elision is written
 * "…"), the same types, the same text and flags except what differs run to run (ids, times). Ids the
 * page shows are replaced in later commands by the ones this run gave. Before each command the server is
 * let finish what it was doing (no run or backfill active), as it would while a person reads on.
 * A page that has the reader write files (`<!-- example: file <path> -->`, the README's new pipeline) runs
 * its later commands on a copy of the project with those files written, once the type check and
 * `npm run check` pass on it, restarted on the same local state.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { applySnippet, differences, docFiles, docSteps, needsPostgres, withRunIds, type DocFile, type DocStep } from "./lib/doc-examples.ts";
import { planCluster, startCluster, type Cluster } from "./lib/postgres-cluster.ts";
import { runCommand } from "./lib/run-command.ts";
import { migrateLocal, startDev, stopDev, type DevServer } from "./lib/wrangler-dev.ts";

const ROOT = resolve(import.meta.dirname, "..");
const ALL_PAGES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`)];
/** DOCS_PAGES=docs/checks.md,README.md checks just those pages (CI checks them all). */
const PAGES = process.env.DOCS_PAGES ? process.env.DOCS_PAGES.split(",").map((page) => page.trim()).filter((page) => ALL_PAGES.includes(page)) : ALL_PAGES;
const failures: string[] = [];

const shell = (command: string, env: Record<string, string>, cwd = ROOT) => runCommand("bash", ["-c", command], { cwd, env });

/** The command as it runs here: this server's address, its local database, a status line from curl. */
function localCommand(step: DocStep, server: DevServer, persistTo: string, ids: Map<string, string>): string {
  let command = withRunIds(step.command, ids).replaceAll("http://localhost:8787", server.url);
  if (command.startsWith("npx wrangler d1 execute ")) command = `${command} --persist-to ${persistTo}`;
  if (command.startsWith("curl ") && step.expect) command = `${command.replace(/^curl (-i )?/, "curl -sS ")} -w '\\n%{http_code}'`;
  return command;
}

/**
 * A copy of the project with the page's files written (the README's new pipeline), for the commands that
 * come after the page has the reader write them.
 */
function projectWith(page: string, files: DocFile[]): string {
  const root = mkdtempSync(join(tmpdir(), "pipeline-docs-project-"));
  // test/ and the Vitest config too: a page may have the reader write a test and run it (the README's kit test).
  for (const entry of ["src", "migrations", "public", "scripts", "bench", "test", "package.json", "tsconfig.json", "vitest.config.ts", "wrangler.jsonc", "worker-configuration.d.ts"]) {
    cpSync(join(ROOT, entry), join(root, entry), { recursive: true, filter: (source) => !source.startsWith(join(ROOT, "bench", "tmp")) });
  }
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  for (const file of files) {
    const target = join(root, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, existsSync(target) ? applySnippet(readFileSync(target, "utf8"), file.body) : file.body);
    console.log(`  file ${page}: ${file.path}`);
  }
  return root;
}

/** Waits until no pipeline has a run or a backfill going, as a reader would have by the next command. */
async function idle(server: DevServer): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { pipelines } = (await (await fetch(`${server.url}/api/pipelines`)).json()) as { pipelines: { name: string; state: string }[] };
    const busy = await Promise.all(
      pipelines
        .filter((pipeline) => pipeline.state !== "invalid")
        .map(async (pipeline) => {
          const base = `${server.url}/api/pipelines/${pipeline.name}`;
          const history = (await (await fetch(`${base}/history?limit=1`)).json()) as { summary?: { running: number } };
          const backfills = (await (await fetch(`${base}/backfills?limit=1`)).json()) as { backfills?: { status: string }[] };
          return (history.summary?.running ?? 0) > 0 || backfills.backfills?.[0]?.status === "running";
        }),
    );
    if (!busy.includes(true)) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  throw new Error("a run or a backfill was still active after 60 s");
}

async function checkPage(page: string): Promise<number> {
  const markdown = readFileSync(join(ROOT, page), "utf8");
  const steps = docSteps(markdown);
  if (steps.length === 0) return 0;
  const files = docFiles(markdown);
  // Commands before the page has the reader write files run on this checkout; the rest on a copy with
  // them, restarted on the same local state as a reader restarts `npm run dev`.
  const firstFile = files[0]?.line ?? Number.POSITIVE_INFINITY;
  const phases = [
    { root: ROOT, steps: steps.filter((step) => step.line < firstFile) },
    ...(files.length === 0 ? [] : [{ root: projectWith(page, files), steps: steps.filter((step) => step.line > firstFile) }]),
  ];
  const persistTo = mkdtempSync(join(tmpdir(), "pipeline-docs-"));
  const ids = new Map<string, string>();
  const postgres: Cluster | null = needsPostgres(markdown) ? await startCluster(await planCluster({ password: "docs-password" })) : null;
  const env: Record<string, string> = postgres ? { DATABASE_URL: postgres.url } : {};
  try {
    for (const phase of phases) {
      if (phase.root !== ROOT) {
        // As the page tells the reader: the compiler and the deployment check accept the files.
        const typecheck = await shell("npx tsc --noEmit -p tsconfig.json", {}, phase.root);
        const check = await shell(`${process.execPath} scripts/check-deployment.ts`, {}, phase.root);
        if (typecheck.code !== 0 || check.code !== 0) {
          failures.push(`${page}: the files the page has the reader write fail ${typecheck.code !== 0 ? "npm run typecheck" : "npm run check"}:\n${typecheck.stdout}${check.stdout}${check.stderr}`);
          continue;
        }
      }
      const config = join(phase.root, "wrangler.jsonc");
      migrateLocal(persistTo, config);
      const server = await startDev({ persistTo, config, vars: { ALLOW_UNAUTHENTICATED: "true", LOCAL_R2_NOTIFICATIONS: "true" }, env: postgres ? { CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: postgres.url } : {} });
      try {
        for (const step of phase.steps) await runStep(page, step, server, persistTo, ids, phase.root, env);
      } finally {
        await stopDev(server);
      }
    }
  } finally {
    await postgres?.stop();
    rmSync(persistTo, { recursive: true, force: true });
    for (const phase of phases) if (phase.root !== ROOT) rmSync(phase.root, { recursive: true, force: true });
  }
  return steps.length;
}

async function runStep(page: string, step: DocStep, server: DevServer, persistTo: string, ids: Map<string, string>, root: string, env: Record<string, string>): Promise<void> {
  const where = `${page}:${step.line}`;
  let command: string;
  try {
    command = localCommand(step, server, persistTo, ids);
  } catch (error) {
    failures.push(`${where}: ${(error as Error).message}`);
    return;
  }
  await idle(server);
  const ran = await shell(command, { PIPELINE_API_URL: server.url, CI: "true", ...env }, root);
  if (ran.code !== 0) {
    failures.push(`${where}: \`${step.command}\` exited ${ran.code}:\n${ran.stderr.slice(-800)}`);
    return;
  }
  if (!step.expect) {
    console.log(`  ran  ${where}  ${step.command.slice(0, 90)}`);
    return;
  }
  const cut = ran.stdout.lastIndexOf("\n");
  const status = Number(ran.stdout.slice(cut + 1));
  const body = ran.stdout.slice(0, cut);
  const problems: string[] = [];
  if (step.expect.status !== undefined ? status !== step.expect.status : status >= 400) problems.push(`answered ${status}${step.expect.status !== undefined ? `, the page shows ${step.expect.status}` : ""}`);
  if (step.expect.json !== undefined) {
    let actual: unknown;
    try {
      actual = JSON.parse(body);
    } catch {
      problems.push(`answered with no JSON: ${body.slice(0, 200)}`);
    }
    const compared = step.expect.fragment && actual !== null && typeof actual === "object" && "run" in actual ? (actual as { run: unknown }).run : actual;
    if (actual !== undefined) problems.push(...differences(step.expect.json, compared, ids));
  }
  if (problems.length > 0) failures.push(`${where}: \`${step.command}\`\n    ${problems.join("\n    ")}`);
  else console.log(`  ok   ${where}  ${step.command.slice(0, 90)}`);
}

let total = 0;
for (const page of PAGES) total += await checkPage(page);
if (failures.length > 0) {
  console.error(`\n${failures.length} example(s) do not match what the API does:\n\n${failures.join("\n\n")}`);
  process.exit(1);
}
console.log(`docs test passed: ${total} commands from ${PAGES.length} pages, every answer shown matches`);
