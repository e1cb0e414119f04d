import { createServer, type Server } from "node:http";
import { CSV_HEADER, formatOrder, formatRecord, ORDERS_CSV_HEADER, orderStepMs, syntheticRecord } from "../../bench/synthetic.ts";

/**
 * A local source on 127.0.0.1 that serves `GET /records?n=<count>&format=json|ndjson|csv` (`&shape=orders`:
 * the orders pipeline's CSV lines; `&days=<d>` spreads their order times evenly over d days). Each body is
 * generated once, the first time it is asked for, and then served from memory in 1 MiB writes, so the
 * benchmark measures the pipeline reading a fast source, not this generator.
 */
export interface SyntheticSource {
  base: string;
  /** Generates a body ahead of the run that reads it. */
  prepare(path: string): void;
  close(): Promise<void>;
}

const WRITE_BYTES = 1 << 20;

function generate(count: number, format: "json" | "ndjson" | "csv", orders: boolean, days: number | null): Buffer {
  const stepMs = days === null ? 1_000 : orderStepMs(count, days);
  const pieces: string[] = [];
  if (format === "json") pieces.push("[");
  if (format === "csv") pieces.push(orders ? ORDERS_CSV_HEADER : CSV_HEADER);
  for (let index = 0; index < count; index += 1) {
    const text = orders ? formatOrder(index, stepMs) : formatRecord(syntheticRecord(index), format);
    pieces.push(format === "json" ? `${index === 0 ? "" : ","}${text}` : `${text}\n`);
  }
  if (format === "json") pieces.push("]");
  return Buffer.from(pieces.join(""));
}

export async function startSyntheticSource(): Promise<SyntheticSource> {
  const bodies = new Map<string, Buffer>();
  const bodyFor = (path: string): Buffer => {
    const url = new URL(path, "http://localhost");
    const key = url.search;
    let body = bodies.get(key);
    if (!body) {
      const count = Number(url.searchParams.get("n") ?? "0");
      const format = (url.searchParams.get("format") ?? "json") as "json" | "ndjson" | "csv";
      const days = url.searchParams.get("days");
      body = generate(count, format, url.searchParams.get("shape") === "orders", days === null ? null : Number(days));
      bodies.clear(); // one body at a time: a million records is about 100 MB
      bodies.set(key, body);
    }
    return body;
  };
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const format = (url.searchParams.get("format") ?? "json") as "json" | "ndjson" | "csv";
    const body = bodyFor(request.url ?? "/");
    response.writeHead(200, { "content-type": { json: "application/json", ndjson: "application/x-ndjson", csv: "text/csv" }[format] });
    for (let start = 0; start < body.length; start += WRITE_BYTES) {
      const piece = body.subarray(start, start + WRITE_BYTES);
      if (!response.write(piece)) await new Promise<void>((resolve) => response.once("drain", () => resolve()));
      if (response.destroyed) return;
    }
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    prepare: (path) => void bodyFor(path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
