import { z } from "zod";
import { d1Destination } from "./d1";
import { parquetDestination } from "./r2-parquet";
import { postgresDestination } from "./postgres";
import type { AnyDestinationKind, DestinationSettingsBase } from "./kind";
import type { TableLookups } from "../engine/check-pass";

/**
 * Every destination kind this deployment knows, each one folder under src/destinations/. Adding a kind:
 * its folder (exporting one `DestinationKind`), its name here, and its section in docs/pipelines.md.
 */
export const DESTINATION_KINDS = [d1Destination, parquetDestination, postgresDestination] as const satisfies readonly AnyDestinationKind[];

/** Where a pipeline's rows go, as its file writes it (without `type`, a D1 table). */
export type DestinationPlace = DistributeOptionalD1<z.input<(typeof DESTINATION_KINDS)[number]["schema"]>>;
type DistributeOptionalD1<T> = T extends { type: "d1" } ? Omit<T, "type"> & { type?: "d1" } : T;

export type DestinationSettings = DestinationSettingsBase;

/** The kind of a destination declared without `type`, and of runs stored before destinations had kinds. */
export const DEFAULT_DESTINATION_KIND = d1Destination.type;

/** The keys every kind shares; the rest of a declaration is the kind's. */
const COMMON_KEYS = ["key", "columns", "duplicates"] as const;

/** The kind's part of a declared destination (its `type` filled in: D1 when absent). */
export function placeOf(destination: object): { type: string } & Record<string, unknown> {
  const place = Object.fromEntries(Object.entries(destination).filter(([name]) => !(COMMON_KEYS as readonly string[]).includes(name)));
  return { ...place, type: typeof place.type === "string" ? place.type : DEFAULT_DESTINATION_KIND };
}

export function destinationKindOf(settings: Pick<DestinationSettingsBase, "kind">): AnyDestinationKind {
  const kind = DESTINATION_KINDS.find((candidate) => candidate.type === settings.kind);
  if (!kind) throw new Error(`no destination kind ${JSON.stringify(settings.kind)} in this deployment (${DESTINATION_KINDS.map((entry) => entry.type).join(", ")})`);
  return kind;
}

/** A declared destination's place checked against its kind's schema: the checked place, or the problems (paths from `destination`). */
export function checkPlace(destination: object): { ok: true; kind: AnyDestinationKind; declared: unknown } | { ok: false; errors: string[] } {
  const place = placeOf(destination);
  const kind = DESTINATION_KINDS.find((candidate) => candidate.type === place.type);
  if (!kind) return { ok: false, errors: [`destination.type ${JSON.stringify(place.type)} is not a destination kind (${DESTINATION_KINDS.map((entry) => entry.type).join(", ")})`] };
  const checked = kind.schema.safeParse(place);
  if (!checked.success) return { ok: false, errors: checked.error.issues.map((issue) => `destination${issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("")}: ${issue.message}`) };
  return { ok: true, kind, declared: checked.data };
}

/** Where a definition writes, as a URI, without resolving it (for a pipeline set aside or misconfigured). */
export function declaredUri(destination: unknown, env: Readonly<Record<string, unknown>>): string {
  if (typeof destination !== "object" || destination === null) return "";
  const checked = checkPlace(destination);
  return checked.ok ? checked.kind.uriOf(checked.declared as never, env) : "";
}

/**
 * A place checks can look values up in (a declared destination, or `{ table }` for a table of the engine's
 * D1 database): its table and reader, or null when its kind's rows cannot be looked up.
 */
export function lookupPlace(place: object, env: Readonly<Record<string, unknown>>): { lookups: TableLookups; table: string } | null {
  const checked = checkPlace(place);
  if (!checked.ok || !checked.kind.lookups) return null;
  return { lookups: checked.kind.lookups.reader(env), table: checked.kind.lookups.table(checked.declared as never) };
}
