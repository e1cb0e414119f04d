import type { Pipeline } from "../src/engine/define-pipeline";
import readings from "../src/pipelines/default/pipeline";
import ordersLake from "../src/pipelines/orders-lake/pipeline";
import ordersToPostgres from "../src/pipelines/orders-to-postgres/pipeline";
import storeDrops from "../src/pipelines/store-drops/pipeline";

/**
 * Three more pipelines for the benchmark's Worker, so `GET /api/pipelines` is measured with eight declared
 * (the five the deployment ships and these). Copies of the default pipeline under other names: the list asks each
 * one's scheduler and coordinator, which is the cost being measured.
 */
export const BENCH_EXTRA_PIPELINES: Pipeline[] = ["bench-a", "bench-b", "bench-c"].map((name) => ({ ...readings, name, vars: {} }));

/**
 * Bench-only copies of the pipelines the Parquet, store-drops and PostgreSQL scenarios run, declared only when the
 * server's BENCH_PIPELINES variable names them (so the other scenarios, `GET /api/pipelines` above all,
 * see the deployment as before). Each has a config variable of its own, which the benchmark sets (the
 * source, timeouts, tuning), and a place of its own: the definitions, record schemas, transforms and
 * destination kinds are the real ones.
 *
 * - bench-lake: orders-lake (orders CSV → Parquet, Hive partitions by order_day) into `bench/lake-orders`
 *   on LAKE, reading an http source given in BENCH_LAKE_CONFIG.
 * - bench-drops: store-drops (CSV files under a prefix of UPLOADS, the object ledger, several extract
 *   agents) reading `bench-drops/` into the store_drops table.
 * - bench-postgres: orders-to-postgres (orders CSV → `public.orders` through HYPERDRIVE), reading an http
 *   source given in BENCH_POSTGRES_CONFIG (orders-to-postgres has no config variable, and ORDERS_SOURCE_URL
 *   alone cannot raise the timeouts a million-line run needs). Its schedule is once a year, so no slot of
 *   the real one (minute 30 of every hour) starts a second run into the table while the benchmark counts it.
 */
export const BENCH_LAKE_PATH = "bench/lake-orders";
export const BENCH_DROPS_PREFIX = "bench-drops/";

const benchLake: Pipeline = {
  ...ordersLake,
  name: "bench-lake",
  vars: { config: "BENCH_LAKE_CONFIG" },
  destination: { ...ordersLake.destination, path: BENCH_LAKE_PATH } as Pipeline["destination"],
};

const benchDrops: Pipeline = {
  ...storeDrops,
  name: "bench-drops",
  vars: { config: "BENCH_DROPS_CONFIG" },
  sources: [{ type: "r2", bucket: "UPLOADS", prefix: BENCH_DROPS_PREFIX, match: "**/*.csv", format: "csv" }],
};

const benchPostgres: Pipeline = {
  ...ordersToPostgres,
  name: "bench-postgres",
  schedule: { cron: "0 0 1 1 *", timezone: "UTC" },
  vars: { config: "BENCH_POSTGRES_CONFIG" },
};

export const BENCH_SCENARIO_PIPELINES: Record<string, Pipeline> = { lake: benchLake, drops: benchDrops, postgres: benchPostgres };
