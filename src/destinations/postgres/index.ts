import { hyperdriveOf, hyperdriveProblem, withClient, type PostgresClient } from "../../sources/postgres/client";
import { destinationKind, type DestinationContext } from "../kind";
import { shapeProblem } from "./shape";
import { PostgresDestinationSchema, postgresUri, qualified, type PostgresDestination } from "./settings";
import { rowsOfRun, writeChunk } from "./upsert";

/**
 * `{ type: "postgres", hyperdrive, schema, table }`: upserts on the key into a PostgreSQL table reached
 * through a Hyperdrive binding (docs/postgres.md). One transaction and one short-lived connection per
 * chunk; a retried load rewrites the same rows, so it changes nothing.
 */
export const postgresDestination = destinationKind<PostgresDestination, typeof PostgresDestinationSchema>({
  type: "postgres",
  schema: PostgresDestinationSchema,
  store: "PostgreSQL",
  carriesCompanions: false,
  problems(declared, columns) {
    const unknown = declared.jsonb.filter((name) => !columns.includes(name)).map((name) => `destination.jsonb names ${name}, which is not a column`);
    // PostgreSQL cuts a longer name to 63 bytes: the table would have another column than the definition.
    const long = columns.filter((name) => new TextEncoder().encode(name).length > 63).map((name) => `column ${name} is longer than PostgreSQL's 63-byte names`);
    return [...unknown, ...long];
  },
  resolve(declared, common, env) {
    const problem = hyperdriveProblem(env, declared.hyperdrive);
    if (problem) return { ok: false, errors: [problem] };
    const errors = [
      ...declared.jsonb.filter((name) => common.columns.find((column) => column.name === name)?.type !== "text").map((name) => `destination.jsonb names ${name}, which is not a text column (jsonb is given JSON text)`),
      // Two JSON texts PostgreSQL holds equal ({"a":1}, {"a": 1.0}) would be two keys here and one there.
      ...declared.jsonb.filter((name) => common.key.includes(name)).map((name) => `key column ${name} is stored as jsonb; a PostgreSQL key is text, a number, a boolean or a timestamp`),
      // The key is the table's primary key, and a primary key column is NOT NULL.
      ...common.key.filter((name) => common.columns.find((column) => column.name === name)?.nullable).map((name) => `key column ${name} may be null, which a PostgreSQL primary key cannot hold`),
    ];
    if (errors.length > 0) return { ok: false, errors };
    return {
      ok: true,
      settings: { kind: "postgres", hyperdrive: declared.hyperdrive, schema: declared.schema, table: declared.table, jsonb: declared.jsonb, timeoutMs: declared.timeoutMs, connectWaitMs: declared.connectWaitMs, ...common, uri: postgresUri(declared.hyperdrive, declared.schema, declared.table) },
    };
  },
  uriOf: (declared) => postgresUri(declared.hyperdrive, declared.schema, declared.table),
  label: (settings) => qualified(settings),
  writer(settings, context) {
    return {
      write: (rows, control) => connected(settings, { ...context, signal: control.signal }, `writing ${qualified(settings)}`, (client) => writeChunk(client, settings, context.runId, context.loadedAt, rows, control)),
      finish: async () => undefined,
    };
  },
  rowsOfRun: (settings, context) => connected(settings, context, `counting the run's rows in ${qualified(settings)}`, (client) => rowsOfRun(client, settings, context.runId)),
  diagnose: (settings, env) => connected(settings, { env, pipeline: null }, `checking ${qualified(settings)}`, (client) => shapeProblem(client, settings, null)),
  verifyShape: (settings, context) => connected(settings, context, `checking ${qualified(settings)}`, (client) => shapeProblem(client, settings, context.pipeline)),
});

async function connected<T>(settings: PostgresDestination, context: Pick<DestinationContext, "env"> & { pipeline: string | null; shard?: number; signal?: AbortSignal }, doing: string, work: (client: PostgresClient) => Promise<T>): Promise<T> {
  const hyperdrive = hyperdriveOf(context.env, settings.hyperdrive);
  const applicationName = `pipeline ${context.pipeline ?? ""} load${context.shard === undefined ? "" : ` ${context.shard}`}`;
  return withClient(hyperdrive, { applicationName, timeoutMs: settings.timeoutMs, connectWaitMs: settings.connectWaitMs, signal: context.signal, doing }, work);
}

