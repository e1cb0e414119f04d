/**
 * Bearer authentication. The Hono app is called with the real bindings plus the variables under test
 * (Hono's `app.request(path, init, env)`), so each mode is tested against the code the Worker runs.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";

const app = createApp();
const call = (path: string, vars: Record<string, string | undefined>, init: RequestInit = {}) =>
  app.request(path, init, { ...env, API_TOKEN: undefined, ALLOW_UNAUTHENTICATED: "false", ...vars });

describe("with API_TOKEN set", () => {
  const vars = { API_TOKEN: "s3cret-token" };

  it("answers 200 to the right bearer token", async () => {
    const response = await call("/api/pipeline/schedule", vars, { headers: { Authorization: "Bearer s3cret-token" } });
    expect(response.status).toBe(200);
  });

  it.each([
    ["no header", undefined, "send Authorization: Bearer <API_TOKEN>"],
    ["a wrong token", "Bearer s3cret-tokem", "the API token is not valid"],
    ["a prefix of the token", "Bearer s3cret", "the API token is not valid"],
    ["another scheme", "Basic czNjcmV0LXRva2Vu", "send Authorization: Bearer <API_TOKEN>"],
  ])("answers 401 with WWW-Authenticate to %s", async (_label, authorization, message) => {
    const response = await call("/api/pipeline/last", vars, authorization ? { headers: { Authorization: authorization } } : {});
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="scheduled-pipeline"');
    expect(await response.json()).toEqual({ errors: [{ code: "unauthorized", message }] });
  });

  it("guards every /api/* route, including unknown ones and POSTs, so nothing is revealed", async () => {
    for (const [path, method] of [["/api/pipeline/trigger", "POST"], ["/api/pipeline/runs/x/cancel", "POST"], ["/api/pipeline/nope", "GET"], ["/api/other", "GET"]] as const) {
      expect((await call(path, vars, { method })).status).toBe(401);
    }
  });

  it("leaves GET /api/health open", async () => {
    expect((await call("/api/health", vars)).status).toBe(200);
  });
});

describe("without API_TOKEN", () => {
  it("refuses with 401 and says how to set a token", async () => {
    const response = await call("/api/pipeline/schedule", {});
    expect(response.status).toBe(401);
    const body: any = await response.json();
    expect(body.errors[0].code).toBe("unauthorized");
    expect(body.errors[0].message).toContain("npx wrangler secret put API_TOKEN");
  });

  it('is open when ALLOW_UNAUTHENTICATED is "true" (local development)', async () => {
    expect((await call("/api/pipeline/schedule", { ALLOW_UNAUTHENTICATED: "true" })).status).toBe(200);
  });

  it("stays closed for any other value of ALLOW_UNAUTHENTICATED", async () => {
    for (const value of ["1", "yes", "TRUE", ""]) {
      expect((await call("/api/pipeline/schedule", { ALLOW_UNAUTHENTICATED: value })).status).toBe(401);
    }
  });
});
