import { z } from "zod";
import { definePipeline } from "../../engine/define-pipeline";
import { reject, skip } from "../../engine/outcomes";
import { AMOUNT, toCents } from "./money";
import { ORDERS_SAMPLE_CSV } from "./sample";

/** One line of a point-of-sale export. CSV carries text, so every field is checked as text. */
const Order = z.object({
  store_id: z.string().regex(/^[a-z0-9-]{1,40}$/, "must be a store code (lower-case letters, digits, dashes)"),
  order_id: z.string().min(1, "is empty").max(64),
  kind: z.enum(["sale", "refund"]),
  amount: z.string().regex(AMOUNT, 'must be an amount with at most two decimals, such as "19.99"'),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be a three-letter currency code"),
  original_order_id: z.string().max(64),
  ordered_at: z.iso.datetime({ offset: true, message: "must be an ISO-8601 date-time with a zone, such as 2026-11-28T09:15:00Z" }),
});

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
  recordId: (raw) => {
    const line = raw as { store_id?: unknown; order_id?: unknown } | null;
    return typeof line?.store_id === "string" && typeof line.order_id === "string" ? `${line.store_id}/${line.order_id}` : null;
  },
  transform: (order, { config, params }) => {
    if (config.testStores.includes(order.store_id)) return skip();
    if (params.store !== undefined && order.store_id !== params.store) return skip();
    if (order.kind === "refund" && order.original_order_id === "") return reject(`refund ${order.order_id} names no original order`);
    const cents = toCents(order.amount)!;
    const orderedAt = new Date(order.ordered_at);
    return {
      store_id: order.store_id,
      order_id: order.order_id,
      kind: order.kind,
      amount_cents: cents,
      net_cents: order.kind === "refund" ? -cents : cents,
      currency: order.currency,
      original_order_id: order.original_order_id === "" ? null : order.original_order_id,
      ordered_at: orderedAt.toISOString(),
      order_day: orderedAt.toISOString().slice(0, 10),
    };
  },
  destination: {
    table: "orders",
    key: ["store_id", "order_id"],
    columns: {
      store_id: "text",
      order_id: "text",
      kind: "text",
      amount_cents: "integer",
      net_cents: "integer",
      currency: "text",
      original_order_id: { type: "text", nullable: true },
      ordered_at: "text",
      order_day: "text",
    },
  },
  watermark: { column: "ordered_at" },
});
