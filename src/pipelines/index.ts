import { registerPipelines } from "../engine/registry";
import readings from "./default/pipeline";
import orders from "./orders/pipeline";

/**
 * The pipelines this deployment runs. Adding one: a file like orders/pipeline.ts, a migration for its
 * table, and a line here (see the README, "Add a pipeline").
 */
export const PIPELINES = [readings, orders];

registerPipelines(...PIPELINES);
