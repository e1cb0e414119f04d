/** `PUT …/uploads/<file>`: a file put where a pipeline's R2 source reads it, streamed, its name checked by the source. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Pipeline } from "../../src/engine/define-pipeline";
import storeDrops from "../../src/pipelines/store-drops/pipeline";
import { api, apiJson, uniqueName } from "../support/runtime";
import { pipelineNamed } from "../support/settings";

const CSV = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at\nupload-test,1,sale,1.00,EUR,,2026-11-29T10:00:00Z\n";

describe("uploads", () => {
  it("stores the body under the source's prefix and says where", async () => {
    const name = `api-test/${Date.now()}.csv`;
    const { status, body } = await apiJson(`/api/pipelines/store-drops/uploads/${name}`, { method: "PUT", body: CSV, headers: { "content-type": "text/csv" } });
    expect(status).toBe(201);
    expect(body).toMatchObject({ source: "primary", key: `drops/${name}`, size: CSV.length, uri: `r2://UPLOADS/drops/${name}`, message: "stored; the next run of store-drops reads it" });
    const stored = await env.UPLOADS.get(`drops/${name}`);
    expect(await stored!.text()).toBe(CSV);
    expect(stored!.httpMetadata?.contentType).toBe("text/csv");
    expect(body.etag).toBe(stored!.etag);
    await env.UPLOADS.delete(`drops/${name}`);
  });

  it.each([
    ["a/../b.csv", 'must be a relative path without empty, "." or ".." parts'],
    ["a//b.csv", 'must be a relative path without empty, "." or ".." parts'],
    ["notes.txt", "does not match the source's files (**/*.csv), so it would never be read"],
  ])("refuses the name %j with 400 invalid_file_name", async (name, problem) => {
    // Encoded, since a URL's own ".." segments are resolved before any route sees them.
    const { status, body } = await apiJson(`/api/pipelines/store-drops/uploads/${encodeURIComponent(name)}`, { method: "PUT", body: CSV });
    expect(status).toBe(400);
    expect(body.errors[0]).toEqual({ code: "invalid_file_name", message: `the file name ${JSON.stringify(name)} ${problem}` });
  });

  it("answers 409 for a pipeline that reads no files, 411 without a length, 404 for no pipeline", async () => {
    const none = await apiJson("/api/pipelines/orders/uploads/x.csv", { method: "PUT", body: CSV });
    expect(none.status).toBe(409);
    expect(none.body.errors[0].code).toBe("no_file_source");
    const stream = new ReadableStream({ start: (controller) => (controller.enqueue(new TextEncoder().encode(CSV)), controller.close()) });
    const unsized = await apiJson("/api/pipelines/store-drops/uploads/x.csv", { method: "PUT", body: stream, duplex: "half" } as RequestInit);
    expect(unsized.status).toBe(411);
    expect(unsized.body.errors[0].code).toBe("length_required");
    expect((await api("/api/pipelines/nope/uploads/x.csv", { method: "PUT", body: CSV })).status).toBe(404);
  });

  it("refuses a file larger than a Worker takes, by its declared length", async () => {
    const { status, body } = await apiJson("/api/pipelines/store-drops/uploads/big.csv", { method: "PUT", body: "x", headers: { "content-length": String(200 * 1024 * 1024) } });
    expect(status).toBe(413);
    expect(body.errors[0].code).toBe("payload_too_large");
  });

  it("found by review: refuses a name whose key would pass R2's 1,024 bytes (400, not 500)", async () => {
    const name = `${"中".repeat(400)}.csv`;
    const { status, body } = await apiJson(`/api/pipelines/store-drops/uploads/${encodeURIComponent(name)}`, { method: "PUT", body: CSV });
    expect(status).toBe(400);
    expect(body.errors[0].message).toContain("makes a key of 1210 bytes under the prefix \"drops/\"; R2 takes at most 1024");
    const file = await apiJson(`/api/pipelines/orders-lake/dataset/files/lake%2Forders%2F${encodeURIComponent("中".repeat(400))}.parquet`);
    expect(file.status).toBe(404);
  });

  it("found by review: fills the prefix's params with their defaults, and refuses one without", async () => {
    const root = uniqueName("up");
    const withDefault = uniqueName("drops");
    pipelineNamed(withDefault, { ...storeDrops, name: withDefault, params: z.object({ store: z.string().default("berlin") }), sources: [{ ...storeDrops.sources[0]!, prefix: `${root}/{{params.store}}/` } as never] } as Pipeline);
    const stored = await apiJson(`/api/pipelines/${withDefault}/uploads/x.csv`, { method: "PUT", body: CSV });
    expect(stored.body.key).toBe(`${root}/berlin/x.csv`);
    const without = uniqueName("drops");
    pipelineNamed(without, { ...storeDrops, name: without, params: z.object({ store: z.string().optional() }), sources: [{ ...storeDrops.sources[0]!, prefix: `${root}/{{params.store}}/` } as never] } as Pipeline);
    const refused = await apiJson(`/api/pipelines/${without}/uploads/x.csv`, { method: "PUT", body: CSV });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].message).toBe(`the source's prefix ${root}/{{params.store}}/ uses {{params.store}}, which has no value for an upload (give the param a default)`);
  });
});
