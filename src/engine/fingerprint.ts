import { createHash } from "node:crypto";
import { z } from "zod";
import type { StageFingerprints } from "../domain/definition";
import type { Pipeline } from "./define-pipeline";
import type { PipelineSettings } from "./settings";

/**
 * What a run's output depends on, hashed, stage by stage: extract's on the sources it reads and how; the
 * transform's on that, the record schema, the transform's code (and `recordId`'s, `csvColumns`'), the
 * pipeline's config, its declared `version`, and the destination's rows and place (which also decide
 * which load shard a row goes to). The definition's fingerprint is the transform's: everything that
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

/** A schema as text: its JSON Schema, or, for what JSON Schema cannot say, zod's own description. */
function schemaText(schema: z.ZodType | undefined): unknown {
  if (!schema) return null;
  try {
    return z.toJSONSchema(schema, { unrepresentable: "any", io: "input" });
  } catch {
    return String((schema as { def?: { type?: string } }).def?.type ?? "schema");
  }
}

const code = (fn: ((...args: never[]) => unknown) | undefined) => (fn ? String(fn) : null);

export function fingerprints(pipeline: Pipeline, settings: PipelineSettings): Fingerprints {
  const extract = hash(["extract", settings.sources, settings.csvColumns, settings.maxRecordBytes]);
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
    settings.parallelism.load,
  ]);
  return { extract, transform };
}
