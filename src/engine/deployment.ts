import { checkPlace } from "../destinations";
import { StageFailure } from "../domain/failures";
import { checkSchedule, DEFAULT_SCHEDULE, parseInterval } from "../domain/schedule";
import { checkDefinition, type Pipeline } from "./define-pipeline";
import { SourceSchema, sourceKindOf, toSourceSettings } from "../sources";
import { paramNames } from "./params";
import { downstreamClosure, downstreamOf, graphProblems, type GraphNode } from "../domain/dependency-graph";
import { impliedCron, upstreamNames } from "./triggers";

/** The seed's pipeline, which `/api/pipeline/*` serves. */
export const DEFAULT_PIPELINE = "default";

/** A pipeline file whose definition cannot run, and why: shown by the API, the dashboard and `npm run check`. */
export interface InvalidDefinition {
  name: string;
  description: string;
  /** What the file declares, for display (it may itself be the problem). */
  declared: { cron: string | null; every: string | null; timezone: string; destination: unknown };
  errors: string[];
}

/**
 * A relationship check into another pipeline's destination needs that pipeline, and a destination whose
 * rows can be looked up (a D1 table; a Parquet dataset cannot be asked for one value).
 */
function relationshipProblems(definition: Pipeline, find: (name: string) => Pipeline | undefined): string[] {
  return (definition.checks ?? []).flatMap((check, index) => {
    if (check.type !== "relationship" || !("pipeline" in check.to)) return [];
    const target = find(check.to.pipeline);
    const label = `checks[${index}] (${check.name ?? "relationship"})`;
    if (!target) return [`${label}: to.pipeline names ${JSON.stringify(check.to.pipeline)}, which this deployment does not define`];
    const place = checkPlace(target.destination);
    if (!place.ok || !place.kind.lookups) return [`${label}: pipeline ${check.to.pipeline} writes where rows cannot be looked up (${place.ok ? place.kind.type : "an invalid destination"}); name a D1 table or pipeline`];
    const columns = new Set(Object.keys(target.destination.columns));
    const missing = check.to.columns.filter((column) => !columns.has(column));
    return missing.length > 0 ? [`${label}: pipeline ${check.to.pipeline}'s destination has no column ${missing.join(", ")}`] : [];
  });
}

/**
 * The pipelines this deployment runs, checked once when it loads. A definition with a mistake (a name
 * that cannot be a URL, a key that is not a column, a cron that does not parse, a bad source) does not
 * take the Worker down: it is set aside with its errors, and every other pipeline runs.
 */
export class Deployment {
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly rejected: InvalidDefinition[] = [];

  constructor(definitions: readonly Pipeline[]) {
    const accepted: Pipeline[] = [];
    for (const definition of definitions) {
      if (accepted.some((other) => other.name === definition.name)) this.reject(definition, [`two pipelines are named ${JSON.stringify(definition.name)}`]);
      else if (this.check(definition).length === 0) accepted.push(definition);
    }
    const known = new Set(definitions.map((definition) => String(definition.name)));
    // The graph is checked once every definition is in: an upstream may be declared after its downstream.
    const graph = graphProblems(accepted.map(nodeOf), (name) => known.has(name));
    const byName = new Map(definitions.map((definition) => [String(definition.name), definition]));
    for (const definition of accepted) {
      const problems = [...(graph.get(definition.name) ?? []), ...relationshipProblems(definition, (name) => byName.get(name))];
      if (problems.length > 0) this.reject(definition, problems);
      else this.accept(definition);
    }
  }

  /**
   * Adds a definition (the list's, or one a test or the benchmark runs beside them). Returns its
   * problems; a definition with any is kept aside as invalid.
   */
  add(definition: Pipeline): string[] {
    const existing = this.pipelines.get(definition.name);
    if (existing === definition || (existing && this.originals.get(existing) === definition)) return [];
    const errors = existing ? [`two pipelines are named ${JSON.stringify(definition.name)}`] : this.check(definition);
    const graph =
      errors.length === 0
        ? [
            ...(graphProblems([nodeOf(definition)], (name) => this.pipelines.has(name) || this.invalidNamed(name) !== undefined).get(definition.name) ?? []),
            ...relationshipProblems(definition, (name) => (name === definition.name ? definition : this.pipelines.get(name))),
          ]
        : [];
    if (errors.length === 0 && graph.length === 0) {
      this.accept(definition);
      return [];
    }
    this.reject(definition, [...errors, ...graph]);
    return [...errors, ...graph];
  }

  /** The pipelines that run after `name`'s slots, directly. */
  downstreamOf(name: string): string[] {
    return downstreamOf(this.graph(), name);
  }

  /** Every pipeline downstream of `name`, transitively, each after its upstreams. */
  downstreamClosure(name: string): string[] {
    return downstreamClosure(this.graph(), name);
  }

  /** Which pipeline runs after which, for the pipelines that run. */
  graph(): GraphNode[] {
    return this.all().map(nodeOf);
  }

  /** The definition as declared, for each one whose implied schedule was written in. */
  private readonly originals = new WeakMap<Pipeline, Pipeline>();

  private accept(definition: Pipeline): void {
    const running = withImpliedSchedule(definition);
    if (running !== definition) this.originals.set(running, definition);
    this.pipelines.set(definition.name, running);
  }

  /** A definition's own problems, before the graph is looked at. */
  private check(definition: Pipeline): string[] {
    const errors = definitionProblems(definition);
    if (errors.length > 0) this.reject(definition, errors);
    return errors;
  }

  private reject(definition: Pipeline, errors: string[]): void {
    this.rejected.push({
      name: String(definition.name),
      description: typeof definition.description === "string" ? definition.description : "",
      declared: {
        cron: definition.schedule?.cron ?? null,
        every: definition.schedule?.every ?? null,
        timezone: definition.schedule?.timezone ?? DEFAULT_SCHEDULE.timezone,
        destination: definition.destination,
      },
      errors: errors.map((error) => `pipeline ${JSON.stringify(definition.name)}: ${error}`),
    });
  }

  find(name: string): Pipeline | undefined {
    return this.pipelines.get(name);
  }

  /** The pipeline a run belongs to; a run of one removed from the code (or now invalid) cannot go on. */
  require(name: string): Pipeline {
    const pipeline = this.pipelines.get(name);
    if (pipeline) return pipeline;
    const invalid = this.invalidNamed(name);
    throw new StageFailure(invalid ? `the definition of pipeline ${name} is invalid: ${invalid.errors.join("; ")}` : `pipeline ${name} is no longer defined in this deployment`, "permanent");
  }

  /** The pipelines that run, in the order they were declared. */
  all(): Pipeline[] {
    return [...this.pipelines.values()];
  }

  /** The definitions set aside, in the order they were declared. */
  invalid(): readonly InvalidDefinition[] {
    return this.rejected;
  }

  invalidNamed(name: string): InvalidDefinition | undefined {
    return this.rejected.find((entry) => entry.name === name);
  }
}

function nodeOf(definition: Pipeline): GraphNode {
  return { name: definition.name, after: upstreamNames(definition.triggers) };
}

/** A definition whose schedule is implied by its triggers (midnight, for upstream days) with that schedule written in. */
function withImpliedSchedule(definition: Pipeline): Pipeline {
  const { schedule } = definition;
  if (schedule.cron !== undefined || schedule.every !== undefined) return definition;
  const cron = impliedCron(definition.triggers);
  return cron === null ? definition : { ...definition, schedule: { ...schedule, cron } };
}

/**
 * What the compiler could not catch in a definition: names that reach SQL and URLs, the schedule (cron
 * syntax, interval, time zone, deadline), each declared source.
 */
export function definitionProblems(pipeline: Pipeline): string[] {
  const problems = checkDefinition(pipeline);
  const schedule = pipeline.schedule ?? {};
  const intervalMs = schedule.every === undefined ? null : parseInterval(schedule.every);
  if (schedule.every !== undefined && intervalMs === null) problems.push(`schedule.every ${JSON.stringify(schedule.every)} is not a duration like "15m", "6h" or "1d"`);
  else if ((schedule.cron === undefined) !== (schedule.every === undefined)) {
    const check = checkSchedule({ ...DEFAULT_SCHEDULE, cron: schedule.cron ?? null, intervalMs, timezone: schedule.timezone ?? DEFAULT_SCHEDULE.timezone });
    if (!check.ok) problems.push(`schedule.${check.reason.startsWith("timezone") ? "timezone" : schedule.cron !== undefined ? "cron" : "every"}: ${check.reason}`);
  }
  for (const [index, source] of (pipeline.sources ?? []).entries()) {
    const checked = SourceSchema.safeParse(source);
    if (!checked.success) {
      problems.push(...checked.error.issues.map((issue) => `sources[${index}]${issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("")}: ${issue.message}`));
      continue;
    }
    // What the kind can tell from the definition alone (the Worker's bindings are checked when it runs).
    const settings = toSourceSettings(checked.data, index, 0);
    const context = { params: pipeline.params ? paramNames(pipeline) : [], env: null, hasSample: pipeline.sample !== undefined };
    problems.push(...sourceKindOf(settings).problems(settings, context).map((problem) => `sources[${index}].${problem}`));
  }
  return problems;
}
