import { z } from "zod";
import { runValueProblem } from "../placeholders";
import type { SourceSettingsBase } from "../kind";
import { BINDING_NAME, CONNECT_WAIT_MS } from "./client";
import { scanSql, sourceQueryProblem } from "./sql-scan";

/**
 * A PostgreSQL query as a source, through a Hyperdrive binding: one SELECT run in a READ ONLY transaction
 * (one snapshot for all its pages), its values bound as $1, $2, … (never written into the SQL), read in
 * pages by keyset on the `cursor` columns so a table of any size is never held in memory.
 */

/** A value bound to the query: one of the run's (`slot.date`, `slot.iso`, `slot.epochMs`, `params.<name>`, `watermark`), or a constant. */
export type BoundValue = string | { value: string | number | boolean | null };

export interface PostgresSource extends SourceSettingsBase {
  kind: "postgres";
  /** The Worker's Hyperdrive binding (wrangler.jsonc `hyperdrive[].binding`). */
  hyperdrive: string;
  query: string;
  /** Bound as $1, $2, … in order. */
  params: BoundValue[];
  /** Columns of the query's result that order it and are unique together: each page starts after the last row's. */
  cursor: string[];
  /** Rows a page asks for. */
  pageRows: number;
  /** For connecting and for each page's statement. */
  timeoutMs: number;
  /** How long a refused connection (the database restarting) is tried again before the read fails. */
  connectWaitMs: number;
}

const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** PostgreSQL binds up to 65,535 values; paging adds one per cursor column and the limit. */
const MAX_PARAMS = 1_000;

const boundValue = z.union([
  z.string().superRefine((reference, ctx) => {
    if (reference === "watermark") return;
    const problem = reference.includes(".") ? runValueProblem(reference, null) : `${JSON.stringify(reference)} is not a run value (slot.date, slot.iso, slot.epochMs, params.<name>, watermark); a constant is { "value": … }`;
    if (problem) ctx.addIssue({ code: "custom", message: problem.replace(/\{\{|\}\}/g, "") });
  }),
  z.strictObject({ value: z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]) }),
]);

export const PostgresSourceSchema = z
  .strictObject({
    type: z.literal("postgres"),
    name: z.string().min(1).max(100).optional(),
    hyperdrive: z.string().regex(BINDING_NAME, "must be a Hyperdrive binding name (letters, digits, _)"),
    query: z
      .string()
      .min(1)
      .max(100_000)
      .superRefine((query, ctx) => {
        const problem = sourceQueryProblem(query);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    params: z.array(boundValue).max(MAX_PARAMS).default([]),
    cursor: z.array(z.string().regex(COLUMN, "must be a column name of the query's result")).min(1, "needs at least one column: pages are read by keyset on them, never by OFFSET").max(8),
    pageRows: z.number().int().min(1).max(50_000).default(5_000),
    timeoutMs: z.number().int().min(100).max(300_000).optional(),
    connectWaitMs: z.number().int().min(0).max(300_000).default(CONNECT_WAIT_MS),
  })
  .superRefine((source, ctx) => {
    const used = new Set(scanSql(source.query).parameters);
    const highest = Math.max(0, ...used);
    if (highest > source.params.length) ctx.addIssue({ code: "custom", path: ["params"], message: `the query uses $${highest} but params binds ${source.params.length} value${source.params.length === 1 ? "" : "s"}` });
    // PostgreSQL cannot type a parameter the query never uses ("could not determine data type of parameter").
    const unused = source.params.map((_, index) => index + 1).filter((number) => !used.has(number));
    if (unused.length > 0) ctx.addIssue({ code: "custom", path: ["params"], message: `binds ${unused.map((number) => `$${number}`).join(", ")}, which the query never uses` });
    if (new Set(source.cursor).size !== source.cursor.length) ctx.addIssue({ code: "custom", path: ["cursor"], message: "names a column twice" });
  });

export function postgresSettings(declared: z.output<typeof PostgresSourceSchema>, base: { name: string; defaultTimeoutMs: number }): PostgresSource {
  return {
    kind: "postgres",
    name: base.name,
    hyperdrive: declared.hyperdrive,
    query: declared.query,
    params: declared.params,
    cursor: declared.cursor,
    pageRows: declared.pageRows,
    timeoutMs: declared.timeoutMs ?? base.defaultTimeoutMs,
    connectWaitMs: declared.connectWaitMs,
  };
}
