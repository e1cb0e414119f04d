/**
 * The CLI's own parts, in plain Node: parameters from `--param`, how runs and tables read, and the exit
 * codes for usage errors and an API that is not there. (scripts/cli-test.ts runs every command against a
 * real `wrangler dev`.)
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { cli } from "./run-cli";
import { EXIT } from "../../src/cli/exit-codes";
import { table } from "../../src/cli/format";
import { count, duration, relative, time } from "../../src/display/format";
import { parseParams } from "../../src/cli/params";
import { runLines } from "../../src/cli/progress";
import { startRun, stageStarted, stageSucceeded, stageProgressed, stageTakenUp } from "../../src/domain/run";
import { toRunView } from "../../src/domain/run-view";



describe("--param", () => {
  it("types JSON-looking values and keeps the rest as text", () => {
    expect(parseParams(["region=eu", "factor=2.5", "dry=true", "tags=[\"a\",\"b\"]", "empty=", "note=a=b", "id=007x"])).toEqual({ region: "eu", factor: 2.5, dry: true, tags: ["a", "b"], empty: "", note: "a=b", id: "007x" });
    expect(parseParams([])).toBeNull();
    expect(parseParams(["account=12345678901234567890", "small=42"])).toEqual({ account: "12345678901234567890", small: 42 });
  });

  it("refuses a pair without a name", () => {
    expect(() => parseParams(["=1"])).toThrow('--param takes name=value, got "=1"');
    expect(() => parseParams(["region"])).toThrow("--param takes name=value");
  });
});

describe("formatting", () => {
  it("aligns tables and spells out times, durations and counts", () => {
    expect(table(["A", "LONGER"], [["xyz", 1], [null, "two"]])).toBe("A    LONGER\nxyz  1\n-    two");
    expect(time(Date.parse("2026-11-28T03:00:00.123Z"))).toBe("2026-11-28 03:00:00Z");
    // On a pipeline's clock, with the offset: a New York slot reads as New York's 03:00.
    expect(time(Date.parse("2026-11-28T08:00:00Z"), "America/New_York")).toBe("2026-11-28 03:00:00-05:00");
    expect([850, 3_200, 252_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(duration)).toEqual(["850 ms", "3.2 s", "4m 12s", "2h 05m", "3d 04h"]);
    expect(count(1234567)).toBe("1,234,567");
    expect(relative(10_000, 5_000)).toBe("in 5.0 s");
    expect(relative(5_000, 10_000)).toBe("5.0 s ago");
  });

  it("shows a run's stages with records so far, a rate and the time taken", () => {
    const run = startRun({ runId: "manual-1", pipeline: "default", trigger: "manual", scheduledFor: null, destination: "d1://db/t", now: 0 });
    const extracted = stageSucceeded(stageStarted(run, "extract", 0), "extract", { inputCount: 20_000, outputCount: 20_000, rejectedCount: 0, output: [], rejected: { keys: [], counts: [], count: 0 }, rejectedSample: [] }, 2_000);
    const transforming = stageProgressed(stageStarted(extracted, "transform", 2_000), "transform", { inputCount: 5_000, outputCount: 5_000, rejectedCount: 0 }, 3_000);
    expect(runLines(toRunView(transforming), 4_500)).toEqual([
      "manual-1 · default · manual · running · 4.5 s",
      "  extract    succeeded           20,000 read     10,000/s    2.0 s",
      "  transform  running              5,000 rows      2,000/s    2.5 s",
      "  load       pending",
    ]);
  });

  it("says a stage that followed the one before it started ahead, and rates it over all the time it worked", () => {
    const run = startRun({ runId: "manual-2", pipeline: "default", trigger: "manual", scheduledFor: null, destination: "d1://db/t", now: 0 });
    const extracted = stageSucceeded(stageStarted(run, "extract", 0), "extract", { inputCount: 20_000, outputCount: 20_000, rejectedCount: 0, output: [], rejected: { keys: [], counts: [], count: 0 }, rejectedSample: [] }, 2_000);
    const followed = stageTakenUp(stageStarted(extracted, "transform", 2_000), "transform", 500);
    const transformed = stageSucceeded(followed, "transform", { inputCount: 20_000, outputCount: 20_000, rejectedCount: 0, output: [], rejected: { keys: [], counts: [], count: 0 }, rejectedSample: [] }, 2_500);
    expect(transformed.stages[1]).toMatchObject({ startTime: 2_000, durationMs: 500, aheadMs: 1_500 });
    expect(runLines(toRunView(transformed), 3_000)[2]).toBe("  transform  succeeded           20,000 rows     10,000/s   500 ms  started 1.5 s ahead");
  });
});

/** A local HTTP server answering every request with `status` and `body`, as a proxy in front of the API might. */
async function answering(status: number, body: string, type = "text/html"): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer: createHttpServer } = await import("node:http");
  const server = createHttpServer((_request, response) => response.writeHead(status, { "content-type": type }).end(body));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("exit codes", () => {
  it("3 when an access gate answers 401 or 403 in HTML, or the address is not this API at all", async () => {
    for (const status of [401, 403]) {
      const gate = await answering(status, "<html>Sign in</html>");
      const result = await cli(["list"], { PIPELINE_API_URL: gate.url });
      expect(result.code).toBe(EXIT.unreachable);
      expect(result.stderr).toContain(`not authorised by the API at ${gate.url}: HTTP ${status} (set PIPELINE_API_TOKEN to the API's token)`);
      await gate.close();
    }
    const elsewhere = await answering(200, "<html>a blog</html>");
    const result = await cli(["list"], { PIPELINE_API_URL: elsewhere.url });
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toContain("with a body that is not JSON (is PIPELINE_API_URL this service's address?)");
    await elsewhere.close();
  });

  it("2 for a usage error, 0 for help", async () => {
    expect((await cli(["frobnicate"])).code).toBe(EXIT.usage);
    expect((await cli(["backfill", "default", "--from", "2026-11-01"])).stderr).toContain("required option '--to <time>' not specified");
    expect((await cli(["backfill", "default", "--from", "a", "--to", "b", "--reprocess", "some"])).code).toBe(EXIT.usage);
    const help = await cli(["--help"]);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain("Usage: pipeline");
  });

  it("3 when nothing answers at PIPELINE_API_URL, saying where it looked", async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const result = await cli(["list"], { PIPELINE_API_URL: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toBe(`error: cannot reach the API at http://127.0.0.1:${port}: connection refused (set PIPELINE_API_URL, or start it with npm run dev)\n`);
  });
});

/** A local server whose every answer `handle` writes, to play a server that misbehaves. */
async function serving(handle: (request: import("node:http").IncomingMessage, response: import("node:http").ServerResponse) => void) {
  const { createServer: createHttpServer } = await import("node:http");
  const server = createHttpServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const run = (fields: Record<string, unknown> = {}) => ({ ...toRunView(startRun({ runId: "manual-1", pipeline: "default", trigger: "manual", scheduledFor: null, destination: "d1://db/t", now: 0 })), ...fields });

describe("a server that cannot be trusted", () => {
  it("never gets control characters onto the terminal: ESC sequences, OSC titles and links, C1 codes and bidi overrides are shown escaped", async () => {
    const hostile = "\u001b[2J\u001b]0;owned\u0007\u001b]8;;https://evil.test\u001b\\link\u001b]8;;\u001b\\\u009b31m\u202eabc\u007f";
    const server = await serving((_request, response) => {
      const failed = { ...run({ status: "failed", error: `load stage failed: ${hostile}`, rejected: [{ id: hostile, stage: "transform", reason: `bad ${hostile}` }], rejectedCount: 1 }) };
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(failed));
    });
    for (const args of [["status", "manual-1"], ["--json", "status", "manual-1"]]) {
      const result = await cli(args, { PIPELINE_API_URL: server.url });
      expect(result.code).toBe(EXIT.failed);
      expect(result.stdout + result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
      expect(result.stdout).toContain("\\u001b[2J");
    }
    // The JSON stays JSON, meaning what the server sent.
    const json = await cli(["--json", "status", "manual-1"], { PIPELINE_API_URL: server.url });
    expect((JSON.parse(json.stdout) as { error: string }).error).toBe(`load stage failed: ${hostile}`);
    await server.close();
  });

  it("escapes control characters in the API's error messages and in table cells", async () => {
    const server = await serving((request, response) => {
      if (request.url?.startsWith("/api/pipelines/default/history")) {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ summary: { totalRuns: 1, succeeded: 0, failed: 1, skipped: 0, cancelled: 0, running: 0, successRate: 0, averageDurationMs: null, lastRunAt: null }, runs: [run({ pipelineId: "a\u001b[31m\nb" })], nextCursor: null }));
        return;
      }
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "x", message: "no \u001b]0;title\u0007 here" }] }));
    });
    const history = await cli(["history"], { PIPELINE_API_URL: server.url });
    expect(history.stdout).toContain("a\\u001b[31m\\nb");
    const missing = await cli(["status", "nope"], { PIPELINE_API_URL: server.url });
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toBe("error: no \\u001b]0;title\\u0007 here (x)\n");
    await server.close();
  });

  it("stops reading an answer over 16 MiB and exits 3, saying so (the CLI's memory stays small)", async () => {
    const piece = Buffer.alloc(1024 * 1024, 0x20);
    const server = await serving((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write("[");
      let sent = 0;
      const more = () => {
        while (sent < 800 && response.write(piece)) sent += 1;
        if (sent < 800) response.once("drain", more);
        else response.end("]");
      };
      more();
    });
    const result = await cli(["list"], { PIPELINE_API_URL: server.url });
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toBe(`error: GET /api/pipelines at ${server.url} answered with more than 16 MiB; the CLI stopped reading (is PIPELINE_API_URL this service's address?)\n`);
    await server.close();
  });

  it("exits 3 naming what timed out when a server never answers, or never finishes its answer", async () => {
    const silent = await serving(() => undefined);
    const noAnswer = await cli(["list"], { PIPELINE_API_URL: silent.url, PIPELINE_API_TIMEOUT_MS: "300" });
    expect(noAnswer.code).toBe(EXIT.unreachable);
    expect(noAnswer.stderr).toBe(`error: GET /api/pipelines at ${silent.url} did not answer within 300 ms (is the service up and PIPELINE_API_URL its address?)\n`);
    await silent.close();
    const stalling = await serving((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"pipelines": [');
    });
    const unfinished = await cli(["list"], { PIPELINE_API_URL: stalling.url, PIPELINE_API_TIMEOUT_MS: "300" });
    expect(unfinished.code).toBe(EXIT.unreachable);
    expect(unfinished.stderr).toContain("did not finish its answer within");
    await stalling.close();
  });

  it("exits 1 with a clear message on an answer of an unexpected shape", async () => {
    const server = await serving((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ pipelines: [{ name: "x", description: "", state: "ready", problems: [], schedule: null, destination: "d1://db/x", params: null, lastRun: null }] }));
    });
    const result = await cli(["list"], { PIPELINE_API_URL: server.url });
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toMatch(/^error: GET \/api\/pipelines at .* answered in a shape this CLI does not know \(pipelines\.0\.schedule: .*\); is the CLI from the same version as the service\?\n$/);
    await server.close();
  });

  it("follows a redirect within the API's origin, and never one to another origin (exit 3, naming where, token unsent)", async () => {
    const seen: (string | undefined)[] = [];
    const elsewhere = await serving((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ pipelines: [] }));
    });
    const api = await serving((request, response) => {
      if (request.url === "/api/pipelines") response.writeHead(302, { location: "/api/pipelines/" }).end();
      else if (request.url === "/api/pipelines/") response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ pipelines: [] }));
      else response.writeHead(307, { location: `${elsewhere.url}/steal?token=abc123secret` }).end();
    });
    const within = await cli(["list"], { PIPELINE_API_URL: api.url, PIPELINE_API_TOKEN: "t0ken" });
    expect(within.code).toBe(EXIT.ok);
    const away = await cli(["history"], { PIPELINE_API_URL: api.url, PIPELINE_API_TOKEN: "t0ken" });
    expect(away.code).toBe(EXIT.unreachable);
    expect(away.stderr).toContain(`redirected to ${elsewhere.url}/steal?token=***, another origin; not followed`);
    expect(seen).toEqual([]);
    await api.close();
    await elsewhere.close();
  });
});

describe("found by review", () => {
  it("never requests a server-given path that leaves the API's origin (a statusUrl of \".evil.example/steal\"), nor sends the token there", async () => {
    const api = await serving((request, response) => {
      if (request.method === "POST") {
        response.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ backfillId: "bf-1", pipeline: "default", status: "running", slots: [1], timezone: "UTC", slotsLocal: ["1970-01-01T00:00:00Z"], toRun: 1, skipped: 0, statusUrl: ":1/steal" }));
      } else response.writeHead(500).end();
    });
    const result = await cli(["backfill", "default", "--from", "2026-11-01", "--to", "2026-11-02", "--wait"], { PIPELINE_API_URL: api.url, PIPELINE_API_TOKEN: "t0ken" });
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toBe(`error: GET :1/steal: not a path of the API at ${api.url}; not requested\n`);
    await api.close();
  });
});

describe("event", () => {
  const event = (fields: Record<string, unknown> = {}) => ({ id: "ev-1-1", idempotencyKey: "order-1042", receivedAt: 1, status: "pending", runId: "event-1-1", startsAt: Date.now() + 60_000, params: { store: "berlin" }, ...fields });
  const answer = (fields: Record<string, unknown> = {}, run?: unknown) => ({ event: event(fields), ...(run ? { run } : {}), statusUrl: "/api/pipelines/orders/runs/event-1-1", eventUrl: "/api/pipelines/orders/events/ev-1-1" });

  it("posts the params as the body with the Idempotency-Key, and says which run and when; a replay says so", async () => {
    const seen: { method?: string; url?: string; key?: string | string[]; body: string }[] = [];
    let posts = 0;
    const server = await serving((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        seen.push({ method: request.method, url: request.url, key: request.headers["idempotency-key"], body });
        posts += 1;
        response.writeHead(202, { "content-type": "application/json", ...(posts > 1 ? { "idempotent-replayed": "true" } : {}) }).end(JSON.stringify(answer()));
      });
    });
    const first = await cli(["event", "orders", "--param", "store=berlin", "--key", "order-1042"], { PIPELINE_API_URL: server.url });
    expect(first.code).toBe(EXIT.ok);
    expect(first.stdout).toMatch(/^event ev-1-1 → run event-1-1 pending: starts in (59|60)\.\d s, unless more events with its params come first\nfollow: npm run pipeline -- status event-1-1 --pipeline orders/);
    expect(seen[0]).toEqual({ method: "POST", url: "/api/pipelines/orders/events", key: "order-1042", body: '{"store":"berlin"}' });
    const again = await cli(["event", "orders", "--param", "store=berlin", "--key", "order-1042"], { PIPELINE_API_URL: server.url });
    expect(again.stdout).toContain('(the key "order-1042" was used before: this is that event');
    const plain = await cli(["--json", "event", "orders"], { PIPELINE_API_URL: server.url });
    expect(seen[2]).toEqual({ method: "POST", url: "/api/pipelines/orders/events", key: undefined, body: "{}" });
    expect(JSON.parse(plain.stdout)).toEqual(answer({ startsAt: expect.any(Number) }));
    await server.close();
  });

  it("--wait waits for a pending event's run to start, then follows it; the run's outcome is the exit code", async () => {
    let reads = 0;
    const server = await serving((request, response) => {
      const json = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (request.method === "POST") return json(202, answer({ startsAt: Date.now() - 1_000 }));
      if (request.url === "/api/pipelines/orders/events/ev-1-1") return json(200, (reads += 1) < 2 ? answer() : answer({ status: "started" }, run({ pipelineId: "event-1-1" })));
      return json(200, run({ pipelineId: "event-1-1", status: "failed", error: "load stage failed: no table", endTime: 5 }));
    });
    const result = await cli(["event", "orders", "--wait"], { PIPELINE_API_URL: server.url });
    expect(result.stdout).toContain("event ev-1-1 → run event-1-1 pending: starts once the run now active has ended");
    expect(result.code).toBe(EXIT.failed);
    expect(reads).toBe(2);
    await server.close();
  });

  it("a key reused with other params exits 2 with the API's message", async () => {
    const server = await serving((_request, response) => {
      response.writeHead(422, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "idempotency_key_reused", message: 'the Idempotency-Key "k" was used for event ev-1-1 with other params; use a new key for a new event' }], eventId: "ev-1-1" }));
    });
    const result = await cli(["event", "orders", "--key", "k"], { PIPELINE_API_URL: server.url });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe('error: the Idempotency-Key "k" was used for event ev-1-1 with other params; use a new key for a new event (idempotency_key_reused)\n');
    await server.close();
  });
});

describe("upload", () => {
  /** A server playing the API for an upload of drops/x.csv to store-drops: the notification route answers `notify`. */
  async function uploads(notify: { status: number; body: unknown }, objects: unknown = { bucket: "scheduled-pipeline-uploads", prefix: "drops/", suffix: ".csv", debounceMs: 30_000 }) {
    const seen: { method: string; url: string; body: string }[] = [];
    const server = await serving((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        seen.push({ method: request.method!, url: request.url!, body });
        const json = (status: number, answer: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer));
        if (request.method === "PUT") return json(201, { message: "stored; the next run of store-drops reads it", source: "primary", key: "drops/x.csv", etag: "abc", size: body.length, uri: "r2://UPLOADS/drops/x.csv" });
        if (request.method === "GET") return json(200, { name: "store-drops", triggers: { objects } });
        return json(notify.status, notify.body);
      });
    });
    return { server, seen };
  }

  const file = new URL("../../docs/examples/store-drops/hamburg-2026-11-29.csv", import.meta.url).pathname;

  it("sends the PutObject notification R2 would have where they are simulated, and says what it started", async () => {
    const { server, seen } = await uploads({ status: 202, body: { message: "sent to the OBJECT_EVENTS queue, as R2 would have", pipelines: [{ name: "store-drops", debounceMs: 30_000 }], ignored: null } });
    const result = await cli(["upload", "store-drops", file, "--as", "x.csv"], { PIPELINE_API_URL: server.url });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe(
      "uploaded x.csv (322 bytes) → r2://UPLOADS/drops/x.csv; stored; the next run of store-drops reads it\n" +
        "sent the PutObject notification R2 would have (scheduled-pipeline-uploads/drops/x.csv): store-drops starts a run once no file has landed for 30.0 s\n",
    );
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual(["PUT /api/pipelines/store-drops/uploads/x.csv", "GET /api/pipelines/store-drops", "POST /api/notifications/r2"]);
    expect(JSON.parse(seen[2]!.body)).toEqual({ account: "local", action: "PutObject", bucket: "scheduled-pipeline-uploads", object: { key: "drops/x.csv", size: 322, eTag: "abc" }, eventTime: expect.any(String) });
    await server.close();
  });

  it("says nothing more where R2 sends its own (409 notifications_not_simulated), or the pipeline does not run on files landing", async () => {
    const deployed = await uploads({ status: 409, body: { errors: [{ code: "notifications_not_simulated", message: "this Worker does not simulate R2 event notifications" }] } });
    const production = await cli(["upload", "store-drops", file, "--as", "x.csv"], { PIPELINE_API_URL: deployed.server.url });
    expect(production.code).toBe(EXIT.ok);
    expect(production.stdout).toBe("uploaded x.csv (322 bytes) → r2://UPLOADS/drops/x.csv; stored; the next run of store-drops reads it\n");
    await deployed.server.close();

    const clockOnly = await uploads({ status: 500, body: {} }, null);
    const untriggered = await cli(["upload", "store-drops", file, "--as", "x.csv"], { PIPELINE_API_URL: clockOnly.server.url });
    expect(untriggered.code).toBe(EXIT.ok);
    expect(clockOnly.seen.map((request) => request.method)).toEqual(["PUT", "GET"]);
    await clockOnly.server.close();
  });
});
