/**
 * Whatever a client sends, it gets a clear 4xx in the error shape and nothing is lost: bodies, methods,
 * ids, query strings. And no request produces a 500.
 */
import { describe, expect, it } from "vitest";
import { api, apiJson } from "../support/runtime";

const json = (body: string, headers: Record<string, string> = {}) => ({
  method: "POST",
  body,
  headers: { "content-type": "application/json", ...headers },
});

describe("POST /api/pipeline/trigger bodies", () => {
  it("accepts an empty body, {} and a note, and records the note on the run", async () => {
    const { status, body } = await apiJson("/api/pipeline/trigger?wait=true", json('{"note":"backfill after the outage"}'));
    expect(status).toBe(200);
    expect(body.run.note).toBe("backfill after the outage");
    expect((await apiJson("/api/pipeline/trigger?wait=true", json("{}"))).status).toBe(200);
    expect((await apiJson("/api/pipeline/trigger?wait=true", { method: "POST" })).status).toBe(200);
  });

  it.each([
    ["malformed JSON", json('{"note": "x"'), 400, "invalid_json"],
    ["an array", json("[]"), 400, "invalid_body"],
    ["an unknown field", json('{"note":"x","force":true}'), 400, "invalid_body"],
    ["a wrong type", json('{"note":42}'), 400, "invalid_body"],
    ["an empty note", json('{"note":""}'), 400, "invalid_body"],
    ["a note over 500 characters", json(JSON.stringify({ note: "x".repeat(501) })), 400, "invalid_body"],
    ["a body that is not JSON", { method: "POST", body: "note=x", headers: { "content-type": "application/x-www-form-urlencoded" } }, 415, "unsupported_media_type"],
    ["an oversized body", json(JSON.stringify({ note: "x".repeat(20_000) })), 413, "payload_too_large"],
  ])("refuses %s", async (_label, init, status, code) => {
    const response = await apiJson("/api/pipeline/trigger", init as RequestInit);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ errors: [{ code, message: expect.any(String) }] });
  });

  it("names the offending field", async () => {
    const { body } = await apiJson("/api/pipeline/trigger", json('{"note":42,"force":true}'));
    expect(body.errors[0].message).toMatch(/note: .*expected string/);
    expect(body.errors[0].message).toMatch(/Unrecognized key: "force"/);
  });

  it("starts no run for a refused request", async () => {
    const before = (await apiJson("/api/pipeline/history?limit=1")).body.summary.totalRuns;
    await api("/api/pipeline/trigger", json("{oops"));
    await api("/api/pipeline/trigger", json(JSON.stringify({ note: "x".repeat(20_000) })));
    expect((await apiJson("/api/pipeline/history?limit=1")).body.summary.totalRuns).toBe(before);
  });
});

describe("POST /api/pipeline/runs/:id/cancel", () => {
  it("answers 404 for an unknown run", async () => {
    expect(await apiJson("/api/pipeline/runs/manual-1/cancel", { method: "POST" })).toMatchObject({
      status: 404,
      body: { errors: [{ code: "run_not_found", message: 'no run with id "manual-1"' }] },
    });
  });

  it("answers 409 for a finished run, with its status", async () => {
    const { body } = await apiJson("/api/pipeline/trigger?wait=true", { method: "POST" });
    const response = await apiJson(`/api/pipeline/runs/${body.pipelineId}/cancel`, { method: "POST" });
    expect(response.status).toBe(409);
    expect(response.body).toEqual({
      errors: [{ code: "run_not_active", message: `run ${body.pipelineId} is not running (status succeeded)` }],
      pipelineId: body.pipelineId,
      status: "succeeded",
    });
  });

  it("refuses an unknown body field", async () => {
    expect((await apiJson("/api/pipeline/runs/manual-1/cancel", json('{"why":"x"}'))).status).toBe(400);
  });
});

describe("no request a client can send produces a 500", () => {
  const requests: [string, RequestInit?][] = [
    ["/api/pipeline/runs/%00"],
    ["/api/pipeline/runs/%E0%A4%A"],
    ["/api/pipeline/runs/' OR 1=1 --"],
    [`/api/pipeline/runs/${"é".repeat(150)}`],
    ["/api/pipeline/runs/manual-99999999999999999999"],
    ["/api/pipeline/history?limit=1e3"],
    ["/api/pipeline/history?limit=99999999999999999999"],
    ["/api/pipeline/history?limit=1&limit=2"],
    [`/api/pipeline/history?cursor=${"A".repeat(5000)}`],
    ["/api/pipeline/history?cursor=W10"],
    ["/api/pipeline/history?cursor=WyJ4IiwxXQ"],
    ["/api/pipeline/trigger?wait=true&wait=false", { method: "POST" }],
    ["/api/pipeline/trigger", { method: "POST", body: "\u0000\u0001", headers: { "content-type": "application/json" } }],
    ["/api/pipeline/trigger", { method: "POST", body: "null", headers: { "content-type": "application/json" } }],
    ["/api/pipeline/trigger", { method: "POST", body: '"text"', headers: { "content-type": "application/json; charset=utf-8" } }],
    ["/api/pipeline/trigger", { method: "POST", headers: { "content-length": "999999999" }, body: "{}" }],
    ["/api/pipeline/runs/x/cancel", { method: "POST", body: "{]", headers: { "content-type": "application/json" } }],
    ["/api/pipeline/runs/x/cancel", { method: "GET" }],
    ["/api/pipeline/schedule", { method: "OPTIONS" }],
    ["/api/pipeline/last", { method: "PATCH" }],
    ["/api/pipeline//history"],
    ["/api/pipeline/../health"],
    ["/api"],
    ["/"],
  ];

  it.each(requests)("%s", async (path, init) => {
    const response = await api(path, init);
    expect(response.status).toBeGreaterThanOrEqual(200);
    expect(response.status).toBeLessThan(500);
    if (response.status >= 400) {
      const body: any = await response.json();
      expect(body.errors[0]).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
  });
});
