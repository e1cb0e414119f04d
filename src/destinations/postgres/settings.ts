import { z } from "zod";
import type { DestinationSettingsBase } from "../kind";
import { BINDING_NAME, CONNECT_WAIT_MS } from "../../sources/postgres/client";

/** A PostgreSQL table reached through a Hyperdrive binding. */
export interface PostgresDestination extends DestinationSettingsBase {
  kind: "postgres";
  /** The Worker's Hyperdrive binding (wrangler.jsonc `hyperdrive[].binding`). */
  hyperdrive: string;
  schema: string;
  table: string;
  /** Text columns stored as jsonb (their values must be JSON text). */
  jsonb: string[];
  /** For connecting and for each statement. */
  timeoutMs: number;
  /** How long a refused connection (the database restarting) is tried again before a write fails. */
  connectWaitMs: number;
}

/** A PostgreSQL name as written without quotes: lower case, so `"orders"` and `orders` are one table. */
export const NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const nameField = z.string().regex(NAME, "must be a plain PostgreSQL name: lower-case letters, digits and _, at most 63");

export const PostgresDestinationSchema = z.strictObject({
  type: z.literal("postgres"),
  hyperdrive: z.string().regex(BINDING_NAME, "must be a Hyperdrive binding name (letters, digits, _)"),
  schema: nameField.default("public"),
  table: nameField,
  jsonb: z.array(z.string()).max(100).default([]),
  timeoutMs: z.number().int().min(1_000).max(300_000).default(30_000),
  connectWaitMs: z.number().int().min(0).max(300_000).default(CONNECT_WAIT_MS),
});

export type PostgresDeclared = z.output<typeof PostgresDestinationSchema>;

export function postgresUri(hyperdrive: string, schema: string, table: string): string {
  return `postgres://${hyperdrive}/${schema}.${table}`;
}

export const qualified = (destination: Pick<PostgresDestination, "schema" | "table">) => `${destination.schema}.${destination.table}`;
