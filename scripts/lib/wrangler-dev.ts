import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";

/**
 * Starts and stops `wrangler dev` for scripts. Each server runs in its own process group, so it (with
 * workerd and the proxy under it) can be killed as a whole, by the PID we started, and nothing else.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = resolve(ROOT, "node_modules/wrangler/bin/wrangler.js");

export interface DevServer {
  url: string;
  pid: number;
  child: ChildProcess;
  log: string[];
}

export interface DevOptions {
  persistTo: string;
  vars: Record<string, string>;
  port?: number;
  /** Another wrangler config (the benchmark's). */
  config?: string;
  /** Environment variables for wrangler itself (CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>). */
  env?: Record<string, string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Applies the D1 migrations to the local database under `persistTo`. */
export function migrateLocal(persistTo: string, config?: string): void {
  const result = spawnSync(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo, ...(config ? ["--config", config] : [])], {
    cwd: ROOT,
    env: { ...process.env, CI: "true" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`migrations failed:\n${result.stdout}\n${result.stderr}`);
}

/** Runs one SQL statement against the local D1 database (the server should be stopped). */
export function queryLocal<T = Record<string, unknown>>(persistTo: string, sql: string): T[] {
  return queryLocalMany(persistTo, [sql])[0] as T[];
}

/** Runs several SQL statements in one `wrangler d1 execute` (one start of wrangler): each one's rows. */
export function queryLocalMany(persistTo: string, statements: readonly string[]): Record<string, unknown>[][] {
  const sql = statements.map((statement) => statement.trim().replace(/;$/, "")).join(";\n");
  const result = spawnSync(
    process.execPath,
    [WRANGLER, "d1", "execute", "DB", "--local", "--persist-to", persistTo, "--json", "--command", sql],
    { cwd: ROOT, env: { ...process.env, CI: "true" }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`query failed: ${sql}\n${result.stdout}\n${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as { results: Record<string, unknown>[] }[];
  if (parsed.length !== statements.length) throw new Error(`expected ${statements.length} results, got ${parsed.length}: ${sql}`);
  return parsed.map((entry) => entry.results ?? []);
}

export async function startDev(options: DevOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const inspector = await freePort();
  const args = [WRANGLER, "dev", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspector), "--persist-to", options.persistTo, "--log-level", "warn"];
  if (options.config) args.push("--config", options.config);
  for (const [name, value] of Object.entries(options.vars)) args.push("--var", `${name}:${value}`);
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...options.env, CI: "true" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString());
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const server: DevServer = { url: `http://127.0.0.1:${port}`, pid: child.pid!, child, log };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log.join("")}`);
    try {
      const response = await fetch(`${server.url}/api/health`);
      if (response.ok) return server;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  await stopDev(server, "SIGKILL");
  throw new Error(`wrangler dev did not answer within 60 s:\n${log.join("")}`);
}

/** Kills the server's whole process group and waits until its leader has exited. */
export async function stopDev(server: DevServer, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise<void>((resolveExit) => server.child.once("exit", () => resolveExit()));
  try {
    process.kill(-server.pid, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-server.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
  // workerd children may take a moment to go after their leader.
  await sleep(300);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/** Resident memory (KiB) of the workerd processes in a server's process group, summed. */
export function workerdRssKiB(server: DevServer): number {
  const result = spawnSync("ps", ["-o", "pid=,comm=", "-g", String(server.pid)], { encoding: "utf8" });
  let total = 0;
  for (const line of result.stdout.split("\n")) {
    const [pid, command] = line.trim().split(/\s+/);
    if (!pid || command !== "workerd") continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // the process ended between ps and the read
    }
  }
  return total;
}
