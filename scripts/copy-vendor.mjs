// Wrangler's build step (wrangler.jsonc "build"): copies the dashboard's chart library from node_modules into
// the static assets, so the page loads nothing from a CDN. Plain JavaScript: it runs before anything else.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "public", "vendor");
mkdirSync(target, { recursive: true });
for (const file of ["uPlot.iife.min.js", "uPlot.min.css"]) {
  copyFileSync(join(root, "node_modules", "uplot", "dist", file), join(target, file));
}
