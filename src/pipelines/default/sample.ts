/**
 * The built-in source: exactly the seed example's four records. Timestamps are fixed so that loading the
 * sample twice writes identical rows.
 */
export const SAMPLE_RECORDS: readonly unknown[] = Object.freeze([
  { id: "rec-1", value: "100.5", timestamp: "2024-01-01T00:00:00.000Z", metadata: { type: "sensor-a" } },
  { id: "rec-2", value: "invalid", timestamp: "2024-01-01T00:01:00.000Z", metadata: { type: "sensor-b" } },
  { id: "rec-3", value: "250.75", timestamp: "2024-01-01T00:02:00.000Z", metadata: { type: "sensor-a" } },
  { id: "rec-4", value: "99.0", timestamp: "2024-01-01T00:03:00.000Z", metadata: { type: "sensor-c" } },
]);
