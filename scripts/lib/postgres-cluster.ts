import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./wrangler-dev.ts";

/**
 * A throwaway PostgreSQL cluster for the tests, the fault injection, the benchmark and the docs run: its
 * own data directory under the system's temp folder, a free 127.0.0.1 port, a password (SCRAM), stopped by
 * its postmaster's PID and deleted afterwards. Never the system service. `initdb` and `postgres` refuse to
 * run as root, so as root they run as the `postgres` user Debian's package creates.
 */

export interface ClusterPlan {
  dir: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** What a client connects with (the password in it: never print it). */
  url: string;
}

export interface Cluster extends ClusterPlan {
  /** The postmaster's PID (from postmaster.pid), or null while it is stopped. */
  pid(): number | null;
  /** Starts it again on the same data directory (after `kill`). */
  start(): void;
  /** SIGKILLs the postmaster and waits until its backends are gone: a crash, recovered by the next `start`. */
  kill(): Promise<void>;
  /** A fast shutdown (SIGINT to the postmaster), then the directory is deleted. */
  stop(): Promise<void>;
}

const PG_USER = "postgres";

/** The directory of PostgreSQL's programs: `pg_config --bindir`, else Debian's versioned folders. */
export function postgresBinDir(): string | null {
  const configured = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (configured.status === 0 && existsSync(join(configured.stdout.trim(), "initdb"))) return configured.stdout.trim();
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((version) => existsSync(join(root, version, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0]!, "bin") : null;
}

/**
 * PostgreSQL's programs, installed from Debian's packages when they are missing and this is root (as the
 * README's set-up promises); otherwise a clear error saying how to install them.
 */
export function ensurePostgres(): string {
  const found = postgresBinDir();
  if (found) return found;
  const root = process.getuid?.() === 0;
  if (root && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0) {
    console.log("PostgreSQL is not installed: apt-get install -y postgresql (once; the tests start their own throwaway cluster)");
    execFileSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null"], { stdio: "inherit" });
    const installed = postgresBinDir();
    if (installed) return installed;
  }
  throw new Error("PostgreSQL 15 is needed for the PostgreSQL tests: apt-get install -y postgresql (Debian), or put its bin folder on PATH so pg_config --bindir finds it");
}

/** Where a cluster will live and how to reach it, before it is started (a config needs the URL first). */
export async function planCluster(options: { password?: string; database?: string } = {}): Promise<ClusterPlan> {
  // Only a name: the folder is made when the cluster starts (a plan that never starts leaves nothing).
  const dir = join(tmpdir(), `pipeline-pg-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
  const port = await freePort();
  const user = "app";
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  const database = options.database ?? "pipeline";
  return { dir, port, user, password, database, url: `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}` };
}

/** Runs a PostgreSQL program: as the postgres user when this is root. */
function run(bin: string, program: string, args: string[], options: { quiet?: boolean } = {}): void {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? "runuser" : join(bin, program);
  const argv = asRoot ? ["-u", PG_USER, "--", join(bin, program), ...args] : args;
  const result = spawnSync(command, argv, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${program} failed (${result.status}): ${(result.stderr || result.stdout || "").trim().slice(0, 2_000)}`);
  if (!options.quiet && result.stderr.trim()) process.stderr.write(result.stderr);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Initialises and starts the planned cluster, with its database created. */
export async function startCluster(plan: ClusterPlan): Promise<Cluster> {
  const bin = ensurePostgres();
  mkdirSync(plan.dir, { mode: 0o700 });
  const data = join(plan.dir, "data");
  const pwfile = join(plan.dir, "pw");
  writeFileSync(pwfile, `${plan.password}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", PG_USER], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", PG_USER], { encoding: "utf8" }).trim());
    chownSync(plan.dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  run(bin, "initdb", ["-D", data, "-U", plan.user, `--pwfile=${pwfile}`, "-A", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"], { quiet: true });
  rmSync(pwfile);
  const pid = (): number | null => {
    const file = join(data, "postmaster.pid");
    if (!existsSync(file)) return null;
    const value = Number(readFileSync(file, "utf8").split("\n")[0]);
    return Number.isInteger(value) && value > 0 && isAlive(value) ? value : null;
  };
  const startOnce = () => {
    // fsync off: a test cluster trades durability across a machine crash for speed. Commits stay
    // synchronous (written to the WAL before the client hears of them), so a killed postmaster recovers
    // every commit it acknowledged: what the fault injection counts on.
    const options = `-p ${plan.port} -c listen_addresses=127.0.0.1 -k ${plan.dir} -c fsync=off -c full_page_writes=off -c max_connections=200`;
    run(bin, "pg_ctl", ["-D", data, "-o", options, "-l", join(plan.dir, "postgres.log"), "-w", "-t", "60", "start"], { quiet: true });
    const started = pid();
    if (started === null) throw new Error("PostgreSQL did not start (see its log in the cluster directory)");
  };
  /** After a crash the old backends may still hold the shared memory for a moment: tried again until free. */
  const start = () => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        return startOnce();
      } catch (error) {
        if (Date.now() > deadline || !/shared memory|already running|lock file/i.test(String(error) + readLog())) throw error;
        spawnSync("sleep", ["0.2"]);
      }
    }
  };
  const readLog = () => (existsSync(join(plan.dir, "postgres.log")) ? readFileSync(join(plan.dir, "postgres.log"), "utf8").slice(-2_000) : "");
  start();
  await createDatabase(plan);
  return {
    ...plan,
    pid,
    start,
    async kill() {
      const current = pid();
      if (current === null) return;
      process.kill(current, "SIGKILL");
      await waitUntil(() => !isAlive(current), 10_000, "the postmaster to die");
      // Its backends notice the postmaster is gone and exit; `start` waits for them (their shared memory).
    },
    async stop() {
      const current = pid();
      if (current !== null) {
        process.kill(current, "SIGINT");
        await waitUntil(() => !isAlive(current), 30_000, "PostgreSQL to stop").catch(() => process.kill(current, "SIGKILL"));
      }
      rmSync(plan.dir, { recursive: true, force: true });
    },
  };
}

async function createDatabase(plan: ClusterPlan): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ host: "127.0.0.1", port: plan.port, user: plan.user, password: plan.password, database: "postgres" });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${plan.database}"`);
  } finally {
    await client.end();
  }
}

/** Runs SQL against the cluster from Node (set-up and checks outside the Worker). */
export async function clusterQuery<R extends Record<string, unknown> = Record<string, unknown>>(plan: Pick<ClusterPlan, "url">, sql: string, values: unknown[] = []): Promise<R[]> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: plan.url });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as R[];
  } finally {
    await client.end();
  }
}
