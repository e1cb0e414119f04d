import { z } from "zod";
import { definePipeline } from "../../engine/define-pipeline";
import { reject } from "../../engine/outcomes";

/** One store's day, as the rollup query answers it (D1 gives integers as numbers). */
const StoreDay = z.object({
  store_id: z.string(),
  order_day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date (YYYY-MM-DD)"),
  net_cents: z.number().int(),
  sales: z.number().int().nonnegative(),
  refunds: z.number().int().nonnegative(),
  currency: z.string(),
  currencies: z.number().int().positive(),
});

/** What one run may be given: the first day to roll up (default: the last `days` days up to the slot's). */
const RollupParams = z.object({
  since: z.iso.date({ message: "must be a date (YYYY-MM-DD)" }).optional(),
  days: z.number().int().min(1).max(366).default(7),
});

/**
 * Net revenue and order counts per store and day, rolled up from the `orders` table by a read-only D1
 * query (its values bound, its pages read by keyset on store and day). Each run rolls up the last `days`
 * days again, so an order loaded late still lands in its day; a store-day in two currencies cannot be
 * summed and is rejected.
 */
export default definePipeline({
  name: "orders-daily",
  description: "Net revenue and orders per store and day, rolled up from the orders table",
  schedule: { cron: "30 2 * * *", timezone: "Europe/Berlin", deadline: "2h" },
  // The day's rollup waits for every hourly orders slot of the day before (a time-and-data gate): at 02:30
  // if they are in, or as soon as the last one succeeds; still not in by the deadline, it alerts
  // upstream_late and is missed rather than publishing a day with hours missing.
  triggers: { after: [{ pipeline: "orders", slots: "day" }] },
  sources: [
    {
      type: "d1",
      database: "DB",
      query: `SELECT store_id, order_day,
         SUM(net_cents) AS net_cents,
         SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS sales,
         SUM(CASE WHEN kind = 'refund' THEN 1 ELSE 0 END) AS refunds,
         MIN(currency) AS currency,
         COUNT(DISTINCT currency) AS currencies
       FROM orders
       WHERE order_day >= COALESCE(?2, date(?1, '-' || (?3 - 1) || ' days')) AND order_day <= ?1
       GROUP BY store_id, order_day`,
      params: ["slot.date", "params.since", "params.days"],
      pageBy: ["store_id", "order_day"],
    },
  ],
  params: RollupParams,
  record: StoreDay,
  recordId: (raw) => {
    const day = raw as { store_id?: unknown; order_day?: unknown } | null;
    return typeof day?.store_id === "string" && typeof day.order_day === "string" ? `${day.store_id}/${day.order_day}` : null;
  },
  transform: (day) => {
    if (day.currencies > 1) return reject(`${day.store_id} sold in ${day.currencies} currencies on ${day.order_day}; a net amount across them means nothing`);
    return { store_id: day.store_id, order_day: day.order_day, net_cents: day.net_cents, sales: day.sales, refunds: day.refunds, currency: day.currency };
  },
  destination: {
    table: "orders_daily",
    key: ["store_id", "order_day"],
    columns: { store_id: "text", order_day: "text", net_cents: "integer", sales: "integer", refunds: "integer", currency: "text" },
    duplicates: "last-wins",
  },
  // One row per store and day (last-wins would otherwise hide a query that returns a day twice), and only
  // stores the orders table knows.
  checks: [
    { type: "unique", name: "one_row_per_store_day", columns: ["store_id", "order_day"] },
    { type: "relationship", name: "known_store", columns: ["store_id"], to: { pipeline: "orders", columns: ["store_id"] } },
  ],
});
