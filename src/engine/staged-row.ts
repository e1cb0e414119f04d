/**
 * A row between transform and load: an array, so it is small in the staging store and never collides
 * with a column's name. `[position, id, ...values in column order]`: the position keeps the run's order
 * (the first of two records with one key wins), the id names the record in duplicate reports.
 */
export type StagedRow = [position: number, id: string, ...values: unknown[]];

export function stagedRow(position: number, id: string, values: readonly unknown[]): StagedRow {
  return [position, id, ...values];
}

export const positionOf = (row: StagedRow): number => row[0];
export const idOf = (row: StagedRow): string => row[1];
export const valuesOf = (row: StagedRow): unknown[] => row.slice(2);
