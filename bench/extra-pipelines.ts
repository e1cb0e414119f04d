import type { Pipeline } from "../src/engine/define-pipeline";
import readings from "../src/pipelines/default/pipeline";

/**
 * Three more pipelines for the benchmark's Worker, so `GET /api/pipelines` is measured with five declared
 * (the two examples and these). Copies of the default pipeline under other names: the list asks each
 * one's scheduler and coordinator, which is the cost being measured.
 */
export const BENCH_EXTRA_PIPELINES: Pipeline[] = ["bench-a", "bench-b", "bench-c"].map((name) => ({ ...readings, name, vars: {} }));
