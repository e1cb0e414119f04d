import type { ParamValue, RunParams } from "../domain/run";
import type { Pipeline } from "./define-pipeline";

/**
 * A run's parameters, checked against the pipeline's `params` schema: unknown names are refused (a typo
 * must not silently fall back to a default), and every problem names its field as `params.<path>`.
 */
export type ParamsCheck = { ok: true; params: RunParams } | { ok: false; problems: { field: string; message: string }[] };

/** At most this many problems are reported for one request. */
const MAX_PROBLEMS = 10;

export function checkParams(pipeline: Pipeline, input: Readonly<Record<string, unknown>> | undefined): ParamsCheck {
  const given = input ?? {};
  const declared = paramNames(pipeline);
  const unknown = Object.keys(given).filter((name) => !declared.includes(name));
  if (unknown.length > 0) {
    const takes = declared.length === 0 ? `pipeline ${pipeline.name} takes no params` : `pipeline ${pipeline.name} takes ${declared.join(", ")}`;
    return { ok: false, problems: unknown.slice(0, MAX_PROBLEMS).map((name) => ({ field: `params.${name}`, message: `is not a param: ${takes}` })) };
  }
  if (!pipeline.params) return { ok: true, params: {} };
  const parsed = pipeline.params.safeParse(given);
  if (parsed.success) {
    const params = asJson(parsed.data);
    const nested = Object.entries(params).filter(([, value]) => !isParamValue(value));
    if (nested.length === 0) return { ok: true, params: params as RunParams };
    return { ok: false, problems: nested.map(([name]) => ({ field: `params.${name}`, message: "must be a string (valid Unicode), number, boolean, null or a list of them" })) };
  }
  return {
    ok: false,
    problems: parsed.error.issues.slice(0, MAX_PROBLEMS).map((issue) => ({ field: ["params", ...issue.path.map(String)].join("."), message: issue.message })),
  };
}

/** Params travel as JSON (between agents, in the run document): what a schema outputs is kept as JSON would keep it. */
function asJson(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value ?? {})) as Record<string, unknown>;
}

function isScalar(value: unknown): boolean {
  if (typeof value === "string") return value.isWellFormed();
  return value === null || typeof value === "number" || typeof value === "boolean";
}

function isParamValue(value: unknown): value is ParamValue {
  return isScalar(value) || (Array.isArray(value) && value.every(isScalar));
}

/** The params a scheduled run gets: the schema's defaults. */
export function defaultParams(pipeline: Pipeline): RunParams {
  const checked = checkParams(pipeline, {});
  // checkDefinition refuses a params schema without defaults for everything, so this holds.
  return checked.ok ? checked.params : {};
}

/** The names the pipeline's params schema declares. */
export function paramNames(pipeline: Pipeline): string[] {
  return Object.keys((pipeline.params as unknown as { shape?: RunParams } | undefined)?.shape ?? {});
}
