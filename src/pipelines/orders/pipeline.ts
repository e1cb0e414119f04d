import { z } from "zod";
import { definePipeline } from "../../engine/define-pipeline";
import { skip } from "../../engine/outcomes";
import { KNOWN_CURRENCIES } from "./money";
import { ORDER_COLUMNS, Order, orderId, orderRow } from "./order-row";
import { ORDERS_SAMPLE_CSV } from "./sample";

/** What one run may be given: reload a single store (`{ "params": { "store": "berlin" } }`). */
const OrdersParams = z.object({
  /** Only this store's orders are loaded; the others are counted as skipped. */
  store: z.string().regex(/^[a-z0-9-]{1,40}$/, "must be a store code (lower-case letters, digits, dashes)").optional(),
});

/** Settings a deployment can change in ORDERS_CONFIG. */
const OrdersConfig = z.object({
  /** Stores whose orders are test traffic: counted as skipped, never loaded. */
  testStores: z.array(z.string()).default(["test"]),
});

/**
 * Orders from a CSV export, keyed by (store_id, order_id): money as integer cents, a signed net amount
 * and the order's UTC day derived, a refund that names no original order rejected, test stores skipped.
 * Hourly at minute 15, Berlin time, due 45 minutes later; ORDERS_SOURCE_URL points it at a real export.
 * A run may be limited to one store (`params.store`).
 */
export default definePipeline({
  name: "orders",
  description: "Point-of-sale orders from a CSV export, money in integer cents",
  schedule: { cron: "15 * * * *", timezone: "Europe/Berlin", deadline: "45m" },
  sources: [{ type: "sample" }],
  sample: { format: "csv", text: ORDERS_SAMPLE_CSV },
  vars: { config: "ORDERS_CONFIG", sourceUrl: { name: "ORDERS_SOURCE_URL", format: "csv" } },
  config: OrdersConfig,
  params: OrdersParams,
  record: Order,
  recordId: orderId,
  transform: (order, { config, params }) => {
    if (config.testStores.includes(order.store_id)) return skip();
    if (params.store !== undefined && order.store_id !== params.store) return skip();
    return orderRow(order);
  },
  destination: { table: "orders", key: ["store_id", "order_id"], columns: ORDER_COLUMNS },
  watermark: { column: "ordered_at" },
  // Before anything is written: an export with more than 5 % of its lines refused is a broken feed, not a
  // day's stray typos; a currency no store sells in is a feed gone wrong; a refund must name an order of
  // its own store, in this export or loaded before. An hour far below the usual size only alerts.
  checks: [
    { type: "reject_rate", max: 0.05 },
    { type: "accepted_values", column: "currency", values: KNOWN_CURRENCIES },
    { type: "relationship", name: "refund_has_order", columns: ["store_id", "original_order_id"], to: { pipeline: "orders", columns: ["store_id", "order_id"] } },
    { type: "row_count", usual: { atLeast: 0.2, runs: 24 }, severity: "warn" },
  ],
});
