import type { Pipeline } from "./define-pipeline";

/**
 * The pipelines this deployment runs, by name. Filled once from src/pipelines/index.ts; the benchmark's
 * and the tests' Workers add their own before anything runs.
 */
const pipelines = new Map<string, Pipeline>();

/** The seed's pipeline, which `/api/pipeline/*` serves. */
export const DEFAULT_PIPELINE = "default";

export function registerPipelines(...definitions: Pipeline[]): void {
  for (const definition of definitions) {
    const existing = pipelines.get(definition.name);
    if (existing && existing !== definition) throw new Error(`two pipelines are named ${JSON.stringify(definition.name)}`);
    pipelines.set(definition.name, definition);
  }
}

export function findPipeline(name: string): Pipeline | undefined {
  return pipelines.get(name);
}

/** In the order they were registered. */
export function allPipelines(): Pipeline[] {
  return [...pipelines.values()];
}
