/**
 * Source features end to end on real agents, R2 and D1, with MSW as the remote API: NDJSON and CSV,
 * the three kinds of pagination and the page limit, headers from secrets, fallback sources, the
 * watermark, fan-out over several transform and load agents, live progress while a source streams,
 * and paging through rejected records.
 */
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import type { HttpSource } from "../../src/sources/http/config";
import { listMetrics, listRejections } from "../support/db";
import { STAGE_NAMES } from "../../src/domain/stages";
import { network } from "../support/network";
import { runPipeline } from "../support/runs";
import { httpSource, settingsFor, uniquePipeline } from "../support/settings";
import { apiJson, eventually, isPristineShard, stagedKeys, stagedKeysAfterRun, finished, whenDismissed } from "../support/runtime";

const API = "https://api.example.test";
const reading = (id: string, value: number | string, minute = 0) => ({ id, value: String(value), timestamp: `2024-05-01T00:${String(minute).padStart(2, "0")}:00Z`, metadata: { type: "t" } });

const source = (path: string, changes: Partial<HttpSource> = {}) => httpSource(`${API}${path}`, changes);

describe("formats", () => {
  it("loads NDJSON, rejecting the line that is not JSON", async () => {
    const lines = [JSON.stringify(reading("n1", 5)), "{not json}", JSON.stringify(reading("n2", 150)), ""].join("\n");
    network.use(http.get(`${API}/readings.ndjson`, () => new HttpResponse(lines, { headers: { "content-type": "application/x-ndjson" } })));
    const { run, name } = await runPipeline({ sources: [source("/readings.ndjson", { format: "ndjson" })] });
    expect(run.status).toBe("succeeded");
    expect(run.accounting).toEqual({ extracted: 3, loaded: 2, rejected: 1, skipped: 0, balanced: true });
    expect(run.rejected[0]).toMatchObject({ id: null, stage: "extract" });
    expect(run.rejected[0]!.reason).toMatch(/^line 2 is not valid JSON/);
    expect((await listMetrics(env.DB, name)).map((row) => [row.id, row.category])).toEqual([
      ["n1", "low"],
      ["n2", "medium"],
    ]);
    expect((await listRejections(env.DB, name, run.pipelineId))[0]).toMatchObject({ position: 1, stage: "extract", raw: '"{not json}"' });
  });

  it("keeps every record's position when unparsable lines sit between records, so no rejection overwrites another", async () => {
    const lines = [JSON.stringify(reading("p0", 1)), "{broken", JSON.stringify({ id: "p2", value: "nope", timestamp: 0 }), "[also", JSON.stringify(reading("p4", 2))].join("\n");
    network.use(http.get(`${API}/positions.ndjson`, () => new HttpResponse(lines)));
    const { run, name } = await runPipeline({ sources: [source("/positions.ndjson", { format: "ndjson" })] });
    expect(run.accounting).toEqual({ extracted: 5, loaded: 2, rejected: 3, skipped: 0, balanced: true });
    const rejected = await listRejections(env.DB, name, run.pipelineId);
    expect(rejected.map((row) => [row.position, row.stage, row.record_id])).toEqual([
      [1, "extract", null],
      [2, "transform", "p2"],
      [3, "extract", null],
    ]);
    expect((await listMetrics(env.DB, name)).map((row) => row.id)).toEqual(["p0", "p4"]);
  });

  it("loads CSV through a field mapping, rejecting a short row", async () => {
    const csv = "sensor_id,reading,time,kind\ns1,42,1714521600000,temp\ns2,250.5,2024-05-01T01:00:00Z,humidity\ns3,7\n";
    network.use(http.get(`${API}/readings.csv`, () => new HttpResponse(csv, { headers: { "content-type": "text/csv" } })));
    const fields = { id: "sensor_id", value: "reading", timestamp: "time", type: "kind" };
    const base = settingsFor("default");
    const { run, name } = await runPipeline({
      sources: [source("/readings.csv", { format: "csv" })],
      config: { ...(base.config as object), fields },
      csvColumns: [fields.id, fields.value, fields.timestamp],
    });
    expect(run.status).toBe("succeeded");
    expect(run.accounting).toEqual({ extracted: 3, loaded: 2, rejected: 1, skipped: 0, balanced: true });
    expect(run.rejected[0]!.reason).toBe("CSV line 4: Too few fields: expected 4 fields but parsed 2");
    expect((await listMetrics(env.DB, name)).map((row) => [row.id, row.value, row.category, row.type, row.timestamp])).toEqual([
      ["s1", 42, "low", "temp", "2024-05-01T00:00:00.000Z"],
      ["s2", 250.5, "high", "humidity", "2024-05-01T01:00:00.000Z"],
    ]);
  });

  it("fails a CSV whose header lacks a mapped column, naming it", async () => {
    network.use(http.get(`${API}/bad.csv`, () => new HttpResponse("a,b\n1,2\n")));
    const { run } = await runPipeline({ sources: [source("/bad.csv", { format: "csv" })] });
    expect(run.status).toBe("failed");
    expect(run.error).toContain('the CSV header has no column "id", "value", "timestamp" (columns: a, b)');
  });
});

describe("pagination", () => {
  it("follows Link rel=next across pages", async () => {
    network.use(
      http.get(`${API}/linked`, ({ request }) => {
        const page = Number(new URL(request.url).searchParams.get("page") ?? "1");
        const headers: Record<string, string> = page < 3 ? { link: `<${API}/linked?page=${page + 1}>; rel="next"` } : {};
        return HttpResponse.json([reading(`L${page}a`, page), reading(`L${page}b`, page)], { headers });
      }),
    );
    const { run } = await runPipeline({ sources: [source("/linked", { pagination: { type: "link-header" } })] });
    expect(run).toMatchObject({ status: "succeeded", finalResult: { recordCount: 6 }, source: { pages: 3, truncated: false } });
  });

  it("follows a next-URL field beside the records", async () => {
    network.use(
      http.get(`${API}/paged`, ({ request }) => {
        const second = new URL(request.url).searchParams.get("p") === "2";
        return HttpResponse.json({ data: [reading(second ? "P2" : "P1", 1)], links: { next: second ? null : "/paged?p=2" } });
      }),
    );
    const { run } = await runPipeline({ sources: [source("/paged", { recordsPath: "data", pagination: { type: "next-url-field", field: "links.next" } })] });
    expect(run).toMatchObject({ status: "succeeded", finalResult: { recordCount: 2 }, source: { pages: 2 } });
  });

  it("sends a cursor field back as a query parameter", async () => {
    const seen: (string | null)[] = [];
    network.use(
      http.get(`${API}/cursor`, ({ request }) => {
        const cursor = new URL(request.url).searchParams.get("after");
        seen.push(cursor);
        const next = cursor === null ? "c1" : cursor === "c1" ? "c2" : null;
        return HttpResponse.json({ items: [reading(`C-${cursor ?? "start"}`, 1)], next_cursor: next });
      }),
    );
    const { run } = await runPipeline({ sources: [source("/cursor", { recordsPath: "items", pagination: { type: "cursor-field", field: "next_cursor", param: "after" } })] });
    expect(seen).toEqual([null, "c1", "c2"]);
    expect(run).toMatchObject({ status: "succeeded", finalResult: { recordCount: 3 } });
  });

  it("stops at the page limit and says so", async () => {
    network.use(http.get(`${API}/endless`, ({ request }) => {
      const page = Number(new URL(request.url).searchParams.get("page") ?? "1");
      return HttpResponse.json([reading(`E${page}`, 1)], { headers: { link: `</endless?page=${page + 1}>; rel="next"` } });
    }));
    const { run } = await runPipeline({ sources: [source("/endless", { pagination: { type: "link-header" }, maxPages: 4 })] });
    expect(run).toMatchObject({ status: "succeeded", finalResult: { recordCount: 4 }, source: { pages: 4, truncated: true } });
  });

  it("fails a source whose next page points back to a page it sent", async () => {
    network.use(http.get(`${API}/loop`, () => HttpResponse.json([reading("loop", 1)], { headers: { link: `</loop>; rel="next"` } })));
    const { run } = await runPipeline({ sources: [source("/loop", { pagination: { type: "link-header" } })] });
    expect(run.status).toBe("failed");
    expect(run.error).toContain("sent a next page it had already sent");
  });
});

describe("headers from secrets", () => {
  it("fills {{SOURCE_TOKEN}} from the Worker's secrets at request time, and never stores the value", async () => {
    let authorization: string | null = null;
    network.use(http.get(`${API}/private`, ({ request }) => {
      authorization = request.headers.get("authorization");
      return HttpResponse.json([reading("secret-1", 1)]);
    }));
    const { run, coordinator } = await runPipeline({ sources: [source("/private", { headers: { Authorization: "Bearer {{SOURCE_TOKEN}}" }, secrets: ["SOURCE_TOKEN"] })] });
    expect(run.status).toBe("succeeded");
    expect(authorization).toBe("Bearer test-source-token");
    const stored = JSON.stringify(await coordinator.getRun(run.pipelineId));
    expect(stored).not.toContain("test-source-token");
  });

  it("fails clearly when a secret is not set", async () => {
    const { run } = await runPipeline({ sources: [source("/private", { headers: { "X-Key": "{{MISSING_KEY}}" }, secrets: ["MISSING_KEY"] })] });
    expect(run.status).toBe("failed");
    expect(run.error).toContain("the secret MISSING_KEY declared by source primary is not set (npx wrangler secret put MISSING_KEY)");
  });
});

describe("fallback sources", () => {
  it("uses the next source when the primary fails after its tries, and records why", async () => {
    let primaryCalls = 0;
    network.use(
      http.get(`${API}/primary`, () => (primaryCalls++, new HttpResponse("down", { status: 503, statusText: "Service Unavailable" }))),
      http.get(`${API}/backup.csv`, () => new HttpResponse("id,value,timestamp\nb1,3,0\n")),
    );
    const { run } = await runPipeline({
      sources: [source("/primary"), source("/backup.csv", { name: "backup", format: "csv" })],
    });
    expect(primaryCalls).toBe(3);
    expect(run).toMatchObject({ status: "succeeded", finalResult: { recordCount: 1 } });
    expect(run.source).toMatchObject({
      name: "backup",
      format: "csv",
      skipped: [{ name: "primary", reason: `the source ${API}/primary answered HTTP 503 Service Unavailable (after 3 tries)` }],
    });
  });

  it("fails with every source's reason when all fail; a permanent failure is not retried", async () => {
    let calls = 0;
    network.use(http.get(`${API}/gone`, () => (calls++, new HttpResponse(null, { status: 404, statusText: "Not Found" }))));
    const { run } = await runPipeline({ sources: [source("/gone"), source("/gone", { name: "mirror" })] });
    expect(calls).toBe(2);
    expect(run.status).toBe("failed");
    expect(run.error).toBe(`extract stage failed: every source failed: primary: the source ${API}/gone answered HTTP 404 Not Found; mirror: the source ${API}/gone answered HTTP 404 Not Found`);
    // The failed run still says what was tried: the last source, with the ones before it.
    expect(run.source).toEqual({
      name: "mirror",
      served: false,
      kind: "http",
      url: `${API}/gone`,
      format: "json",
      pages: 0,
      truncated: false,
      watermark: null,
      attempts: 1,
      attemptErrors: [`the source ${API}/gone answered HTTP 404 Not Found`],
      skipped: [{ name: "primary", reason: `the source ${API}/gone answered HTTP 404 Not Found` }],
    });
  });
});

describe("the watermark", () => {
  it("sends the newest loaded timestamp of the last successful run to the source", async () => {
    const sent: (string | null)[] = [];
    network.use(http.get(`${API}/incremental`, ({ request }) => {
      sent.push(new URL(request.url).searchParams.get("since"));
      return HttpResponse.json(sent.length === 1 ? [reading("w1", 1, 5), reading("w2", 1, 9)] : [reading("w3", 1, 12)]);
    }));
    const name = uniquePipeline("incremental");
    const changes = { sources: [source("/incremental")], watermark: { column: "timestamp", param: "since", format: "iso" as const } };
    const first = await runPipeline(changes, name);
    expect(first.run.source?.watermark).toBeNull();
    const second = await runPipeline(changes, name);
    expect(sent).toEqual([null, "2024-05-01T00:09:00.000Z"]);
    expect(second.run.source?.watermark).toBe("2024-05-01T00:09:00.000Z");
    expect(await second.coordinator.getWatermark()).toBe("2024-05-01T00:12:00.000Z");
  });
});

describe("fan-out", () => {
  it("splits transform over 3 agents and load over 4 id buckets, finding duplicates across all of them", async () => {
    const records = Array.from({ length: 100 }, (_, index) => reading(`f${index % 80}`, index));
    records.push({ id: "bad", value: "x", timestamp: "2024-05-01T00:00:00Z", metadata: { type: "t" } });
    network.use(http.get(`${API}/wide`, () => HttpResponse.json(records)));
    const { run, name } = await runPipeline({ sources: [source("/wide")], chunkRecords: 10, parallelism: { transform: 3, load: 4 } });
    expect(run.status).toBe("succeeded");
    expect(run.accounting).toEqual({ extracted: 101, loaded: 80, rejected: 21, skipped: 0, balanced: true });
    expect(run.stages.map((stage) => [stage.name, stage.inputCount, stage.outputCount, stage.rejectedCount])).toEqual([
      ["extract", 101, 101, 0],
      ["transform", 101, 100, 1],
      ["load", 100, 80, 20],
    ]);
    const rows = await listMetrics(env.DB, name);
    expect(rows).toHaveLength(80);
    // The first occurrence wins, whichever agent saw it: f0..f19 keep the values of positions 0..19.
    expect(rows.find((row) => row.id === "f5")?.value).toBe(5);
    const duplicates = (await listRejections(env.DB, name, run.pipelineId)).filter((row) => row.stage === "load");
    expect(duplicates).toHaveLength(20);
    expect(duplicates[0]).toMatchObject({ position: 80, record_id: "f0", reason: 'duplicate id "f0" (first seen at position 0)' });
    expect(JSON.parse(duplicates[0]!.raw)).toEqual(records[80]);
    expect(await stagedKeysAfterRun(run.pipelineId, name)).toEqual([]);
    await whenDismissed();
    for (const stage of STAGE_NAMES) {
      const shards = stage === "transform" ? 3 : stage === "load" ? 4 : 1;
      for (let shard = 0; shard < shards; shard += 1) expect(await eventually(() => isPristineShard(run.pipelineId, stage, shard, name), Boolean)).toBe(true);
    }
  });
});

describe("live progress", () => {
  it("shows records read so far while a source is still streaming", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const line = (index: number) => `${JSON.stringify(reading(`s${index}`, index))}\n`;
    network.use(
      http.get(`${API}/stream`, () => {
        // Pull-based: the first 3,000 lines come as fast as they are read, then the body waits for the gate.
        const encoder = new TextEncoder();
        let sent = 0;
        const stream = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (sent === 3_000) await gate;
            if (sent === 3_500) return controller.close();
            const end = sent < 3_000 ? Math.min(3_000, sent + 500) : 3_500;
            let text = "";
            for (; sent < end; sent += 1) text += line(sent);
            controller.enqueue(encoder.encode(text));
          },
        });
        return new HttpResponse(stream, { headers: { "content-type": "application/x-ndjson" } });
      }),
    );
    const name = uniquePipeline("live");
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const runId = `manual-${Date.now()}`;
    await coordinator.startRun({ runId, trigger: "manual", scheduledFor: null, settings: settingsFor(name, { sources: [source("/stream", { format: "ndjson" })], chunkRecords: 500, stageTimeoutMs: 30_000 }) });
    const live = await eventually(() => coordinator.getRun(runId), (run) => (run?.stages[0]?.inputCount ?? 0) >= 2_500, 10_000);
    expect(live).toMatchObject({ status: "running", currentStage: "extract" });
    expect(live!.stages[0]!.inputCount).toBeGreaterThanOrEqual(2_500);
    // The staged chunks are where the helpers that check cleanup look: under the run's own key.
    expect((await stagedKeys(runId, name)).length).toBeGreaterThanOrEqual(5);
    release();
    const done = await finished(() => coordinator.getRun(runId), 20_000);
    expect(done).toMatchObject({ status: "succeeded", finalResult: { recordCount: 3_500 } });
    expect(await stagedKeysAfterRun(runId, name)).toEqual([]);
  }, 30_000);
});

describe("GET /api/pipeline/runs/:id/rejected", () => {
  it("pages through a run's rejected records with their raw form, in position order", async () => {
    network.use(http.get("https://source.example.test/records", () => HttpResponse.json([
      { id: "ok", value: "1", timestamp: 0 },
      { id: "r1", value: "x", timestamp: 0 },
      null,
      { id: "r3", value: "1e400", timestamp: 0 },
      { id: "r4", value: "1", timestamp: "later" },
    ])));
    const { body } = await apiJson("/api/pipeline/trigger?wait=true", { method: "POST" });
    const runId = body.pipelineId;
    const first = await apiJson(`/api/pipeline/runs/${runId}/rejected?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.rejected).toEqual([
      { position: 1, id: "r1", stage: "transform", reason: 'value "x" is not a number', raw: '{"id":"r1","value":"x","timestamp":0}' },
      { position: 2, id: null, stage: "transform", reason: "record must be an object, got null", raw: "null" },
    ]);
    const second = await apiJson(`/api/pipeline/runs/${runId}/rejected?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.rejected.map((rejection: any) => rejection.position)).toEqual([3, 4]);
    expect(second.body.nextCursor).toBeNull();

    expect((await apiJson("/api/pipeline/runs/manual-404/rejected")).status).toBe(404);
    expect((await apiJson(`/api/pipeline/runs/${runId}/rejected?cursor=garbage`)).status).toBe(400);
    expect((await apiJson(`/api/pipeline/runs/${runId}/rejected?limit=5000`)).status).toBe(400);
  });
});
