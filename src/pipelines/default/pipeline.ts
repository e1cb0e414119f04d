import { z } from "zod";
import { definePipeline } from "../../engine/define-pipeline";
import { reject } from "../../engine/outcomes";
import { rulesOf, ReadingsConfig } from "./config";
import { readField } from "./mapping";
import { MAX_ID_LENGTH, transformRecord } from "./readings";
import { SAMPLE_RECORDS } from "./sample";

/**
 * The seed's pipeline: sensor readings, validated and categorised low / medium / high by value, upserted
 * into `metrics` by (pipeline, id). Daily at 03:00 UTC on the seed's four sample records; a deployment
 * points it at a real source with PIPELINE_SOURCE_URL or PIPELINE_CONFIG.sources, changes its schedule
 * with PIPELINE_CRON, and its mapping, thresholds and rules with PIPELINE_CONFIG.
 */
export default definePipeline({
  name: "default",
  description: "Sensor readings, categorised low/medium/high by value (the seed example)",
  schedule: { cron: "0 3 * * *" },
  sources: [{ type: "sample" }],
  sample: { records: SAMPLE_RECORDS },
  vars: { config: "PIPELINE_CONFIG", cron: "PIPELINE_CRON", sourceUrl: "PIPELINE_SOURCE_URL" },
  config: ReadingsConfig,
  // The record checks depend on the deployment's field mapping and rules, so they run in the transform,
  // with the seed's own messages ("value \"invalid\" is not a number").
  record: z.unknown(),
  recordId: (raw, config) => idOf(raw, config.fields.id),
  transform: (raw, { pipeline, config }) => {
    const result = transformRecord(raw, { fields: config.fields, thresholds: config.thresholds, rules: rulesOf(config) });
    if (!result.ok) return reject(result.reason, { id: result.id });
    const { id, timestamp, value, category, type } = result.record;
    return { pipeline, id, timestamp, value, category, type };
  },
  destination: {
    table: "metrics",
    key: ["pipeline", "id"],
    columns: { pipeline: "text", id: "text", timestamp: "text", value: "real", category: "text", type: { type: "text", nullable: true } },
    duplicates: (config) => (config.validation.rejectDuplicates ? "reject" : "last-wins"),
  },
  watermark: { column: "timestamp" },
  csvColumns: (config) => [config.fields.id, config.fields.value, config.fields.timestamp],
});

/** A reading's id as the transform reads it, for naming records (null when it has none a row could have). */
function idOf(raw: unknown, path: string): string | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
  const field = readField(raw as Record<string, unknown>, path);
  if (!field.ok) return null;
  if (typeof field.value === "number" && Number.isSafeInteger(field.value)) return String(field.value);
  return typeof field.value === "string" && field.value.length > 0 && field.value.length <= MAX_ID_LENGTH ? field.value : null;
}
