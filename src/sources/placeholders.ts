/**
 * `{{…}}` placeholders in a source's URL and headers, filled at request time:
 * - `{{NAME}}`: a secret the source declares. Its value is never stored with a run and never shown.
 * - `{{slot.date}}`, `{{slot.iso}}`, `{{slot.epochMs}}`: the moment the run's data is for (its slot, or
 *   when a run without one was triggered); `slot.date` is the day in the pipeline's time zone.
 * - `{{params.<name>}}`: one of the run's parameters.
 */
export const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}/g;

export const SLOT_FIELDS = ["date", "iso", "epochMs"] as const;

export function placeholderNames(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

/** A secret's placeholder is a plain name; the run's values are `slot.…` and `params.…`. */
export function isRunValue(name: string): boolean {
  return name.includes(".");
}

/** What is wrong with a run-value placeholder (`slot.month`, `run.id`), or null. */
export function runValueProblem(name: string, params: readonly string[] | null): string | null {
  const [scope, field] = name.split(".") as [string, string];
  if (scope === "slot") {
    return (SLOT_FIELDS as readonly string[]).includes(field) ? null : `{{${name}}} is not a slot value (use ${SLOT_FIELDS.map((entry) => `{{slot.${entry}}}`).join(", ")})`;
  }
  if (scope === "params") {
    if (params === null || params.includes(field)) return null;
    return `{{${name}}} is not a param of this pipeline (${params.length === 0 ? "it declares none" : `it declares ${params.join(", ")}`})`;
  }
  return `{{${name}}} is neither a secret, a slot value nor a param`;
}

/** Fills every placeholder with `value(name)`. */
export function fillPlaceholders(template: string, value: (name: string) => string): string {
  return template.replace(PLACEHOLDER, (_, name: string) => value(name));
}

/** The values `{{slot.*}}` and `{{params.*}}` stand for in one run. */
export function runValues(input: { asOf: number; timezone: string; params: Readonly<Record<string, unknown>> }): Record<string, string> {
  const values: Record<string, string> = {
    "slot.date": localDate(input.asOf, input.timezone),
    "slot.iso": new Date(input.asOf).toISOString(),
    "slot.epochMs": String(input.asOf),
  };
  for (const [name, value] of Object.entries(input.params)) values[`params.${name}`] = paramText(value);
  return values;
}

function paramText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return JSON.stringify(value);
}

/** YYYY-MM-DD of `at` in `timezone`. */
function localDate(at: number, timezone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date(at));
  const part = (type: string) => parts.find((entry) => entry.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}
