/**
 * The job a user would write instead of a pipeline (issue 21's floor): one Worker request that fetches the
 * source, parses it, checks every record as the pipeline does, and upserts the rows with the fastest D1
 * write known (literal multi-row upserts, bench/literal-upsert.ts). No staging, no checkpoints, no run
 * record: what is left of a run when durability and accounting are taken away. It still counts what it
 * read, wrote and refused, so the benchmark can hold it to the same rows as the pipeline.
 *
 * Everything streams and nothing is held but the keys it must compare, so it fits a Worker's 128 MB at a
 * million records. The orders job reads its source twice: its dataset checks (reject rate, currencies, a
 * refund's order) must pass before the first row is written, and holding a million rows until then
 * would not fit; the second read writes.
 */
import { LiteralUpsert, type Literal, type PlainTable } from "./literal-upsert";

export interface WriteSizes {
  rowsPerStatement: number;
  statementsPerBatch: number;
}

export interface JobResult {
  read: number;
  written: number;
  rejected: number;
  skipped: number;
  /** The dataset checks' findings (orders only); `blocked` when one failed and nothing was written. */
  checks?: { rejectRate: number; unknownCurrencies: number; missingOrders: number; blocked: boolean };
}

/** The body's lines, without their line breaks, empty lines left out. */
export async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let carry = "";
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    const parts = (carry + text).split("\n");
    carry = parts.pop()!;
    for (const line of parts) if (line !== "") yield line;
  }
  if (carry !== "") yield carry;
}

// --- default: sensor readings ---

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export const METRICS_COPY: PlainTable = { table: "floor_metrics", columns: ["pipeline", "id", "timestamp", "value", "category", "type"], key: ["pipeline", "id"] };

/** A reading as the default pipeline checks it (id, numeric value, time, type), or null when it is refused. */
export function readingRow(id: unknown, rawValue: unknown, rawTime: unknown, type: unknown): Literal[] | null {
  if (typeof id !== "string" || id === "" || id.length > 256) return null;
  const value = typeof rawValue === "number" ? rawValue : typeof rawValue === "string" && DECIMAL.test(rawValue) ? Number(rawValue) : Number.NaN;
  if (!Number.isFinite(value)) return null;
  const ms = typeof rawTime === "number" ? rawTime : typeof rawTime === "string" ? (/^\d{1,16}$/.test(rawTime) ? Number(rawTime) : ISO_DATE.test(rawTime) ? Date.parse(rawTime) : Number.NaN) : Number.NaN;
  if (!Number.isInteger(ms) || ms < 0 || ms > 8.64e15) return null;
  if (type !== undefined && type !== null && typeof type !== "string") return null;
  const category = value < 100 ? "low" : value < 200 ? "medium" : "high";
  return ["default", id, new Date(ms).toISOString(), value, category, type === "" || type === undefined ? null : (type as string | null)];
}

/** The default pipeline's job: NDJSON, a JSON array or CSV; a repeated id is refused (the first one wins). */
export async function readingsJob(db: D1Database, body: ReadableStream<Uint8Array>, format: "ndjson" | "json" | "csv", sizes: WriteSizes): Promise<JobResult> {
  const writer = new LiteralUpsert(db, METRICS_COPY, sizes.rowsPerStatement, sizes.statementsPerBatch);
  const seen = new Set<string>();
  let read = 0;
  let rejected = 0;
  const take = async (row: Literal[] | null) => {
    read += 1;
    if (row === null || seen.has(row[1] as string)) {
      rejected += 1;
      return;
    }
    seen.add(row[1] as string);
    await writer.add(row);
  };
  const fromObject = (record: any) => (typeof record === "object" && record !== null ? readingRow(record.id, record.value, record.timestamp, record.metadata?.type) : null);
  if (format === "json") {
    for (const record of (await new Response(body).json()) as unknown[]) await take(fromObject(record));
  } else if (format === "ndjson") {
    for await (const line of lines(body)) {
      let record: unknown = null;
      try {
        record = JSON.parse(line);
      } catch {
        // an unparsable line is a refused record
      }
      await take(fromObject(record));
    }
  } else {
    let columns: number[] | null = null;
    for await (const line of lines(body)) {
      const fields = line.split(",");
      if (!columns) {
        columns = ["id", "value", "timestamp", "type"].map((name) => fields.indexOf(name));
        continue;
      }
      const [id, value, timestamp, type] = columns.map((index) => fields[index]);
      await take(readingRow(id, value, timestamp, type));
    }
  }
  return { read, written: await writer.finish(), rejected, skipped: 0 };
}

// --- orders: point-of-sale lines ---

export const ORDERS_COPY: PlainTable = { table: "floor_orders", columns: ["store_id", "order_id", "kind", "amount_cents", "net_cents", "currency", "original_order_id", "ordered_at", "order_day"], key: ["store_id", "order_id"] };
const KNOWN_CURRENCIES = new Set(["EUR", "CHF", "GBP", "PLN", "DKK", "SEK", "CZK", "USD"]);
const TEST_STORES = new Set(["test"]);
const MAX_REJECT_RATE = 0.05;
const STORE = /^[a-z0-9-]{1,40}$/;
const AMOUNT = /^(\d{1,12})(?:\.(\d{1,2}))?$/;
const CURRENCY = /^[A-Z]{3}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

type OrderLine = { row: Literal[] } | { skip: true } | null;

/** One CSV line as the orders pipeline checks it (store, order, kind, amount, currency, time; a refund names its order). */
export function orderLine(line: string): OrderLine {
  const [store, order, kind, amount, currency, original, orderedAt, extra] = line.split(",");
  if (extra !== undefined || orderedAt === undefined) return null;
  if (!STORE.test(store!) || order === "" || order!.length > 64 || (kind !== "sale" && kind !== "refund") || !CURRENCY.test(currency!) || original!.length > 64) return null;
  const money = AMOUNT.exec(amount!);
  if (!money || !DATE_TIME.test(orderedAt)) return null;
  const ms = Date.parse(orderedAt);
  if (Number.isNaN(ms)) return null;
  if (kind === "refund" && original === "") return null;
  if (TEST_STORES.has(store!)) return { skip: true };
  const cents = Number(money[1]) * 100 + Number((money[2] ?? "").padEnd(2, "0"));
  const iso = new Date(ms).toISOString();
  return { row: [store!, order!, kind, cents, kind === "refund" ? -cents : cents, currency!, original === "" ? null : original!, iso, iso.slice(0, 10)] };
}

/** A CSV body's lines after its header. */
async function* dataLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let header = true;
  for await (const line of lines(body)) {
    if (header) header = false;
    else yield line;
  }
}

const keyOf = (store: Literal, order: Literal) => `${store}\u0000${order}`;

/** The orders pipeline's job: its dataset checks on a first read, the rows written on a second. */
export async function ordersJob(db: D1Database, open: () => Promise<ReadableStream<Uint8Array>>, sizes: WriteSizes): Promise<JobResult> {
  // First read: every line checked, the keys kept (a repeat is refused, a refund must find its order).
  const keys = new Set<string>();
  const repeats = new Set<number>();
  const wanted: [string, string][] = [];
  let read = 0;
  let rejected = 0;
  let skipped = 0;
  let unknownCurrencies = 0;
  for await (const line of dataLines(await open())) {
    const position = read;
    read += 1;
    const parsed = orderLine(line);
    if (parsed === null) rejected += 1;
    else if ("skip" in parsed) skipped += 1;
    else {
      const [store, order, kind, , , currency, original] = parsed.row;
      const key = keyOf(store!, order!);
      if (keys.has(key)) {
        repeats.add(position);
        rejected += 1;
        continue;
      }
      keys.add(key);
      if (!KNOWN_CURRENCIES.has(currency as string)) unknownCurrencies += 1;
      if (kind === "refund") wanted.push([store as string, original as string]);
    }
  }
  // A refund's order is in this export or already loaded.
  const notInExport = wanted.filter(([store, order]) => !keys.has(keyOf(store, order)));
  let missingOrders = 0;
  for (let start = 0; start < notInExport.length; start += 40) {
    const some = notInExport.slice(start, start + 40);
    const found = await db.prepare(`SELECT count(*) AS n FROM ${ORDERS_COPY.table} WHERE (store_id, order_id) IN (VALUES ${some.map(() => "(?, ?)").join(",")})`).bind(...some.flat()).first<{ n: number }>();
    missingOrders += some.length - (found?.n ?? 0);
  }
  keys.clear();
  const rejectRate = read === 0 ? 0 : rejected / read;
  const blocked = rejectRate > MAX_REJECT_RATE || unknownCurrencies > 0 || missingOrders > 0;
  const checks = { rejectRate, unknownCurrencies, missingOrders, blocked };
  if (blocked) return { read, written: 0, rejected, skipped, checks };

  // Second read: the same lines again, the rows written.
  const writer = new LiteralUpsert(db, ORDERS_COPY, sizes.rowsPerStatement, sizes.statementsPerBatch);
  let position = 0;
  for await (const line of dataLines(await open())) {
    if (repeats.has(position++)) continue;
    const parsed = orderLine(line);
    if (parsed !== null && "row" in parsed) await writer.add(parsed.row);
  }
  return { read, written: await writer.finish(), rejected, skipped, checks };
}
