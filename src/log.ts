import { redactText } from "./domain/redaction";

/**
 * One structured JSON line per event, with the same keys everywhere, so Workers Logs (observability in
 * wrangler.jsonc) can filter by pipeline, run and stage: {"level","time","event","pipeline","runId","stage",…}.
 */
export type LogLevel = "info" | "warn" | "error";

export interface LogFields {
  event: string;
  pipeline: string | null;
  runId?: string | null;
  stage?: string | null;
  [field: string]: unknown;
}

export function logEvent(level: LogLevel, fields: LogFields): void {
  const line = JSON.stringify({ level, time: new Date().toISOString(), ...redacted(fields), runId: fields.runId ?? null, stage: fields.stage ?? null });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * Errors from runtimes and sources can carry URLs; whatever slipped past redaction upstream stops here.
 * Values are redacted before the line is serialised, so the line stays valid JSON.
 */
function redacted(value: unknown, depth = 0): any {
  if (typeof value === "string") return redactText(value);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redacted(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redacted(item, depth + 1)]));
}
