import { createServer, type ServerResponse, type Server } from "node:http";

/**
 * A local HTTP source on 127.0.0.1 for scripts: serves whatever records the script sets, as a JSON array,
 * optionally dribbled out slowly so a run can be caught mid-extract.
 */
export interface SourceServer {
  url: string;
  /** What the next requests get. */
  serve(records: unknown[], options?: { slowMs?: number; status?: number }): void;
  /** Answers requests to `path` (query ignored) with a handler that writes the response itself. */
  route(path: string, handler: (response: ServerResponse) => Promise<void>): void;
  /** Every request's URL, as received. */
  readonly requests: string[];
  /** Requests whose body has started to go out. */
  readonly started: number;
  close(): Promise<void>;
}

export async function startSourceServer(): Promise<SourceServer> {
  let body = "[]";
  let slowMs = 0;
  let status = 200;
  let started = 0;
  const routes = new Map<string, (response: ServerResponse) => Promise<void>>();
  const requests: string[] = [];
  const server: Server = createServer(async (request, response) => {
    requests.push(request.url ?? "");
    const route = routes.get((request.url ?? "").split("?")[0]!);
    if (route) {
      await route(response);
      return;
    }
    if (!request.url?.startsWith("/records")) {
      response.writeHead(404).end();
      return;
    }
    if (status !== 200) {
      response.writeHead(status).end("unavailable");
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    started += 1;
    if (slowMs <= 0) {
      response.end(body);
      return;
    }
    const pieces = 50;
    const size = Math.ceil(body.length / pieces);
    for (let offset = 0; offset < body.length; offset += size) {
      if (response.destroyed) return;
      response.write(body.slice(offset, offset + size));
      await new Promise((resolve) => setTimeout(resolve, slowMs / pieces));
    }
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/records`,
    serve(records, options = {}) {
      body = JSON.stringify(records);
      slowMs = options.slowMs ?? 0;
      status = options.status ?? 200;
    },
    route(path, handler) {
      routes.set(path, handler);
    },
    requests,
    get started() {
      return started;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
