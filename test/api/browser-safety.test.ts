/**
 * What a browser can and cannot make this API do. With no token required (local development), a page on
 * another site must not be able to trigger, pause or cancel: state-changing requests from another origin
 * answer 403, while requests that name no origin (curl, the CLI) still work. Every API answer carries
 * headers that stop it being framed, sniffed or rendered; a trailing slash is served like the path without
 * it; a body with no Content-Length is cut off at the limit while it streams.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";

const app = createApp();
const open = { API_TOKEN: undefined, ALLOW_UNAUTHENTICATED: "true" };
const call = (path: string, init: RequestInit = {}, vars: Record<string, string | undefined> = open) =>
  app.request(`http://localhost:8787${path}`, init, { ...env, ...vars });
// An unknown run: the request gets past the guard to a harmless 404, or is stopped with 403.
const cancel = "/api/pipeline/runs/manual-0/cancel";

describe("with no token required", () => {
  it.each([
    ["https://evil.example", "requests from https://evil.example may not change anything here"],
    ["http://localhost:3000", "requests from http://localhost:3000 may not change anything here"],
    ["null", "requests from an opaque origin may not change anything here"],
  ])("refuses a state-changing request from Origin %s with 403 in the error shape", async (origin, start) => {
    const response = await call(cancel, { method: "POST", headers: { Origin: origin } });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.code).toBe("cross_origin_request");
    expect(body.errors[0]!.message.startsWith(start)).toBe(true);
  });

  it("refuses trigger, schedule changes and pause from another site", async () => {
    for (const [path, method] of [["/api/pipeline/trigger", "POST"], ["/api/pipeline/schedule/pause", "POST"], ["/api/pipeline/schedule", "PUT"], ["/api/pipeline/schedule", "DELETE"]] as const) {
      expect((await call(path, { method, headers: { Origin: "https://evil.example" } })).status).toBe(403);
    }
  });

  it("refuses a cross-site request that sends only Sec-Fetch-Site", async () => {
    expect((await call(cancel, { method: "POST", headers: { "Sec-Fetch-Site": "cross-site" } })).status).toBe(403);
  });

  it("lets through its own pages, clients that name no origin (curl), and reads from anywhere", async () => {
    expect((await call(cancel, { method: "POST", headers: { Origin: "http://localhost:8787", "Sec-Fetch-Site": "same-origin" } })).status).toBe(404);
    expect((await call(cancel, { method: "POST" })).status).toBe(404);
    expect((await call("/api/pipeline/schedule", { headers: { Origin: "https://evil.example" } })).status).toBe(200);
  });

  it("accepts the public address as its own origin", async () => {
    const vars = { ...open, PUBLIC_BASE_URL: "https://pipeline.example.com" };
    expect((await call(cancel, { method: "POST", headers: { Origin: "https://pipeline.example.com" } }, vars)).status).toBe(404);
  });
});

describe("with a token required", () => {
  it("leaves origins to the bearer token, which a browser cannot send cross-site unasked", async () => {
    const vars = { API_TOKEN: "t0ken-for-tests", ALLOW_UNAUTHENTICATED: "false" };
    const response = await call(cancel, { method: "POST", headers: { Origin: "https://evil.example", Authorization: "Bearer t0ken-for-tests" } }, vars);
    expect(response.status).toBe(404);
  });
});

describe("security headers", () => {
  it.each(["/api/health", "/api/pipeline/last", "/api/nope"])("are on %s", async (path) => {
    const response = await call(path);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
  });
});

describe("a trailing slash", () => {
  it("is served like the path without it", async () => {
    const plain = await call("/api/pipeline/schedule");
    const slashed = await call("/api/pipeline/schedule/");
    expect(slashed.status).toBe(200);
    expect(await slashed.json()).toEqual(await plain.json());
    expect((await call("/api/pipeline/last/")).status).toBe(200);
    expect((await call("/api/health/")).status).toBe(200);
  });

  it("keeps a wrong method a clear 405", async () => {
    const response = await call("/api/pipeline/last/", { method: "POST" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(await response.json()).toEqual({ errors: [{ code: "method_not_allowed", message: "POST is not allowed on /api/pipeline/last; use GET, HEAD" }] });
  });
});

describe("a body without Content-Length", () => {
  it("is refused with 413 once it streams past 16 KB", async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 1024 * 1024) return controller.close();
        controller.enqueue(new TextEncoder().encode(`{"note":"${"x".repeat(4_096)}`));
        sent += 4_096;
      },
    });
    const response = await call("/api/pipeline/trigger", { method: "POST", body, headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ errors: [{ code: "payload_too_large", message: "the body is larger than 16384 bytes" }] });
    expect(sent).toBeLessThan(64 * 1024);
  });
});
