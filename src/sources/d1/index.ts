import { sourceKind } from "../kind";
import { D1SourceSchema, d1Settings, type D1Source } from "./config";
import { readD1Source } from "./read";

/** `{ type: "d1", database, query, params, pageBy }`: rows of a read-only query over a bound D1 database. */
export const d1Source = sourceKind<D1Source, typeof D1SourceSchema>({
  type: "d1",
  schema: D1SourceSchema,
  tuningFields: ["pageRows"],
  settings: d1Settings,
  problems(source, pipeline) {
    const problems: string[] = [];
    for (const reference of source.params) {
      if (typeof reference === "string" && reference.startsWith("params.") && !pipeline.params.includes(reference.slice("params.".length))) {
        problems.push(`params names ${reference}, which is not a param of this pipeline (${pipeline.params.length === 0 ? "it declares none" : `it declares ${pipeline.params.join(", ")}`})`);
      }
    }
    if (pipeline.env && (pipeline.env[source.database] === undefined || typeof pipeline.env[source.database] === "string")) {
      problems.push(`database ${source.database} is not a D1 binding of this Worker (add it to d1_databases in wrangler.jsonc)`);
    }
    return problems;
  },
  read: readD1Source,
  describe: (source) => ({ url: `d1://${source.database}`, format: null, watermark: null }),
  secretValues: () => [],
});
