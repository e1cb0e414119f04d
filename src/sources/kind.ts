import type { z } from "zod";
import type { SampleData } from "../engine/define-pipeline";
import type { SourceItem } from "./source-items";

/**
 * The seam every source kind plugs into: one folder under src/sources/ exporting one `SourceKind`, listed
 * once in src/sources/index.ts. The engine, the agents and the stages only ever talk to this interface.
 */

/** What every source's settings carry; a kind adds its own fields. Stored with each run (no secret values). */
export interface SourceSettingsBase {
  kind: string;
  /** The source's name in the run report: its own, or its place in the list ("primary", "fallback-1"). */
  name: string;
}

/** What a read is given: the run's values, the Worker's bindings and secrets, limits, and a stop signal. */
export interface SourceReadContext {
  /** The Worker's environment. A kind reads only the bindings and secrets its settings name. */
  env: Readonly<Record<string, unknown>>;
  pipeline: string;
  runId: string;
  /** The pipeline's built-in sample data (for the sample kind). */
  sample: SampleData | undefined;
  /** The run's `{{slot.*}}` and `{{params.*}}` values, by placeholder name. */
  runValues: Readonly<Record<string, string>>;
  /** The run's slot bounds and watermark, for kinds that bind them as values (never as text). */
  slot: { asOf: number; scheduledFor: number | null; date: string };
  params: Readonly<Record<string, unknown>>;
  /** The pipeline's watermark from its last successful run, with the name the source sends it under. */
  watermark: { param: string; value: string } | null;
  /** Columns a CSV header must have. */
  requiredColumns: string[];
  maxRecordBytes: number;
  /** Read again what earlier runs read already (a backfill with reprocess "all"). */
  reprocess: boolean;
  /** Which of the extract stage's shards this is, and how many read side by side. */
  shard: number;
  shards: number;
  signal: AbortSignal;
}

/** One object (file) a source read, or passed over because an earlier run read it. */
export interface SourceObject {
  key: string;
  etag: string;
  size: number;
  /** Records (and unusable items) it gave, or null when it was skipped. */
  records: number | null;
  /** The run that read it before (skipped objects). */
  readBy?: string;
}

/** How a read went, for the run report. */
export interface SourceRead {
  pages: number;
  /** The page limit stopped the read while the source still offered more. */
  truncated: boolean;
  /** The first request, as it may be shown (redacted), for kinds that make requests. */
  firstUrl: string | null;
  /** Object sources: what was read and what was skipped, in key order. */
  objects?: SourceObject[];
}

/** What the report shows of a source before (or without) a read. */
export interface SourceDescription {
  url: string | null;
  format: string | null;
  watermark: string | null;
}

export interface SourceKind<S extends SourceSettingsBase = SourceSettingsBase, D = never> {
  /** The `type` a pipeline file writes; also the settings' `kind`. */
  type: S["kind"];
  /** The declared form: a zod object with `type: z.literal(type)`, checked at load (messages name the field). */
  schema: z.ZodType;
  /** The checked declaration (the schema's output) as settings, with the name and default timeout it is given. */
  settings(declared: D, base: { name: string; defaultTimeoutMs: number }): S;
  /** Problems only visible with the whole pipeline (params it names, bindings the Worker lacks). */
  problems(settings: S, pipeline: { params: readonly string[]; env: Readonly<Record<string, unknown>> | null }): string[];
  /** Streams the source's items in order. Failures are StageFailures that say whether a try again may help. */
  read(settings: S, context: SourceReadContext): AsyncGenerator<SourceItem[], SourceRead>;
  /** What the report shows of it. */
  describe(settings: S, context: Pick<SourceReadContext, "runValues" | "watermark">): SourceDescription;
  /** Values to scrub from any message about it: the secrets it uses, as they are set. */
  secretValues(settings: S, env: Readonly<Record<string, unknown>>): string[];
  /** Extract agents side by side for one read (object sources fan out); 1 by default. */
  shards?(settings: S): number;
  /**
   * After a run succeeded: make what it read count as read (the object ledger). Called with the run's
   * report; a kind without a ledger has none.
   */
  commit?(settings: S, context: { env: Readonly<Record<string, unknown>>; pipeline: string; runId: string; read: SourceRead }): Promise<void>;
}

/** A kind as the list holds it: its settings' type erased (each kind checks its own). */
export type AnySourceKind = SourceKind<SourceSettingsBase, never>;

/** Lists a kind with its types checked against the interface; its schema's type stays (it types pipeline files). */
export function sourceKind<S extends SourceSettingsBase, Schema extends z.ZodType>(kind: SourceKind<S, z.output<Schema>> & { schema: Schema }): AnySourceKind & { schema: Schema } {
  return kind as unknown as AnySourceKind & { schema: Schema };
}
