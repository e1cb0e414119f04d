/**
 * npm run check:toolchain (in CI): the toolchain is the one the README promises.
 * - npm scripts run under Node 22 (the `node` devDependency), the Node the README names;
 * - wrangler is the version the Workers Vitest integration pins, so `npm test`, `npm run dev` and
 *   `wrangler deploy` run one workerd, and exactly one workerd is installed;
 * - `npm install` from the lockfile under that Node prints no warning at all (no EBADENGINE, no ERESOLVE,
 *   no deprecation), as a newcomer's first command should.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const NODE_MAJOR = 22;
const problems: string[] = [];
const json = (path: string) => JSON.parse(readFileSync(join(ROOT, path), "utf8")) as Record<string, any>;

const major = Number(process.versions.node.split(".")[0]);
if (major !== NODE_MAJOR) problems.push(`npm scripts run under Node ${process.versions.node}, not Node ${NODE_MAJOR} (is the "node" devDependency installed?)`);
const engines = json("package.json").engines?.node;
if (engines !== `>=${NODE_MAJOR}`) problems.push(`package.json engines.node is ${JSON.stringify(engines)}, not ">=${NODE_MAJOR}"`);

const declared = json("package.json").devDependencies.wrangler;
const pinned = json("node_modules/@cloudflare/vitest-plugin/package.json").dependencies.wrangler;
const installed = json("node_modules/wrangler/package.json").version;
if (declared !== pinned || installed !== pinned) {
  problems.push(`wrangler ${declared} (installed ${installed}) is not the ${pinned} that @cloudflare/vitest-plugin pins: tests and dev or deploy would run different workerd versions`);
}
/** Every installed copy of a package, nested ones included. */
function copiesOf(name: string, folder = join(ROOT, "node_modules")): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = join(folder, entry.name);
    if (entry.name.startsWith("@")) found.push(...copiesOf(name, path));
    else if (entry.name === name) found.push(JSON.parse(readFileSync(join(path, "package.json"), "utf8")).version);
    else {
      const nested = join(path, "node_modules");
      if (readdirSync(path).includes("node_modules")) found.push(...copiesOf(name, nested));
    }
  }
  return found;
}
const workerds = [...new Set(copiesOf("workerd"))];
if (workerds.length !== 1) problems.push(`${workerds.length} versions of workerd are installed (${workerds.join(", ")}); tests and dev would not run the same runtime`);

// A clean install from the lockfile, as the README's first command does (scripts off: only resolution is checked).
const folder = mkdtempSync(join(tmpdir(), "check-install-"));
try {
  for (const file of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, file), join(folder, file));
  const npm = process.env.npm_execpath;
  if (!npm) throw new Error("run this through npm (npm run check:toolchain): it needs npm_execpath");
  const install = spawnSync(process.execPath, [npm, "install", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: folder, encoding: "utf8", env: { ...process.env, npm_config_loglevel: "warn" } });
  const warnings = `${install.stdout}\n${install.stderr}`.split("\n").filter((line) => /npm (warn|error)/i.test(line));
  if (install.status !== 0) problems.push(`npm install failed (${install.status}):\n${warnings.join("\n")}`);
  else if (warnings.length > 0) problems.push(`npm install under Node ${process.versions.node} printed ${warnings.length} warning line(s):\n${warnings.slice(0, 20).join("\n")}`);
} finally {
  rmSync(folder, { recursive: true, force: true });
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`check:toolchain: ${problem}`);
  process.exit(1);
}
console.log(`toolchain ok: Node ${process.versions.node}, wrangler ${installed} as @cloudflare/vitest-plugin pins, workerd ${workerds[0]}, a quiet npm install`);
