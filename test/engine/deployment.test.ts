/**
 * The deployment checks every definition once, when it loads: one with a mistake is set aside with its
 * errors (the Worker and every other pipeline go on), and what it declares is kept for display.
 */
import { declaredUri } from "../../src/destinations";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { Deployment } from "../../src/engine/deployment";
import { reportDeployment } from "../../src/engine/deployment-report";
import { deployment, PIPELINES } from "../../src/pipelines";

const valid = {
  name: "events",
  description: "test",
  schedule: { cron: "0 3 * * *", timezone: "America/New_York" },
  sources: [{ type: "sample" }],
  sample: { records: [] },
  record: z.object({ id: z.string() }),
  transform: (event: { id: string }) => ({ id: event.id }),
  destination: { table: "events", key: ["id"], columns: { id: "text" } },
} as unknown as Pipeline;

describe("Deployment", () => {
  it("loads the shipped pipelines, none set aside", () => {
    expect(deployment.all().map((pipeline) => pipeline.name)).toEqual(PIPELINES.map((pipeline) => pipeline.name));
    expect(deployment.invalid()).toEqual([]);
  });

  it.each([
    [{ name: "github_events" }, "name must be lower-case letters, digits and dashes, starting with a letter (at most 63)"],
    [{ destination: { table: "events", key: ["nope"], columns: { id: "text" } } }, "destination.key names nope, which is not a column"],
    [{ schedule: { cron: "0 3 * *" } }, 'schedule.cron: cron "0 3 * *" has 4 fields; a cron expression has 5: minute hour day-of-month month day-of-week (for example "0 3 * * *")'],
    [{ schedule: { cron: "0 3 * * *", timezone: "Mars/Olympus" } }, 'schedule.timezone: timezone "Mars/Olympus" is not an IANA time zone (for example "Europe/Berlin" or "UTC")'],
    [{ schedule: { every: "sometimes" } }, 'schedule.every "sometimes" is not a duration like "15m", "6h" or "1d"'],
    [{ sources: [{ type: "http", url: "ftp://example.com/x" }] }, "sources[0].url:"],
  ])("sets aside %j with its errors, and keeps the others", (change, error) => {
    const mixed = new Deployment([{ ...valid, ...change } as Pipeline, { ...valid, name: "other" }]);
    expect(mixed.all().map((pipeline) => pipeline.name)).toEqual(["other"]);
    const [invalid] = mixed.invalid();
    expect(invalid!.errors.join("\n")).toContain(error);
    expect(invalid!.errors[0]).toMatch(/^pipeline "[^"]+": /);
    expect(() => mixed.require(invalid!.name)).toThrow(`the definition of pipeline ${invalid!.name} is invalid`);
  });

  it("keeps what an invalid definition declares, for display", () => {
    const mixed = new Deployment([{ ...valid, schedule: { cron: "0 3 * *", timezone: "America/New_York" } } as Pipeline]);
    expect(mixed.invalid()[0]).toMatchObject({ name: "events", description: "test", declared: { cron: "0 3 * *", every: null, timezone: "America/New_York", destination: { table: "events" } } });
    expect(declaredUri(mixed.invalid()[0]!.declared.destination, { D1_DATABASE_NAME: "db" })).toBe("d1://db/events");
  });

  it("refuses a second pipeline of the same name, and takes the same one twice", () => {
    const twice = new Deployment([valid, valid, { ...valid }]);
    expect(twice.all()).toEqual([valid]);
    expect(twice.invalid()[0]!.errors).toEqual(['pipeline "events": two pipelines are named "events"']);
  });
});

describe("reportDeployment (npm run check)", () => {
  it("fails on a definition with a mistake, with the Worker's message, and only reports what variables leave unresolved", () => {
    const mixed = new Deployment([valid, { ...valid, name: "github_events" } as Pipeline, { ...valid, name: "from-url", vars: { sourceUrl: "FROM_URL" } } as Pipeline]);
    const report = reportDeployment(mixed, { D1_DATABASE_NAME: "db", FROM_URL: "not a url" });
    expect(report.ok).toBe(false);
    expect(report.lines).toEqual([
      "ok events: 0 3 * * * America/New_York → d1://db/events",
      "! from-url: misconfigured with these variables: FROM_URL must be empty (to use the pipeline's declared sources) or an http(s) URL",
      '✗ pipeline "github_events": name must be lower-case letters, digits and dashes, starting with a letter (at most 63)',
    ]);
    expect(reportDeployment(new Deployment([valid]), { D1_DATABASE_NAME: "db" }).ok).toBe(true);
  });
});
