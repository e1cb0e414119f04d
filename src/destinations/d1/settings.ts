import { z } from "zod";
import type { DestinationSettingsBase } from "../kind";

/** A D1 table in the Worker's `DB` database, created by a migration in migrations/. */
export interface D1Destination extends DestinationSettingsBase {
  kind: "d1";
  /** The database's name (D1_DATABASE_NAME), for the URI and the recovery commands. */
  database: string;
  table: string;
}

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `{ table }` (or `{ type: "d1", table }`): the default destination kind. */
export const D1DestinationSchema = z.strictObject({ type: z.literal("d1"), table: z.string() });

export function d1Uri(database: string, table: string): string {
  return `d1://${database}/${table}`;
}
