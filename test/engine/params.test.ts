/**
 * Run parameters: checked against a pipeline's params schema with every problem naming its field, unknown
 * names refused, defaults for a scheduled run; and the values `{{slot.*}}` and `{{params.*}}` stand for
 * in a source URL.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkDefinition, definePipeline, type Pipeline } from "../../src/engine/define-pipeline";
import { checkParams, defaultParams } from "../../src/engine/params";
import { resolveSettings } from "../../src/engine/settings";
import { fillPlaceholders, runValueProblem, runValues } from "../../src/sources/placeholders";
import { shownSourceUrl } from "../../src/sources/http/read";

const daily = definePipeline({
  name: "daily-sales",
  description: "test",
  schedule: { cron: "0 3 * * *", timezone: "America/New_York", deadline: "2h" },
  sources: [{ type: "http", url: "https://api.example.com/sales/{{slot.date}}?region={{params.region}}&key={{KEY}}", secrets: ["KEY"] }],
  params: z.object({ region: z.enum(["eu", "us"]).default("eu"), limit: z.number().int().min(1).max(1000).default(100), tags: z.array(z.string()).optional() }),
  record: z.object({ id: z.string(), amount: z.number() }),
  transform: (record, context) => ({ sale_id: record.id, region: context.params.region, amount: record.amount }),
  destination: { table: "sales", key: ["sale_id"], columns: { sale_id: "text", region: "text", amount: "real" } },
});

describe("checkParams", () => {
  it("fills defaults and keeps what was given", () => {
    expect(checkParams(daily, undefined)).toEqual({ ok: true, params: { region: "eu", limit: 100 } });
    expect(checkParams(daily, { region: "us", tags: ["a", "b"] })).toEqual({ ok: true, params: { region: "us", limit: 100, tags: ["a", "b"] } });
    expect(defaultParams(daily)).toEqual({ region: "eu", limit: 100 });
  });

  it("names every field that does not fit", () => {
    const checked = checkParams(daily, { region: "asia", limit: 0 });
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.problems.map((problem) => problem.field)).toEqual(["params.region", "params.limit"]);
    expect(!checked.ok && checked.problems[0]!.message).toMatch(/eu.*us/);
  });

  it("refuses names the schema does not declare (a typo must not fall back to a default)", () => {
    expect(checkParams(daily, { regoin: "us" })).toEqual({ ok: false, problems: [{ field: "params.regoin", message: "is not a param: pipeline daily-sales takes region, limit, tags" }] });
  });

  it("refuses any params for a pipeline that declares none", () => {
    const none = { ...daily, params: undefined } as Pipeline;
    expect(checkParams(none, {})).toEqual({ ok: true, params: {} });
    expect(checkParams(none, { x: 1 })).toEqual({ ok: false, problems: [{ field: "params.x", message: "is not a param: pipeline daily-sales takes no params" }] });
  });

  it("refuses a value params cannot carry (a nested object)", () => {
    const nested = { ...daily, params: z.object({ filter: z.record(z.string(), z.string()).default({}) }) } as unknown as Pipeline;
    expect(checkParams(nested, { filter: { a: "b" } })).toEqual({ ok: false, problems: [{ field: "params.filter", message: "must be a string (valid Unicode), number, boolean, null or a list of them" }] });
  });

  it("refuses text that is not valid Unicode (a lone surrogate cannot be put in a URL)", () => {
    expect(checkParams(daily, { region: "eu", tags: ["x\ud800y"] })).toEqual({ ok: false, problems: [{ field: "params.tags", message: "must be a string (valid Unicode), number, boolean, null or a list of them" }] });
  });
});

describe("a pipeline's params and deadline, as defined", () => {
  it("need defaults (a scheduled run is given none) and a deadline like 2h", () => {
    expect(checkDefinition(daily)).toEqual([]);
    expect(checkDefinition({ ...daily, params: z.object({ region: z.string() }) } as unknown as Pipeline)).toContain("every param needs a default or .optional(): a scheduled run is given no params");
    expect(checkDefinition({ ...daily, params: z.string() } as unknown as Pipeline)).toContain("params must be a zod object (z.object({ … }))");
    expect(checkDefinition({ ...daily, schedule: { cron: "0 3 * * *", deadline: "soon" } })).toContain('schedule: deadline "soon" is not a duration like "30m", "2h" or "1d"');
    expect(checkDefinition({ ...daily, schedule: { cron: "0 3 * * *", deadline: "10s" } })).toContain('schedule: deadline must be between 1 minute and 30 days after the slot, got "10s"');
  });

  it("resolve into the settings: the deadline in ms; a URL naming an undeclared param is refused", () => {
    const env = { D1_DATABASE_NAME: "db" };
    const resolved = resolveSettings(daily, env);
    expect(resolved.ok && resolved.settings.schedule.deadlineMs).toBe(2 * 3_600_000);
    const typo = { ...daily, sources: [{ type: "http" as const, url: "https://api.example.com/{{params.zone}}" }] };
    expect(resolveSettings(typo, env)).toEqual({ ok: false, errors: ["pipeline daily-sales: sources[0].url uses {{params.zone}} is not a param of this pipeline (it declares region, limit, tags)"] });
    const badSlot = resolveSettings({ ...daily, sources: [{ type: "http" as const, url: "https://api.example.com/{{slot.month}}" }] }, env);
    expect(!badSlot.ok && badSlot.errors[0]).toContain("{{slot.month}} is not a slot value (use {{slot.date}}, {{slot.iso}}, {{slot.epochMs}})");
    const inHeader = resolveSettings({ ...daily, sources: [{ type: "http" as const, url: "https://api.example.com/x", headers: { "X-Day": "{{slot.date}}" } }] }, env);
    expect(!inHeader.ok && inHeader.errors[0]).toContain("headers.X-Day uses {{slot.date}}: headers may use secrets only; put slot values and params in the URL");
    const overridden = resolveSettings(daily, { ...env });
    expect(overridden.ok).toBe(true);
  });
});

describe("slot and param values in a source URL", () => {
  // 2026-11-29T03:00 in New York is 08:00 UTC; at 02:00 UTC it is still the 28th there.
  const slot = Date.parse("2026-11-29T02:00:00Z");
  const values = runValues({ asOf: slot, timezone: "America/New_York", params: { region: "us", limit: 5, tags: ["a", "b"], off: null } });

  it("are the slot's day in the pipeline's time zone, its ISO time, its epoch ms, and each param as text", () => {
    expect(values).toEqual({
      "slot.date": "2026-11-28",
      "slot.iso": "2026-11-29T02:00:00.000Z",
      "slot.epochMs": String(slot),
      "params.region": "us",
      "params.limit": "5",
      "params.tags": '["a","b"]',
      "params.off": "",
    });
    expect(runValues({ asOf: slot, timezone: "UTC", params: {} })["slot.date"]).toBe("2026-11-29");
  });

  it("fill the URL percent-encoded, and the shown URL keeps them but never a secret", () => {
    const template = "https://api.example.com/sales/{{slot.date}}?region={{params.region}}&tags={{ params.tags }}&key={{KEY}}";
    const filled = fillPlaceholders(template, (name) => encodeURIComponent(name === "KEY" ? "s3cr3t" : (values[name] ?? "")));
    expect(filled).toBe("https://api.example.com/sales/2026-11-28?region=us&tags=%5B%22a%22%2C%22b%22%5D&key=s3cr3t");
    expect(shownSourceUrl(template, values)).toBe("https://api.example.com/sales/2026-11-28?region=us&tags=%5B%22a%22%2C%22b%22%5D&key=***");
  });

  it("a placeholder that is neither a secret, a slot value nor a param is named", () => {
    expect(runValueProblem("run.id", null)).toBe("{{run.id}} is neither a secret, a slot value nor a param");
    expect(runValueProblem("params.x", null)).toBeNull();
  });
});
