import { z } from "zod";
import { runValueProblem } from "../placeholders";
import type { SourceSettingsBase } from "../kind";
import { highestParameter, readOnlyProblem } from "./read-only-sql";

/**
 * A D1 query as a source: a read-only SELECT over a database bound to the Worker, its values bound as
 * parameters (never written into the SQL), read in pages by keyset on declared columns.
 */

/** A value bound to the query: one of the run's (`slot.date`, `slot.iso`, `slot.epochMs`, `params.<name>`, `watermark`), or a constant. */
export type BoundValue = string | { value: string | number | null };

export interface D1Source extends SourceSettingsBase {
  kind: "d1";
  /** The Worker binding of the database (wrangler.jsonc `d1_databases[].binding`). */
  database: string;
  query: string;
  /** Bound as ?1, ?2, … in order. */
  params: BoundValue[];
  /** Columns of the query's result that order it and are unique together: each page starts after the last row's. */
  pageBy: string[];
  /** Rows a page asks for. */
  pageRows: number;
}

/** D1 binds at most 100 values in one statement; paging adds one per pageBy column and the limit. */
const MAX_BOUND = 100;
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const boundValue = z.union([
  z.string().superRefine((reference, ctx) => {
    if (reference === "watermark") return;
    const problem = reference.includes(".") ? runValueProblem(reference, null) : `${JSON.stringify(reference)} is not a run value (slot.date, slot.iso, slot.epochMs, params.<name>, watermark); a constant is { "value": … }`;
    if (problem) ctx.addIssue({ code: "custom", message: problem.replace(/\{\{|\}\}/g, "") });
  }),
  z.strictObject({ value: z.union([z.string().max(10_000), z.number(), z.null()]) }),
]);

export const D1SourceSchema = z
  .strictObject({
    type: z.literal("d1"),
    name: z.string().min(1).max(100).optional(),
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a binding name (letters, digits, _)"),
    query: z
      .string()
      .min(1)
      .max(50_000)
      .superRefine((query, ctx) => {
        const problem = readOnlyProblem(query);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    params: z.array(boundValue).max(MAX_BOUND - 10).default([]),
    pageBy: z.array(z.string().regex(COLUMN, "must be a column name of the query's result")).min(1, "needs at least one column: pages are read by keyset on them, never by OFFSET").max(8),
    pageRows: z.number().int().min(1).max(10_000).default(1_000),
  })
  .superRefine((source, ctx) => {
    const highest = highestParameter(source.query);
    if (highest > source.params.length) ctx.addIssue({ code: "custom", path: ["params"], message: `the query uses ?${highest} but params binds ${source.params.length} value${source.params.length === 1 ? "" : "s"}` });
    if (new Set(source.pageBy).size !== source.pageBy.length) ctx.addIssue({ code: "custom", path: ["pageBy"], message: "names a column twice" });
  });

export function d1Settings(declared: z.output<typeof D1SourceSchema>, base: { name: string }): D1Source {
  return { kind: "d1", name: base.name, database: declared.database, query: declared.query, params: declared.params, pageBy: declared.pageBy, pageRows: declared.pageRows };
}
