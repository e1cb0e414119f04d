import { definePipeline } from "../../engine/define-pipeline";
import { skip } from "../../engine/outcomes";
import { ORDER_COLUMNS, Order, orderId, orderRow } from "../orders/order-row";
import { ORDERS_SAMPLE_CSV } from "../orders/sample";

/**
 * The same orders as the orders pipeline, upserted into a PostgreSQL table (`public.orders`) through the
 * HYPERDRIVE binding, the order time as timestamptz. Hourly at minute 30, Berlin time; it reads
 * ORDERS_SOURCE_URL when that is set, its sample otherwise. Without a configured database (`npm run dev`
 * with no local connection string) it shows as misconfigured: docs/postgres.md sets one up.
 */
export default definePipeline({
  name: "orders-to-postgres",
  description: "Orders upserted into a PostgreSQL table through Hyperdrive",
  schedule: { cron: "30 * * * *", timezone: "Europe/Berlin" },
  sources: [{ type: "sample" }],
  sample: { format: "csv", text: ORDERS_SAMPLE_CSV },
  vars: { sourceUrl: { name: "ORDERS_SOURCE_URL", format: "csv" } },
  record: Order,
  recordId: orderId,
  transform: (order) => (order.store_id === "test" ? skip() : orderRow(order)),
  destination: {
    type: "postgres",
    hyperdrive: "HYPERDRIVE",
    table: "orders",
    key: ["store_id", "order_id"],
    columns: { ...ORDER_COLUMNS, ordered_at: "timestamp" },
  },
});
