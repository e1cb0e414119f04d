import { redactText } from "../domain/redaction";
import { levelOf, type EventName } from "./events";
import { LOG_LEVELS, type LogLevel } from "./log-levels";

/**
 * One structured JSON line per event, with the same keys everywhere, so Workers Logs (observability in
 * wrangler.jsonc) can filter by pipeline, run and stage: {"level","time","event","pipeline","runId","stage",…}.
 * The level comes from the event (events.ts).
 *
 * `LOG_LEVEL` (a Worker variable) sets the least level written: "info" by default. A run writes one info
 * line when it ends, with every stage's duration and counts; each step of the way (run and stage starts,
 * stage successes) is "debug". Every line costs: locally, `wrangler dev` takes each through the inspector,
 * which made per-step lines a quarter of a small run's time.
 */
export { LOG_LEVELS, type LogLevel };

function threshold(): number {
  const configured = typeof process === "undefined" ? undefined : process.env.LOG_LEVEL;
  const index = LOG_LEVELS.indexOf((configured ?? "info") as LogLevel);
  return index === -1 ? 1 : index;
}

export interface LogFields {
  pipeline: string | null;
  runId?: string | null;
  stage?: string | null;
  [field: string]: unknown;
}

export function logEvent(event: EventName, fields: LogFields): void {
  const level = levelOf(event);
  if (LOG_LEVELS.indexOf(level) < threshold()) return;
  // Workers' clock reads 0 while the Worker's modules load (a line said then has no time of its own).
  const now = Date.now();
  const line = JSON.stringify({ level, time: now > 0 ? new Date(now).toISOString() : null, event, ...redacted(fields), runId: fields.runId ?? null, stage: fields.stage ?? null });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else if (level === "debug") console.debug(line);
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
