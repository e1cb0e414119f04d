/**
 * The benchmark's synthetic records, shared by the local source server (which serves them as JSON,
 * NDJSON or CSV) and the raw-insert floor (which writes the same rows straight to D1).
 */
export interface SyntheticRecord {
  id: string;
  value: string;
  timestamp: number;
  metadata: { type: string };
}

export const BASE_TIME = 1_700_000_000_000;

export function syntheticRecord(index: number): SyntheticRecord {
  return { id: `r${index}`, value: String((index % 1_000) / 4), timestamp: BASE_TIME + index * 1_000, metadata: { type: `sensor-${index % 5}` } };
}

/** The row the pipeline loads for record `index`, as the raw insert writes it. */
export function syntheticRow(index: number) {
  const record = syntheticRecord(index);
  const value = Number(record.value);
  return {
    id: record.id,
    timestamp: new Date(record.timestamp).toISOString(),
    value,
    category: value < 100 ? ("low" as const) : value < 200 ? ("medium" as const) : ("high" as const),
    type: record.metadata.type,
  };
}

export const CSV_HEADER = "id,value,timestamp,type\n";

export function formatRecord(record: SyntheticRecord, format: "json" | "ndjson" | "csv"): string {
  switch (format) {
    case "json":
    case "ndjson":
      return JSON.stringify(record);
    case "csv":
      return `${record.id},${record.value},${record.timestamp},${record.metadata.type}`;
  }
}

/**
 * A point-of-sale line for the orders pipeline (its CSV columns); every tenth one a refund of the one before,
 * at the same store (the pipeline's refund_has_order check looks for it there).
 * Line `index` is ordered `stepMs` after the one before it (a second by default; `orderStepMs` spreads a run
 * over days, which the Parquet benchmark partitions by).
 */
export function syntheticOrder(index: number, stepMs = 1_000) {
  const refund = index % 10 === 9;
  return {
    store_id: `store-${(refund ? index - 1 : index) % 20}`,
    order_id: `o${index}`,
    kind: refund ? "refund" : "sale",
    amount: ((index % 5_000) / 100).toFixed(2),
    currency: "EUR",
    original_order_id: refund ? `o${index - 1}` : "",
    ordered_at: new Date(BASE_TIME + index * stepMs).toISOString(),
  };
}

/** The step between orders that spreads `count` of them evenly over `days` days. */
export function orderStepMs(count: number, days: number): number {
  return Math.max(1, Math.floor((days * 86_400_000) / Math.max(1, count)));
}

export const ORDERS_CSV_HEADER = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at\n";

export function formatOrder(index: number, stepMs = 1_000): string {
  return Object.values(syntheticOrder(index, stepMs)).join(",");
}

/** The row the orders pipeline loads for line `index`, in its columns' order. */
export function syntheticOrderRow(index: number, stepMs = 1_000) {
  const order = syntheticOrder(index, stepMs);
  const cents = index % 5_000;
  return {
    store_id: order.store_id,
    order_id: order.order_id,
    kind: order.kind,
    amount_cents: cents,
    net_cents: order.kind === "refund" ? -cents : cents,
    currency: order.currency,
    original_order_id: order.original_order_id === "" ? null : order.original_order_id,
    ordered_at: order.ordered_at,
    order_day: order.ordered_at.slice(0, 10),
  };
}

/**
 * The store-drops benchmark's files: file `file` of `files`, a CSV of orders with its header. Sizes vary
 * between `minRows` and `maxRows` (a fixed spread, the same in every run); lines are numbered across the
 * files, so every (store_id, order_id) is unique in the whole set.
 */
export function dropFileRows(file: number, minRows: number, maxRows: number): number {
  return minRows + ((file * 7_919) % (maxRows - minRows + 1));
}

export function dropFileText(first: number, rows: number): string {
  const lines: string[] = [ORDERS_CSV_HEADER];
  for (let index = first; index < first + rows; index += 1) lines.push(`${formatOrder(index)}\n`);
  return lines.join("");
}
