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
  // Errors from runtimes and sources can carry URLs; whatever slipped past redaction upstream stops here.
  const line = redactText(JSON.stringify({ level, time: new Date().toISOString(), ...fields, runId: fields.runId ?? null, stage: fields.stage ?? null }));
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
