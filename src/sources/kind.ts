import type { z } from "zod";
import type { ObjectState } from "../domain/object-admission";
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
  watermark: { param: string | null; value: string } | null;
  /** Columns a CSV header must have. */
  requiredColumns: string[];
  maxRecordBytes: number;
  /** Read again what earlier runs read already (a backfill with reprocess "all"). */
  reread: boolean;
  /** This reader's share of a planned read (one of `plan`'s shares), or null: read it all. */
  share: unknown;
  signal: AbortSignal;
}

/** A read split between readers working side by side, and what was passed over before any read. */
export interface ReadPlan {
  /** One per reader, in order: reader i's items come before reader i+1's. */
  shares: unknown[];
  /** Objects not to be read (read by an earlier run), for the report. */
  passedOver: SourceObject[];
}

/** One object (file) a source read, or passed over. */
export interface SourceObject {
  key: string;
  etag: string;
  size: number;
  /** Items (records and unusable input) it gave, or null when it was not read. */
  records: number | null;
  /** The run position of its first item (its items are the `records` positions from there), or null. */
  firstPosition: number | null;
  /** Why it was not read: "read by <run id>", or that it changed while the run read. */
  skipped?: string;
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
  /** Object sources: the totals, when `objects` lists only the first of them. */
  objectCounts?: { read: number; skipped: number };
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
  problems(settings: S, pipeline: { params: readonly string[]; env: Readonly<Record<string, unknown>> | null; hasSample: boolean }): string[];
  /** Streams the source's items in order. Failures are StageFailures that say whether a try again may help. */
  read(settings: S, context: SourceReadContext): AsyncGenerator<SourceItem[], SourceRead>;
  /** What the report shows of it. */
  describe(settings: S, context: Pick<SourceReadContext, "runValues" | "watermark">): SourceDescription;
  /** Values to scrub from any message about it: the secrets it uses, as they are set. */
  secretValues(settings: S, env: Readonly<Record<string, unknown>>): string[];
  /** Settings that change how it reads but not what it gives: left out of the run's fingerprint. */
  tuningFields?: readonly string[];
  /** Whether it sends the watermark under a named parameter (`watermark.param`), as an HTTP query does. */
  watermarkParam?: boolean;
  /**
   * Splits a read between extract agents side by side (an object source: groups of objects in key order),
   * before anything is read. Without it, one agent reads the whole source.
   */
  plan?(settings: S, context: SourceReadContext): Promise<ReadPlan>;
  /**
   * After a run succeeded: what it read counts as read (the object ledger), with the runs whose extract
   * output it reused. A kind without a ledger has none.
   */
  commit?(settings: S, context: { env: Readonly<Record<string, unknown>>; pipeline: string; runIds: readonly string[] }): Promise<void>;
  /**
   * Takes a file for the source to read on its next run (`PUT …/uploads/<file>`), for kinds that read
   * files: where it was put, or an UploadRefused saying why the name does not fit.
   */
  upload?(settings: S, file: UploadedFile): Promise<StoredUpload>;
  /**
   * For kinds that read objects a notification can announce (`triggers.objects`): each object, in the
   * order given, as a run started now would find it (there as notified, changed, gone, read already, or
   * where this source does not read).
   */
  objectStates?(settings: S, context: ObjectStatesContext, objects: readonly { key: string; etag: string }[]): Promise<ObjectState[]>;
}

/** What `objectStates` is given: the Worker's bindings, and the values a run started now would fill the prefix with. */
export interface ObjectStatesContext {
  env: Readonly<Record<string, unknown>>;
  pipeline: string;
  runValues: Readonly<Record<string, string>>;
}

/** A kind as the list holds it: its settings' type erased (each kind checks its own). */
export type AnySourceKind = SourceKind<SourceSettingsBase, never>;

/** Lists a kind with its types checked against the interface; its schema's type stays (it types pipeline files). */
export function sourceKind<S extends SourceSettingsBase, Schema extends z.ZodType>(kind: SourceKind<S, z.output<Schema>> & { schema: Schema }): AnySourceKind & { schema: Schema } {
  return kind as unknown as AnySourceKind & { schema: Schema };
}

/** A file handed to a source over the API: its name (relative to the source's prefix) and bytes, streamed. */
export interface UploadedFile {
  env: Readonly<Record<string, unknown>>;
  name: string;
  body: ReadableStream<Uint8Array>;
  contentType: string | null;
  /** Placeholder values in the source's place, as of the upload (`{{slot.date}}` is today in the pipeline's zone). */
  runValues: Readonly<Record<string, string>>;
}

export interface StoredUpload {
  key: string;
  etag: string;
  size: number;
  uri: string;
}

/** A file name a source will not take: said as it is, answered 400. */
export class UploadRefused extends Error {
  override readonly name = "UploadRefused";
}
