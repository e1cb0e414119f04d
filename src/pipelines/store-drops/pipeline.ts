import { definePipeline } from "../../engine/define-pipeline";
import { ORDER_COLUMNS, Order, orderId, orderRow } from "../orders/order-row";

/**
 * CSV files of orders that stores upload to the UPLOADS bucket under drops/ (one file per store and day,
 * say), each read once: the object ledger remembers every file by key and etag, so a run reads only what
 * arrived since the last successful one, and a file uploaded again with new contents is read again.
 * Every 15 minutes; `npm run pipeline -- upload store-drops <file.csv>` drops a file in.
 */
export default definePipeline({
  name: "store-drops",
  description: "Order files stores upload to R2 (CSV under drops/), each read once",
  schedule: { every: "15m", timezone: "Europe/Berlin" },
  sources: [{ type: "r2", bucket: "UPLOADS", prefix: "drops/", match: "**/*.csv", format: "csv" }],
  record: Order,
  recordId: orderId,
  transform: orderRow,
  destination: { table: "store_drops", key: ["store_id", "order_id"], columns: ORDER_COLUMNS },
});
