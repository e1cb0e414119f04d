/** `PUT …/uploads/<file>`: a file put where a pipeline's R2 source reads it, streamed, its name checked by the source. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, apiJson } from "../support/runtime";

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
});
