import { sourceKind } from "../kind";
import { bindingSecrets, hyperdriveProblem } from "./client";
import { PostgresSourceSchema, postgresSettings, type PostgresSource } from "./config";
import { readPostgresSource } from "./read";

/**
 * `{ type: "postgres", hyperdrive, query, params, cursor }`: rows of a read-only query over PostgreSQL,
 * reached through a Hyperdrive binding (docs/postgres.md).
 */
export const postgresSource = sourceKind<PostgresSource, typeof PostgresSourceSchema>({
  type: "postgres",
  schema: PostgresSourceSchema,
  tuningFields: ["pageRows", "timeoutMs", "connectWaitMs"],
  settings: postgresSettings,
  problems(source, pipeline) {
    const problems: string[] = [];
    for (const reference of source.params) {
      if (typeof reference === "string" && reference.startsWith("params.") && !pipeline.params.includes(reference.slice("params.".length))) {
        problems.push(`params names ${reference}, which is not a param of this pipeline (${pipeline.params.length === 0 ? "it declares none" : `it declares ${pipeline.params.join(", ")}`})`);
      }
    }
    const binding = pipeline.env ? hyperdriveProblem(pipeline.env, source.hyperdrive) : null;
    if (binding) problems.push(binding);
    return problems;
  },
  read: readPostgresSource,
  // The watermark the run reads from, when the query binds it.
  describe: (source, context) => ({ url: `postgres://${source.hyperdrive}`, format: null, watermark: source.params.includes("watermark") ? (context.watermark?.value ?? null) : null }),
  secretValues: (source, env) => bindingSecrets(env, source.hyperdrive),
});
