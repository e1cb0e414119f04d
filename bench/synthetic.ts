/**
 * The benchmark's synthetic records, shared by the local source server (which serves them as JSON,
 * NDJSON or CSV) and the raw-insert floor (which writes the same rows straight to D1).
 */
export interface SyntheticRecord {
  id: string;
  value: string;
  timestamp: number;
  metadata: { type: string };
}

export const BASE_TIME = 1_700_000_000_000;

export function syntheticRecord(index: number): SyntheticRecord {
  return { id: `r${index}`, value: String((index % 1_000) / 4), timestamp: BASE_TIME + index * 1_000, metadata: { type: `sensor-${index % 5}` } };
}

/** The row the pipeline loads for record `index`, as the raw insert writes it. */
export function syntheticRow(index: number) {
  const record = syntheticRecord(index);
  const value = Number(record.value);
  return {
    id: record.id,
    timestamp: new Date(record.timestamp).toISOString(),
    value,
    category: value < 100 ? ("low" as const) : value < 200 ? ("medium" as const) : ("high" as const),
    type: record.metadata.type,
  };
}

export const CSV_HEADER = "id,value,timestamp,type\n";

export function formatRecord(record: SyntheticRecord, format: "json" | "ndjson" | "csv"): string {
  switch (format) {
    case "json":
    case "ndjson":
      return JSON.stringify(record);
    case "csv":
      return `${record.id},${record.value},${record.timestamp},${record.metadata.type}`;
  }
}
