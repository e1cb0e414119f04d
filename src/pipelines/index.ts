import { Deployment } from "../engine/deployment";
import readings from "./default/pipeline";
import orders from "./orders/pipeline";
import ordersDaily from "./orders-daily/pipeline";
import storeDrops from "./store-drops/pipeline";
import ordersLake from "./orders-lake/pipeline";
import ordersToPostgres from "./orders-to-postgres/pipeline";
import customers from "./customers/pipeline";

/**
 * The pipelines this deployment runs. Adding one: a file like orders/pipeline.ts, a migration for its
 * table, and its name in this list (see the README, "Add a pipeline"). A definition with a mistake is set
 * aside with its errors when the deployment loads (and `npm run check` says so before a server starts);
 * the others run.
 */
export const PIPELINES = [readings, orders, ordersDaily, storeDrops, ordersLake, ordersToPostgres, customers];

export const deployment = new Deployment(PIPELINES);
