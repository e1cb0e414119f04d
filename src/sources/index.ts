import { z } from "zod";
import { httpSource } from "./http";
import type { AnySourceKind, SourceSettingsBase } from "./kind";
import { sampleSource } from "./sample";
import { d1Source } from "./d1";
import { r2Source } from "./r2";
import { postgresSource } from "./postgres";

export { sourceFromUrlVariable, urlVariableName, type UrlVariable } from "./http/url-variable";

/**
 * Every source kind this deployment knows, each one folder under src/sources/. Adding a kind: its folder
 * (exporting one `SourceKind`), its name here, and its page in docs/sources.md.
 */
export const SOURCE_KINDS = [httpSource, sampleSource, d1Source, r2Source, postgresSource] as const satisfies readonly AnySourceKind[];

export const SOURCE_TYPES = SOURCE_KINDS.map((kind) => kind.type) as [string, ...string[]];

/** A source as a pipeline file or a config variable declares it: one of the kinds' schemas, by `type`. */
export const SourceSchema = z.discriminatedUnion(
  "type",
  SOURCE_KINDS.map((kind) => kind.schema) as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]],
);

/** A source as a pipeline file writes it (the type a pipeline's `sources` are checked against). */
export type SourceInput = z.input<(typeof SOURCE_KINDS)[number]["schema"]>;

/** A source's settings, as a run stores them: the kind's own fields beside `kind` and `name`. */
export type SourceSettings = SourceSettingsBase;

export function sourceKindOf(settings: Pick<SourceSettingsBase, "kind">): AnySourceKind {
  const kind = SOURCE_KINDS.find((candidate) => candidate.type === settings.kind);
  if (!kind) throw new Error(`no source kind ${JSON.stringify(settings.kind)} in this deployment`);
  return kind;
}

/** A checked source with its defaults, named by its place in the list unless it has a name. */
export function toSourceSettings(declared: { type: string; name?: string }, index: number, defaultTimeoutMs: number): SourceSettings {
  const name = declared.name ?? (index === 0 ? "primary" : `fallback-${index}`);
  return sourceKindOf({ kind: declared.type }).settings(declared as never, { name, defaultTimeoutMs });
}
