import type { z } from "zod";
import type { DuplicatePolicy } from "../engine/define-pipeline";
import type { ColumnSettings } from "../engine/columns";
import type { StagedRow } from "../engine/staged-row";
import type { TableLookups } from "../engine/check-pass";

/**
 * The seam every destination kind plugs into: one folder under src/destinations/ exporting one
 * `DestinationKind`, listed once in src/destinations/index.ts. The load stage, the coordinator and the
 * settings only ever talk to this interface.
 */

/** What every destination's settings carry; a kind adds where it writes. Stored with each run. */
export interface DestinationSettingsBase {
  kind: string;
  /** The upsert key: one or more columns. */
  key: string[];
  columns: ColumnSettings[];
  duplicates: DuplicatePolicy;
  /** Where rows go, as runs and the API show it (`d1://<database>/<table>`, `r2://<bucket>/<path>`). */
  uri: string;
}

/** How a load goes: a stop signal looked at before each write, and word of each batch written. */
export interface WriteControl {
  /** Writes (statements) per round trip, where the kind batches them. */
  statementsPerBatch: number;
  /** A cancel or a stage timeout stops the load between batches, not only between chunks. */
  signal?: AbortSignal;
  /** After each batch committed: how many of its rows were written. Awaited: the caller may yield there. */
  written?: (rows: number) => void | Promise<void>;
  /**
   * The engine's own statements (a small run's rejected records, for its D1 database) to send in the same
   * transaction as the first rows; only given to a kind that says it `carriesCompanions`.
   */
  companions?: D1PreparedStatement[];
}

export interface WrittenChunk {
  loaded: number;
  /** Rows whose key an earlier record of the same run already took ("reject"), with that record's position. */
  duplicates: { row: StagedRow; first: number }[];
}

/** One load shard's writes into a destination, chunk by chunk in position order; finished once. */
export interface DestinationWriter {
  write(rows: readonly StagedRow[], control: WriteControl): Promise<WrittenChunk>;
  /** Everything written becomes visible (a kind that writes in place has nothing to do). */
  finish(control: WriteControl): Promise<void>;
}

/** What a kind is handed to write or count: the Worker's bindings, the run, the load shard. */
export interface DestinationContext {
  env: Readonly<Record<string, unknown>>;
  pipeline: string;
  runId: string;
  loadedAt: number;
  shard: number;
  shards: number;
  /** The load attempt (its files or tables are its own). */
  attempt: number;
  /** The run's slot day in the pipeline's zone (what `{ slot: "date" }` partitions by). */
  slotDate: string;
  /** The load agent's own SQLite, for a writer that gathers rows before it writes them (gone with the agent). */
  scratch: Scratch;
}

export interface DestinationKind<D extends DestinationSettingsBase = DestinationSettingsBase, Declared = never> {
  /** The `type` a pipeline file writes (`d1` when it writes none); also the settings' `kind`. */
  type: D["kind"];
  /** Where it writes, as declared: a zod object with `type: z.literal(type)`; key, columns and duplicates are common. */
  schema: z.ZodType;
  /** What the compiler cannot see in a declaration (names that reach SQL or object keys, columns it names). */
  problems(declared: Declared, columns: readonly string[]): string[];
  /** The declaration and the Worker's variables and bindings as settings, or what is missing. */
  resolve(declared: Declared, common: Omit<DestinationSettingsBase, "kind" | "uri">, env: Readonly<Record<string, unknown>>): { ok: true; settings: D } | { ok: false; errors: string[] };
  /** Its URI from the declaration alone, for a pipeline that does not resolve. */
  uriOf(declared: Declared, env: Readonly<Record<string, unknown>>): string;
  /** What a row is fitted against in messages: "metrics", "the dataset lake/orders". */
  label(settings: D): string;
  writer(settings: D, context: DestinationContext): DestinationWriter;
  /** How many rows (files' rows) of this run are in the destination: what a run that did not succeed wrote. */
  rowsOfRun(settings: D, context: Pick<DestinationContext, "env" | "pipeline" | "runId">): Promise<number>;
  /** After a failed write: what is wrong with the destination itself (a missing table), said so it can be fixed. */
  diagnose(settings: D, env: Readonly<Record<string, unknown>>): Promise<string | null>;
  /**
   * Before a load shard writes its first row: how the destination's actual shape differs from the
   * definition (a D1 table's columns, types, nullability, key), said with the migration that fixes it, or
   * null when it fits. A difference fails the load permanently, before anything is written. One small
   * round trip; absent for a kind that writes its own files.
   */
  verifyShape?(settings: D, context: Pick<DestinationContext, "env" | "pipeline">): Promise<string | null>;
  /**
   * For a kind that can hold a run's rows aside and publish them later in one step: a load that follows
   * transform (overlap) writes here while transform is still at work, and its rows reach the destination
   * only once the run's load turn comes (transform succeeded, the dataset checks let it through). Absent:
   * load waits for its turn.
   */
  staging?(settings: D, context: Pick<DestinationContext, "env" | "pipeline" | "runId" | "loadedAt">): StagedWrites;
  /** Whether it writes to the engine's D1 database, so bookkeeping statements can share its first batch. */
  carriesCompanions: boolean;
  /**
   * Which rows must meet in one load shard, beside every occurrence of a key: a kind that writes whole
   * partitions names the partition. Without it, rows are spread by key.
   */
  bucketKey?(settings: D, values: readonly unknown[], slotDate: string): string;
  /** A dataset's partitions and files as they are now (`GET …/dataset`), for kinds that write files. */
  contents?(settings: D, env: Readonly<Record<string, unknown>>): Promise<DatasetContents>;
  /** One of the dataset's files, streamed (`GET …/dataset/files/<key>`), or null when the dataset has no such file. */
  file?(settings: D, env: Readonly<Record<string, unknown>>, key: string): Promise<{ body: ReadableStream; size: number; contentType: string } | null>;
  /** A word for its writes in failures: "D1", "R2". */
  store: string;
  /**
   * For a kind whose rows can be looked up by value (dataset checks: a relationship into it, unique
   * against it): the table a declared place names, and its reader. Absent: checks see the batch only.
   */
  lookups?: { table(declared: Declared): string; reader(env: Readonly<Record<string, unknown>>): TableLookups };
}

/**
 * A run's rows held beside the destination (see DestinationKind.staging): written like the destination,
 * duplicates found the same way, invisible to readers of the destination until `publish`.
 */
export interface StagedWrites {
  /** An empty place for the run's rows (whatever an earlier try left there is gone). */
  open(): Promise<void>;
  /** Writes into it, as the destination's writer would into the destination. */
  writer: DestinationWriter;
  /** Moves every row into the destination (an upsert on the key: a repeat after a crash changes nothing), then removes the place. */
  publish(control: WriteControl): Promise<void>;
  /** Removes the place and whatever it holds (a run that ends without publishing); nothing there is fine. */
  discard(): Promise<void>;
}

/** A load agent's own SQLite, and a way to make many writes one transaction (one commit, not one per statement). */
export interface Scratch {
  sql: SqlStorage;
  transaction<T>(work: () => T): T;
}

/** A kind as the list holds it: its settings' type erased (each kind checks its own). */
export type AnyDestinationKind = DestinationKind<DestinationSettingsBase, never>;

/** Lists a kind with its types checked against the interface; its schema's type stays (it types pipeline files). */
export function destinationKind<D extends DestinationSettingsBase, Schema extends z.ZodType>(kind: DestinationKind<D, z.output<Schema>> & { schema: Schema }): AnyDestinationKind & { schema: Schema } {
  return kind as unknown as AnyDestinationKind & { schema: Schema };
}

/** A dataset as its manifests say it is now. */
export interface DatasetContents {
  uri: string;
  partitions: {
    /** The partition's folder (`order_day=2026-11-28`), "" for an unpartitioned dataset. */
    name: string;
    rows: number;
    /** The run whose load committed this version of it, and when. */
    runId: string;
    committedAt: number;
    files: { key: string; rows: number; bytes: number }[];
  }[];
}
