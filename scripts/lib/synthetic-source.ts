import { createServer, type Server, type ServerResponse } from "node:http";
import { CSV_HEADER, formatOrder, formatRecord, ORDERS_CSV_HEADER, orderStepMs, syntheticRecord } from "../../bench/synthetic.ts";

/**
 * A local source on 127.0.0.1 that serves `GET /records?n=<count>&format=json|ndjson|csv` (`&shape=orders`:
 * the orders pipeline's CSV lines; `&days=<d>` spreads their order times evenly over d days).
 *
 * Bodies stream: each request generates its records block by block as the reader takes them (waiting for
 * the socket to drain), so a run of 10,000,000 records (about 1 GB of NDJSON) never exists whole, in this
 * process or as one string. Generating a block costs far less than any reader spends on it (about
 * 2 million records a second here, against the fastest reader's quarter million), so the benchmark still
 * measures the pipeline reading a fast source, not this generator.
 *
 * `&rate=<records a second>` paces the body instead, the way a rate-limited API serves it: a block leaves
 * no earlier than its records' share of the time (blocks of a twentieth of a second's records), so a
 * reader of the source waits on it, and whatever else the machine has to do fits in those waits.
 */
export interface SyntheticSource {
  base: string;
  close(): Promise<void>;
}

/** Records generated per write: about 1 MiB of NDJSON. */
const BLOCK_RECORDS = 10_000;

export interface BodyRequest {
  count: number;
  format: "json" | "ndjson" | "csv";
  orders: boolean;
  days: number | null;
  /** Records a second the body is paced at; null: as fast as the reader takes it. */
  rate: number | null;
}

export function bodyRequest(url: URL): BodyRequest {
  const days = url.searchParams.get("days");
  const rate = url.searchParams.get("rate");
  return {
    count: Number(url.searchParams.get("n") ?? "0"),
    format: (url.searchParams.get("format") ?? "json") as BodyRequest["format"],
    orders: url.searchParams.get("shape") === "orders",
    days: days === null ? null : Number(days),
    rate: rate === null ? null : Number(rate),
  };
}

/** The body as consecutive pieces of text; joined, they are the whole body. */
export function* bodyBlocks({ count, format, orders, days }: BodyRequest, blockRecords = BLOCK_RECORDS): Generator<string> {
  const stepMs = days === null ? 1_000 : orderStepMs(count, days);
  let head = format === "json" ? "[" : format === "csv" ? (orders ? ORDERS_CSV_HEADER : CSV_HEADER) : "";
  for (let start = 0; start < count; start += blockRecords) {
    const pieces: string[] = [head];
    head = "";
    for (let index = start; index < Math.min(count, start + blockRecords); index += 1) {
      const text = orders ? formatOrder(index, stepMs) : formatRecord(syntheticRecord(index), format);
      pieces.push(format === "json" ? `${index === 0 ? "" : ","}${text}` : `${text}\n`);
    }
    yield pieces.join("");
  }
  const tail = format === "json" ? "]" : "";
  if (head + tail !== "") yield head + tail;
}

/** Until the response takes more (or is gone); whichever comes first removes the other's listener. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      response.off("drain", done).off("close", done);
      resolve();
    };
    response.on("drain", done).on("close", done);
  });
}

const CONTENT_TYPES = { json: "application/json", ndjson: "application/x-ndjson", csv: "text/csv" } as const;

export async function startSyntheticSource(): Promise<SyntheticSource> {
  const server: Server = createServer(async (request, response) => {
    const wanted = bodyRequest(new URL(request.url ?? "/", "http://localhost"));
    response.writeHead(200, { "content-type": CONTENT_TYPES[wanted.format] });
    const blockRecords = wanted.rate === null ? BLOCK_RECORDS : Math.max(1, Math.round(wanted.rate / 20));
    const started = performance.now();
    let sent = 0;
    for (const block of bodyBlocks(wanted, blockRecords)) {
      if (response.destroyed) return;
      if (wanted.rate !== null) {
        const due = started + (sent / wanted.rate) * 1_000;
        if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
        sent += blockRecords;
      }
      if (!response.write(block)) await drained(response);
    }
    response.end();
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
