// Wrangler's build step (wrangler.jsonc "build"; it runs before `wrangler dev`, `wrangler deploy` and the
// deploy dry run): bundles the dashboard (src/dashboard, TypeScript) into public/dashboard.js with its chart
// library, and copies the chart library's stylesheet, so the page loads nothing from a CDN. Plain
// JavaScript: it runs before anything is compiled.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
mkdirSync(join(root, "public", "vendor"), { recursive: true });
copyFileSync(join(root, "node_modules", "uplot", "dist", "uPlot.min.css"), join(root, "public", "vendor", "uPlot.min.css"));

const result = await build({
  entryPoints: [join(root, "src", "dashboard", "main.ts")],
  outfile: join(root, "public", "dashboard.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
});
// The dashboard imports the API's response types, never the schemas themselves: zod stays on the server.
const serverOnly = Object.keys(result.metafile.inputs).filter((input) => /node_modules\/zod\/|src\/(agents|routes|db|sources|destinations|staging)\//.test(input));
if (serverOnly.length > 0) {
  console.error(`the dashboard bundle pulled in server code: ${serverOnly.join(", ")}`);
  process.exit(1);
}
