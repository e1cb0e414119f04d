import { z } from "zod";
import { formatProblems, formatSettings, formatShape, type FormatSettings } from "../formats";
import type { SourceSettingsBase } from "../kind";
import { isRunValue, placeholderNames, runValueProblem } from "../placeholders";
import { globProblem } from "./glob";

/**
 * Files in an R2 bucket as a source: every object under a prefix whose key matches a glob, read in key
 * order, each once across runs (the object ledger).
 */
export interface R2Source extends SourceSettingsBase, FormatSettings {
  kind: "r2";
  /** The Worker binding of the bucket (wrangler.jsonc `r2_buckets[].binding`). */
  bucket: string;
  /** Objects under it are read; may hold `{{slot.*}}` and `{{params.*}}`. */
  prefix: string;
  /** A glob on the key after the prefix (`*.csv`, `**\/*.ndjson`); all objects when `**`. */
  match: string;
  /** Extract agents reading objects side by side at most. */
  readers: number;
  /** Objects one reader is given at least before another reader is started. */
  objectsPerReader: number;
}

export const R2SourceSchema = z
  .strictObject({
    type: z.literal("r2"),
    name: z.string().min(1).max(100).optional(),
    bucket: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a binding name (letters, digits, _)"),
    prefix: z.string().max(512).default(""),
    match: z
      .string()
      .min(1)
      .max(200)
      .default("**")
      .superRefine((glob, ctx) => {
        const problem = globProblem(glob);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    ...formatShape,
    readers: z.number().int().min(1).max(32).default(4),
    objectsPerReader: z.number().int().min(1).max(100_000).default(25),
  })
  .superRefine((source, ctx) => {
    for (const name of placeholderNames(source.prefix)) {
      const problem = isRunValue(name) ? runValueProblem(name, null) : `{{${name}}} is not a slot value or a param (a prefix holds no secrets)`;
      if (problem) ctx.addIssue({ code: "custom", path: ["prefix"], message: problem });
    }
    for (const problem of formatProblems(source)) ctx.addIssue({ code: "custom", path: [problem.path], message: problem.message });
  });

export function r2Settings(declared: z.output<typeof R2SourceSchema>, base: { name: string }): R2Source {
  return { kind: "r2", name: base.name, bucket: declared.bucket, prefix: declared.prefix, match: declared.match, ...formatSettings(declared), readers: declared.readers, objectsPerReader: declared.objectsPerReader };
}
