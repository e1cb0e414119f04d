import { createServer, type Server } from "node:http";
import { CSV_HEADER, formatOrder, formatRecord, ORDERS_CSV_HEADER, syntheticRecord } from "../../bench/synthetic.ts";

/**
 * A local source on 127.0.0.1 that generates `GET /records?n=<count>&format=json|ndjson|csv` on the fly,
 * (`&shape=orders`: the orders pipeline's CSV lines), writing in pieces and waiting for the socket to drain, so a million records never sit in memory here.
 */
export interface SyntheticSource {
  base: string;
  close(): Promise<void>;
}

export async function startSyntheticSource(): Promise<SyntheticSource> {
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const count = Number(url.searchParams.get("n") ?? "0");
    const format = (url.searchParams.get("format") ?? "json") as "json" | "ndjson" | "csv";
    const orders = url.searchParams.get("shape") === "orders";
    const type = { json: "application/json", ndjson: "application/x-ndjson", csv: "text/csv" }[format];
    response.writeHead(200, { "content-type": type });
    const write = (text: string) => (response.write(text) ? Promise.resolve() : new Promise<void>((resolve) => response.once("drain", () => resolve())));
    if (format === "json") await write("[");
    if (format === "csv") await write(orders ? ORDERS_CSV_HEADER : CSV_HEADER);
    for (let start = 0; start < count; start += 2_000) {
      let piece = "";
      for (let index = start; index < Math.min(count, start + 2_000); index += 1) {
        const text = orders ? formatOrder(index) : formatRecord(syntheticRecord(index), format);
        piece += format === "json" ? `${index === 0 ? "" : ","}${text}` : `${text}\n`;
      }
      await write(piece);
      if (response.destroyed) return;
    }
    response.end(format === "json" ? "]" : "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
