import { createHash } from "node:crypto";
import { sourceKindOf, type SourceSettings } from "../sources";
import type { StageFingerprints } from "../domain/definition";
import type { Pipeline } from "./define-pipeline";
import type { PipelineSettings } from "./settings";

/**
 * What a run's output depends on, hashed, stage by stage: extract's on the sources it reads and how; the
 * transform's on that, the record schema, the transform's code (and `recordId`'s, `csvColumns`'), the
 * pipeline's config, its declared `version`, its `contract` (when declared), and the destination's rows and place. The definition's fingerprint is the transform's: everything that
 * shapes what is written. A run records them when it starts; a run resumed or retried under other ones
 * starts over from the first stage whose output would differ.
 *
 * A transform's code is seen as its own text: a change inside a function it calls is not. Such a
 * pipeline declares `version` and changes it with the code (as Dagster's code_version).
 */
export type Fingerprints = StageFingerprints;

function hash(parts: readonly unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
}

/**
 * A schema as zod holds it, with the code of its refinements and transforms as text: JSON Schema would
 * say `z.string().transform(trim)` and `z.string().transform(upper)` are the same, and they are not.
 */
function schemaText(schema: unknown): unknown {
  const seen = new WeakSet<object>();
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === "function") return `fn:${String(value)}`;
    if (value === null || typeof value !== "object" || value instanceof RegExp) return value instanceof RegExp ? String(value) : value;
    if (depth > 64) return "…";
    if (seen.has(value)) return "↺"; // a schema used twice, or a cycle
    seen.add(value);
    const zod = (value as { _zod?: { def?: unknown } })._zod;
    if (zod) return walk(zod.def, depth + 1);
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, depth + 1)]));
  };
  return schema === undefined ? null : walk(schema, 0);
}

/** A source's settings without what changes how it is read but not what it gives (timeouts, page sizes, readers). */
function sourceText(source: SourceSettings): unknown {
  const tuning = new Set(sourceKindOf(source).tuningFields ?? []);
  return Object.fromEntries(Object.entries(source).filter(([key]) => !tuning.has(key)));
}

const code = (fn: ((...args: never[]) => unknown) | undefined) => (fn ? String(fn) : null);

export function fingerprints(pipeline: Pipeline, settings: PipelineSettings): Fingerprints {
  const extract = hash(["extract", settings.sources.map(sourceText), settings.csvColumns, settings.maxRecordBytes]);
  const { uri: _uri, ...destination } = settings.destination;
  const transform = hash([
    "transform",
    extract,
    pipeline.version ?? null,
    schemaText(pipeline.record),
    code(pipeline.transform as never),
    code(pipeline.recordId as never),
    code(pipeline.csvColumns as never),
    settings.config,
    destination,
    // Checks shape what the transform tallies: a changed check is judged on a batch transformed again.
    ...(pipeline.checks && pipeline.checks.length > 0 ? [schemaText(pipeline.checks)] : []),
    // The contract decides which records go on: only when declared, so other pipelines keep their fingerprints.
    ...(pipeline.contract ? [{ contract: pipeline.contract.unknownFields }] : []),
  ]);
  return { extract, transform };
}
