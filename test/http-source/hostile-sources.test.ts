/**
 * A hostile source against real agents, R2 and D1, with MSW playing two origins: no record is lost
 * silently (a broken CSV quote fails the run, or rejects exactly its row), a 32 MiB line is one rejected
 * record while the service keeps answering, secrets never reach a run, an alert or a log, configured
 * headers never leave the source's origin, redirects are bounded, and Retry-After is honoured.
 */
import { env } from "cloudflare:workers";
import { http, HttpResponse } from "msw";
import { afterEach, describe, expect, it, vi } from "vitest";
import { listMetrics, listRejections } from "../support/db";
import { ALERT_HOOK, network } from "../support/network";
import { api, eventually } from "../support/runtime";
import { runPipeline } from "../support/runs";
import { allPolicies, httpSource } from "../support/settings";

const API = "https://api.example.test";
const OTHER = "https://other.example.test";
const reading = (id: string) => ({ id, value: "5", timestamp: "2024-05-01T00:00:00Z", metadata: { type: "t" } });

function csvRows(count: number, broken: number, row: string): string {
  const lines = ["id,value,timestamp"];
  for (let index = 1; index <= count; index += 1) lines.push(index === broken ? row : `r${index},${index % 300},0`);
  return `${lines.join("\n")}\n`;
}

describe("no silent loss", () => {
  it("fails a 100,000-row CSV whose 4th row opens a quote that never closes, naming the line", async () => {
    network.use(http.get(`${API}/orders.csv`, () => new HttpResponse(csvRows(100_000, 4, 'r4,"broken,0'))));
    const { run, name } = await runPipeline({ sources: [httpSource(`${API}/orders.csv`, { format: "csv" })] });
    expect(run.status).toBe("failed");
    expect(run.error).toBe(
      `extract stage failed: CSV line 5: a quoted field opened on line 5 does not close on that line (an unterminated or misplaced quote; if the source's fields hold line breaks, raise csvMaxRecordLines) (set csvQuoteErrors to "reject-row" to reject such rows and read the rest) (source ${API}/orders.csv)`,
    );
    expect(await listMetrics(env.DB, name)).toEqual([]);
  });

  // 100,000-row files broken at the top, in the middle and at the end are parsed in test/sources; here one
  // goes through the whole run.
  it("with csvQuoteErrors reject-row, loads 19,999 of 20,000 rows and rejects exactly the broken middle row", { timeout: 60_000 }, async () => {
    network.use(http.get(`${API}/orders.csv`, () => new HttpResponse(csvRows(20_000, 10_000, 'r10000,"5"0,0'))));
    const { run, name } = await runPipeline({ sources: [httpSource(`${API}/orders.csv`, { format: "csv", csvQuoteErrors: "reject-row" })], stageTimeoutMs: 60_000 }, undefined, 60_000);
    expect(run.status).toBe("succeeded");
    expect(run.accounting).toEqual({ extracted: 20_000, loaded: 19_999, rejected: 1, skipped: 0, balanced: true });
    expect(run.rejected).toEqual([{ id: null, stage: "extract", reason: "CSV line 10001: text after the closing quote of field 2" }]);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM metrics WHERE pipeline = ?").bind(name).first<{ n: number }>();
    expect(count?.n).toBe(19_999);
    expect(await listRejections(env.DB, name, run.pipelineId)).toEqual([
      expect.objectContaining({ position: 9_999, stage: "extract", raw: JSON.stringify('r10000,"5"0,0') }),
    ]);
  });

  it("fails a JSON source whose records path is not in the body, instead of loading nothing", async () => {
    network.use(http.get(`${API}/wrapped`, () => HttpResponse.json({ items: [reading("a")] })));
    const { run } = await runPipeline({ sources: [httpSource(`${API}/wrapped`, { recordsPath: "data" })] });
    expect(run.status).toBe("failed");
    expect(run.error).toContain(`the source's JSON has no records array at "data" (keys: items)`);
  });
});

describe("a record nested 400,000 levels deep", () => {
  it("is accounted for like any other (here rejected by validation), not a failed run", async () => {
    const deep = `{"id":"deep","v":${"[".repeat(400_000)}${"]".repeat(400_000)}}`;
    network.use(http.get(`${API}/deep.ndjson`, () => new HttpResponse([JSON.stringify(reading("a")), deep, JSON.stringify(reading("b"))].join("\n"))));
    const { run } = await runPipeline({ sources: [httpSource(`${API}/deep.ndjson`, { format: "ndjson" })] });
    expect(run.status).toBe("succeeded");
    expect(run.accounting).toEqual({ extracted: 3, loaded: 2, rejected: 1, skipped: 0, balanced: true });
    expect(run.rejected).toEqual([{ id: "deep", stage: "transform", reason: "value is missing" }]);
  });
});

describe("a 32 MiB line between ten good lines", () => {
  it("is one rejected record; the run ends and /api/health keeps answering meanwhile", { timeout: 60_000 }, async () => {
    const good = (from: number) => Array.from({ length: 5 }, (_, index) => `${JSON.stringify(reading(`g${from + index}`))}\n`).join("");
    const piece = new TextEncoder().encode("x".repeat(64 * 1024));
    const pieces = 512; // 32 MiB
    network.use(
      http.get(`${API}/huge.ndjson`, () => {
        let step = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (step === 0) controller.enqueue(new TextEncoder().encode(`${good(0)}{"id":"huge","pad":"`));
            else if (step <= pieces) controller.enqueue(piece);
            else if (step === pieces + 1) controller.enqueue(new TextEncoder().encode(`"}\n${good(5)}`));
            else controller.close();
            step += 1;
          },
        });
        return new HttpResponse(stream, { headers: { "content-type": "application/x-ndjson" } });
      }),
    );
    const slowest = { ms: 0, answers: 0 };
    let running = true;
    const probing = (async () => {
      while (running) {
        const started = Date.now();
        expect((await api("/api/health")).status).toBe(200);
        slowest.ms = Math.max(slowest.ms, Date.now() - started);
        slowest.answers += 1;
        // A turn for everything else between probes: an answer can come back without one.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const { run, name } = await runPipeline({ sources: [httpSource(`${API}/huge.ndjson`, { format: "ndjson" })], stageTimeoutMs: 60_000 }, undefined, 60_000);
    running = false;
    await probing;
    expect(run.status).toBe("succeeded");
    expect(run.accounting).toEqual({ extracted: 11, loaded: 10, rejected: 1, skipped: 0, balanced: true });
    expect(run.rejected).toEqual([{ id: null, stage: "extract", reason: "line 6 is 32.0 MiB, over the record limit of 1.0 MiB" }]);
    expect((await listMetrics(env.DB, name)).map((row) => row.id).sort()).toEqual(["g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9"]);
    // Liveness, not speed: before, a line like this held the only thread for minutes.
    expect(slowest.answers).toBeGreaterThan(2);
    expect(slowest.ms).toBeLessThan(5_000);
  });
});

describe("secrets never leave", () => {
  const TOKEN = "test-source-token"; // SOURCE_TOKEN in the http-source project
  const logged: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    logged.length = 0;
  });
  const captureLogs = () => {
    for (const level of ["log", "warn", "error"] as const) vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
  };

  it("a failing source with ?api_key= in its URL shows *** in the run, history, the alert and the logs", async () => {
    captureLogs();
    const alerts: string[] = [];
    network.use(
      http.get(`${API}/keyed`, () => new HttpResponse("down", { status: 500, statusText: "Internal Server Error" })),
      http.post(ALERT_HOOK, async ({ request }) => (alerts.push(await request.text()), new HttpResponse(null, { status: 204 }))),
    );
    const url = `${API}/keyed?api_key=k-9f8e7d6c5b4a&token=t-0123456789&page=1`;
    const { run, runId, coordinator } = await runPipeline({ sources: [httpSource(url, { name: "keyed" })] });
    expect(run.status).toBe("failed");
    const shown = `${API}/keyed?api_key=***&token=***&page=1`;
    expect(run.error).toBe(`extract stage failed: the source ${shown} answered HTTP 500 Internal Server Error (after 3 tries)`);
    expect(run.source).toMatchObject({ name: "keyed", served: false, url: shown, attempts: 3, attemptErrors: Array(3).fill(`the source ${shown} answered HTTP 500 Internal Server Error`) });
    await eventually(async () => alerts.length, (count) => count > 0);
    const everything = [JSON.stringify(run), JSON.stringify(await coordinator.getHistory(10, null)), ...alerts, ...logged].join("\n");
    expect(everything).toContain("api_key=***");
    expect(everything).not.toContain("k-9f8e7d6c5b4a");
    expect(everything).not.toContain("t-0123456789");
    void runId;
  });

  it("fills {{SOURCE_TOKEN}} in a URL at request time and never shows its value", async () => {
    captureLogs();
    const seen: string[] = [];
    network.use(http.get(`${API}/accounts/:account/items`, ({ request }) => (seen.push(request.url), new HttpResponse("nope", { status: 404, statusText: "Not Found" }))));
    const { run } = await runPipeline({ sources: [httpSource(`${API}/accounts/{{SOURCE_TOKEN}}/items?since=1`, { secrets: ["SOURCE_TOKEN"] })] });
    expect(seen).toEqual([`${API}/accounts/${TOKEN}/items?since=1`]);
    expect(run.error).toBe(`extract stage failed: the source ${API}/accounts/***/items?since=1 answered HTTP 404 Not Found`);
    expect([JSON.stringify(run), ...logged].join("\n")).not.toContain(TOKEN);
  });

  it("never shows a secret however the URL re-encodes it (a watermark rewrites the query)", async () => {
    captureLogs();
    const secret = "ab'cd~secret!"; // OTHER_TOKEN in the http-source project
    network.use(http.get(`${API}/acct`, () => new HttpResponse("nope", { status: 404, statusText: "Not Found" })));
    const { run } = await runPipeline({
      sources: [httpSource(`${API}/acct?account={{OTHER_TOKEN}}`, { secrets: ["OTHER_TOKEN"] })],
      watermark: { column: "timestamp", param: "since", format: "iso" },
    });
    expect(run.status).toBe("failed");
    const everything = [JSON.stringify(run), ...logged].join("\n");
    for (const form of [secret, encodeURIComponent(secret), "ab%27cd"]) expect(everything).not.toContain(form);
    expect(run.error).toContain("account=***");
  });

  it("never resolves a placeholder the source did not declare, nor the service's own API_TOKEN", async () => {
    let sent: string | null = "unset";
    network.use(http.get(`${API}/sneaky`, ({ request }) => ((sent = request.headers.get("x-api-key")), HttpResponse.json([]))));
    const { run } = await runPipeline({ sources: [httpSource(`${API}/sneaky`, { headers: { "X-Api-Key": "{{API_TOKEN}}" }, secrets: ["API_TOKEN"] })] });
    expect(run.status).toBe("failed");
    expect(run.error).toContain("may not use the service's own secret API_TOKEN");
    expect(sent).toBe("unset");
  });
});

describe("headers stay home", () => {
  const headersSeen = new Map<string, { key: string | null; authorization: string | null }>();
  const remember = (request: { url: string; headers: Headers }) => headersSeen.set(new URL(request.url).origin + new URL(request.url).pathname, { key: request.headers.get("x-api-key"), authorization: request.headers.get("authorization") });
  const withKey = { headers: { "X-Api-Key": "{{SOURCE_TOKEN}}", Authorization: "Bearer {{SOURCE_TOKEN}}" }, secrets: ["SOURCE_TOKEN"] };

  it("a redirect to another origin gets none of the configured headers; the home origin gets them", async () => {
    headersSeen.clear();
    network.use(
      http.get(`${API}/moved`, ({ request }) => (remember(request), new HttpResponse(null, { status: 302, headers: { location: `${OTHER}/data` } }))),
      http.get(`${OTHER}/data`, ({ request }) => (remember(request), HttpResponse.json([reading("r1")]))),
    );
    const { run } = await runPipeline({ sources: [httpSource(`${API}/moved`, withKey)] });
    expect(run.status).toBe("succeeded");
    expect(headersSeen.get(`${API}/moved`)).toEqual({ key: "test-source-token", authorization: "Bearer test-source-token" });
    expect(headersSeen.get(`${OTHER}/data`)).toEqual({ key: null, authorization: null });
  });

  it("a next page on another origin gets none of them either", async () => {
    headersSeen.clear();
    network.use(
      http.get(`${API}/first`, ({ request }) => (remember(request), HttpResponse.json({ data: [reading("p1")], next: `${OTHER}/second` }))),
      http.get(`${OTHER}/second`, ({ request }) => (remember(request), HttpResponse.json({ data: [reading("p2")], next: null }))),
    );
    const { run } = await runPipeline({ sources: [httpSource(`${API}/first`, { ...withKey, recordsPath: "data", pagination: { type: "next-url-field", field: "next" } })] });
    expect(run).toMatchObject({ status: "succeeded", finalResult: { recordCount: 2 } });
    expect(headersSeen.get(`${OTHER}/second`)).toEqual({ key: null, authorization: null });
  });

  it('with crossOrigin "refuse", leaving the origin fails the source at once', async () => {
    let calls = 0;
    network.use(http.get(`${API}/moved`, () => (calls++, new HttpResponse(null, { status: 307, headers: { location: `${OTHER}/data` } }))));
    const { run } = await runPipeline({ sources: [httpSource(`${API}/moved`, { ...withKey, crossOrigin: "refuse" })] });
    expect(run.status).toBe("failed");
    expect(run.error).toBe(`extract stage failed: the source primary pointed to another origin (${OTHER}/data); it is set to refuse that (crossOrigin: "refuse")`);
    expect(calls).toBe(1);
  });
});

describe("redirects are bounded", () => {
  it.each([
    ["file:///etc/passwd", "redirected to a file: URL; only http and https are followed"],
    ["ftp://files.example.test/x", "redirected to a ftp: URL; only http and https are followed"],
    ["data:text/plain,hello", "redirected to a data: URL; only http and https are followed"],
  ])("a redirect to %s fails once, permanently, with a short message", async (location, reason) => {
    let calls = 0;
    network.use(http.get(`${API}/bounce`, () => (calls++, new HttpResponse(null, { status: 302, headers: { location } }))));
    const { run } = await runPipeline({ sources: [httpSource(`${API}/bounce`)] });
    expect(run.status).toBe("failed");
    expect(run.error).toBe(`extract stage failed: the source ${API}/bounce ${reason}`);
    expect(calls).toBe(1);
  });

  it("a redirect loop fails once, permanently", async () => {
    let calls = 0;
    network.use(
      http.get(`${API}/a`, () => (calls++, new HttpResponse(null, { status: 301, headers: { location: "/b" } }))),
      http.get(`${API}/b`, () => (calls++, new HttpResponse(null, { status: 301, headers: { location: "/a" } }))),
    );
    const { run } = await runPipeline({ sources: [httpSource(`${API}/a`)] });
    expect(run.error).toBe(`extract stage failed: the source ${API}/b redirected in a loop (back to ${API}/a)`);
    expect(calls).toBe(2);
  });

  it("more than five redirects fail; five are followed", async () => {
    network.use(http.get(`${API}/hop/:n`, ({ params }) => {
      const n = Number(params.n);
      return n < 6 ? new HttpResponse(null, { status: 302, headers: { location: `/hop/${n + 1}` } }) : HttpResponse.json([reading("end")]);
    }));
    expect((await runPipeline({ sources: [httpSource(`${API}/hop/1`)] })).run.status).toBe("succeeded");
    const { run } = await runPipeline({ sources: [httpSource(`${API}/hop/0`)] });
    expect(run.error).toBe(`extract stage failed: the source ${API}/hop/5 redirected more than 5 times`);
  });
});

describe("Retry-After", () => {
  it("is honoured between tries of a source (a 429 asking for 1 s is not retried sooner)", async () => {
    const times: number[] = [];
    network.use(http.get(`${API}/limited`, () => {
      times.push(Date.now());
      return times.length === 1 ? new HttpResponse("slow down", { status: 429, statusText: "Too Many Requests", headers: { "retry-after": "1" } }) : HttpResponse.json([reading("late")]);
    }));
    const { run } = await runPipeline({ sources: [httpSource(`${API}/limited`)], retry: allPolicies({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5_000 }) });
    expect(run.status).toBe("succeeded");
    // The backoff alone would wait at most 1 ms; the clock here ticks coarsely, hence the margin.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
  });

  it("is bounded by retries.maxDelayMs", async () => {
    const times: number[] = [];
    network.use(http.get(`${API}/limited`, () => {
      times.push(Date.now());
      return times.length === 1 ? new HttpResponse("later", { status: 503, headers: { "retry-after": "3600" } }) : HttpResponse.json([reading("soon")]);
    }));
    // The stage has a minute: only maxDelayMs keeps this from waiting that long (or an hour).
    const { run } = await runPipeline({ sources: [httpSource(`${API}/limited`)], retry: allPolicies({ maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 50 }), stageTimeoutMs: 60_000 });
    expect(run.status).toBe("succeeded");
    expect(times).toHaveLength(2);
  });
});
