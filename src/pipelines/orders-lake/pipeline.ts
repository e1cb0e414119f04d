import { definePipeline } from "../../engine/define-pipeline";
import { skip } from "../../engine/outcomes";
import { ORDER_COLUMNS, Order, orderId, orderRow } from "../orders/order-row";
import { ORDERS_SAMPLE_CSV } from "../orders/sample";

/**
 * The same orders as the orders pipeline, kept as a Parquet dataset on the LAKE bucket for analytical
 * readers (DuckDB, Spark, R2 SQL): Hive partitions by order day (`lake/orders/order_day=2026-11-28/`), the
 * order time as a UTC timestamp, an upsert on (store_id, order_id) within a day. Hourly at minute 45,
 * Berlin time; it reads ORDERS_SOURCE_URL when that is set, its sample otherwise.
 */
export default definePipeline({
  name: "orders-lake",
  description: "Orders as a Parquet dataset on R2, partitioned by order day",
  schedule: { cron: "45 * * * *", timezone: "Europe/Berlin" },
  sources: [{ type: "sample" }],
  sample: { format: "csv", text: ORDERS_SAMPLE_CSV },
  vars: { sourceUrl: { name: "ORDERS_SOURCE_URL", format: "csv" } },
  record: Order,
  recordId: orderId,
  transform: (order) => (order.store_id === "test" ? skip() : orderRow(order)),
  destination: {
    type: "r2-parquet",
    bucket: "LAKE",
    path: "lake/orders",
    partitionBy: "order_day",
    key: ["store_id", "order_id"],
    columns: { ...ORDER_COLUMNS, ordered_at: "timestamp" },
  },
});
