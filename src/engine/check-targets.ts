import type { PassTargets, TableLookups } from "./check-pass";
import type { Pipeline } from "./define-pipeline";

/** Where a place's rows are read for checks: given by the runtime (D1) or by the test kit (tables in memory). */
export type LookupPlace = (place: object) => { lookups: TableLookups; table: string } | null;

/**
 * The tables a pipeline's partitioned checks look values up in: a relationship's target (a table, or
 * another pipeline's destination), and the pipeline's own destination for a unique check whose columns
 * are not the upsert key (on the key, the upsert itself keeps the table unique).
 */
export function passTargets(pipeline: Pipeline, find: (name: string) => Pipeline | undefined, place: LookupPlace): PassTargets {
  return {
    key: pipeline.destination.key,
    relationship(check) {
      if ("table" in check.to) return place({ table: check.to.table });
      const other = find(check.to.pipeline);
      return other ? place(other.destination) : null;
    },
    unique(check) {
      const key = pipeline.destination.key;
      if (check.columns.length === key.length && check.columns.every((column) => key.includes(column))) return null;
      const own = place(pipeline.destination);
      return own ? { ...own, key } : null;
    },
  };
}
