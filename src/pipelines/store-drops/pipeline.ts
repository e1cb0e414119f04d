import { definePipeline } from "../../engine/define-pipeline";
import { KNOWN_CURRENCIES } from "../orders/money";
import { ORDER_COLUMNS, Order, orderId, orderRow } from "../orders/order-row";

/**
 * CSV files of orders that stores upload to the UPLOADS bucket under drops/ (one file per store and day,
 * say), each read once: the object ledger remembers every file by key and etag, so a run reads only what
 * arrived since the last successful one, and a file uploaded again with new contents is read again.
 * Every 15 minutes, and 30 s after files stop landing (R2 event notifications through a Queue);
 * `npm run pipeline -- upload store-drops <file.csv>` drops a file in.
 */
export default definePipeline({
  name: "store-drops",
  description: "Order files stores upload to R2 (CSV under drops/), each read once",
  schedule: { every: "15m", timezone: "Europe/Berlin" },
  sources: [{ type: "r2", bucket: "UPLOADS", prefix: "drops/", match: "**/*.csv", format: "csv" }],
  // A file landing starts a run too: files dropped within 30 s of each other make one run. The bucket is
  // UPLOADS' name, as R2's event notifications give it (README, "Files landing start runs").
  triggers: { objects: { bucket: "scheduled-pipeline-uploads", prefix: "drops/", suffix: ".csv", debounce: "30s" } },
  record: Order,
  recordId: orderId,
  transform: orderRow,
  destination: { table: "store_drops", key: ["store_id", "order_id"], columns: ORDER_COLUMNS },
  // A file from a till set up wrong is held back whole, before any of it lands: a currency no store sells
  // in, or a quarter of its lines refused. Its objects stay unread in the ledger until a run loads them
  // (the file uploaded again, fixed, or a retry accepting the check).
  checks: [
    { type: "accepted_values", column: "currency", values: KNOWN_CURRENCIES },
    { type: "reject_rate", max: 0.25 },
  ],
});
