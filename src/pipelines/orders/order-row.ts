import { z } from "zod";
import { isoInstant } from "../../domain/iso-instant";
import { reject } from "../../engine/outcomes";
import { AMOUNT, toCents } from "./money";

/**
 * One order line of a point-of-sale export, and the row it becomes: shared by the pipelines that read
 * orders (orders from a feed, store-drops from files stores upload).
 */

/** One line of a point-of-sale export. CSV carries text, so every field is checked as text. */
export const Order = z.object({
  store_id: z.string().regex(/^[a-z0-9-]{1,40}$/, "must be a store code (lower-case letters, digits, dashes)"),
  order_id: z.string().min(1, "is empty").max(64),
  kind: z.enum(["sale", "refund"]),
  amount: z.string().regex(AMOUNT, 'must be an amount with at most two decimals, such as "19.99"'),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be a three-letter currency code"),
  original_order_id: z.string().max(64),
  ordered_at: z.iso.datetime({ offset: true, message: "must be an ISO-8601 date-time with a zone, such as 2026-11-28T09:15:00Z" }),
});

/** How an order line is named in rejections: `<store>/<order>`. */
export function orderId(raw: unknown): string | null {
  const line = raw as { store_id?: unknown; order_id?: unknown } | null;
  return typeof line?.store_id === "string" && typeof line.order_id === "string" ? `${line.store_id}/${line.order_id}` : null;
}

/** Money as integer cents, a signed net amount and the order's UTC day; a refund that names no original order is rejected. */
export function orderRow(order: z.output<typeof Order>) {
  if (order.kind === "refund" && order.original_order_id === "") return reject(`refund ${order.order_id} names no original order`);
  const cents = toCents(order.amount)!;
  const orderedAt = isoInstant(Date.parse(order.ordered_at));
  return {
    store_id: order.store_id,
    order_id: order.order_id,
    kind: order.kind,
    amount_cents: cents,
    net_cents: order.kind === "refund" ? -cents : cents,
    currency: order.currency,
    original_order_id: order.original_order_id === "" ? null : order.original_order_id,
    ordered_at: orderedAt,
    order_day: orderedAt.slice(0, 10),
  };
}

/** An order's columns in a destination. */
export const ORDER_COLUMNS = {
  store_id: "text",
  order_id: "text",
  kind: "text",
  amount_cents: "integer",
  net_cents: "integer",
  currency: "text",
  original_order_id: { type: "text", nullable: true },
  ordered_at: "text",
  order_day: "text",
} as const;
