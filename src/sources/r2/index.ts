import { sourceKind } from "../kind";
import { R2SourceSchema, r2Settings, type R2Source } from "./config";
import { commitObjects } from "./ledger";
import { r2ObjectStates } from "./object-states";
import { planR2Read, prefixOf, readR2Objects } from "./read";
import { uploadToR2 } from "./upload";

/** `{ type: "r2", bucket, prefix, match, format }`: files in an R2 bucket, each read once across runs. */
export const r2Source = sourceKind<R2Source, typeof R2SourceSchema>({
  type: "r2",
  schema: R2SourceSchema,
  tuningFields: ["readers", "objectsPerReader"],
  settings: r2Settings,
  problems(source, pipeline) {
    const problems: string[] = [];
    for (const name of source.prefix.match(/\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g) ?? []) {
      const param = /params\.([A-Za-z_][A-Za-z0-9_]*)/.exec(name)![1]!;
      if (!pipeline.params.includes(param)) problems.push(`prefix uses {{params.${param}}}, which is not a param of this pipeline (${pipeline.params.length === 0 ? "it declares none" : `it declares ${pipeline.params.join(", ")}`})`);
    }
    if (pipeline.env && (pipeline.env[source.bucket] === undefined || typeof pipeline.env[source.bucket] === "string")) {
      problems.push(`bucket ${source.bucket} is not an R2 binding of this Worker (add it to r2_buckets in wrangler.jsonc)`);
    }
    return problems;
  },
  plan: planR2Read,
  read: readR2Objects,
  describe: (source, context) => ({ url: `r2://${source.bucket}/${prefixOf(source, context.runValues)}${source.match === "**" ? "" : source.match}`, format: source.format, watermark: null }),
  secretValues: () => [],
  async commit(source, context) {
    await commitObjects(context.env.DB as D1Database, context.pipeline, source.name, context.runIds);
  },
  upload: uploadToR2,
  objectStates: r2ObjectStates,
});
