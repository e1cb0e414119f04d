import { destinationKind } from "../kind";
import { D1DestinationSchema, d1Uri, IDENTIFIER, type D1Destination } from "./settings";
import { d1Lookups } from "./lookups";
import { loadRowsOnce, rowsOfRun, tableProblem, upsertRows } from "./writes";
import { d1StagedWrites } from "./staged-writes";

/**
 * `{ table }`: upserts on the key into a D1 table of the Worker's `DB` binding (D1_DATABASE_NAME names the
 * database). Duplicate keys within a run are found by D1 itself (see loadRowsOnce); a retried load
 * rewrites the same rows, so it changes nothing.
 */
export const d1Destination = destinationKind<D1Destination, typeof D1DestinationSchema>({
  type: "d1",
  schema: D1DestinationSchema,
  store: "D1",
  carriesCompanions: true,
  problems: (declared) => (IDENTIFIER.test(declared.table) ? [] : [`destination.table ${JSON.stringify(declared.table)} is not a plain SQL name`]),
  resolve(declared, common, env) {
    const database = typeof env.D1_DATABASE_NAME === "string" ? env.D1_DATABASE_NAME.trim() : "";
    if (database === "") return { ok: false, errors: ["D1_DATABASE_NAME is empty"] };
    return { ok: true, settings: { kind: "d1", database, table: declared.table, ...common, uri: d1Uri(database, declared.table) } };
  },
  uriOf: (declared, env) => d1Uri(String(env.D1_DATABASE_NAME ?? ""), declared.table),
  label: (settings) => settings.table,
  writer(settings, context) {
    const db = context.env.DB as D1Database;
    return {
      write: (rows, control) =>
        settings.duplicates === "reject"
          ? loadRowsOnce(db, settings, context.runId, rows, context.loadedAt, control)
          : upsertRows(db, settings, context.runId, rows, context.loadedAt, control).then((loaded) => ({ loaded, duplicates: [] })),
      finish: async (control) => {
        // Companions whose rows never came (a run of rejections only) go on their own.
        if (control.companions && control.companions.length > 0) await db.batch(control.companions);
      },
    };
  },
  staging: (settings, context) => d1StagedWrites(context.env.DB as D1Database, settings, context.pipeline, context.runId, context.loadedAt),
  rowsOfRun: (settings, context) => rowsOfRun(context.env.DB as D1Database, settings, context.runId),
  diagnose: (settings, env) => tableProblem(env.DB as D1Database, settings),
  verifyShape: (settings, context) => tableProblem(context.env.DB as D1Database, settings, context.pipeline),
  lookups: { table: (declared) => declared.table, reader: (env) => d1Lookups(env.DB as D1Database) },
});
