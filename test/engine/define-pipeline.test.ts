/**
 * A pipeline is one typed definition. The compiler refuses a transform whose row does not fit the
 * destination's columns (the @ts-expect-error lines below fail `npm run typecheck` if it ever accepts
 * one); what it cannot see (names that reach SQL and URLs, keys, the schedule) is checked when the file
 * loads.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkDefinition, definePipeline, type Pipeline } from "../../src/engine/define-pipeline";
import { reject, skip } from "../../src/engine/outcomes";
import { definitionProblems } from "../../src/engine/deployment";
import { PIPELINES } from "../../src/pipelines";

const valid = {
  name: "events",
  description: "test",
  schedule: { every: "1h" },
  sources: [{ type: "sample" as const }],
  sample: { records: [] },
  record: z.object({ id: z.string(), n: z.number() }),
  transform: (event: { id: string; n: number }) => ({ id: event.id, n: event.n }),
  destination: { table: "events", key: ["id"] as ["id"], columns: { id: "text" as const, n: "integer" as const } },
};

describe("the compiler", () => {
  it("accepts a transform whose rows fit the columns, rejections and skips", () => {
    const pipeline = definePipeline({
      ...valid,
      transform: (event) => (event.n < 0 ? reject("negative") : event.n === 0 ? skip() : { id: event.id, n: event.n }),
    });
    expect(pipeline.name).toBe("events");
  });

  it("refuses rows that do not fit (type-checked, not run)", () => {
    const compileOnly = () => {
      // @ts-expect-error n must be a number for an integer column
      definePipeline({ ...valid, transform: (event) => ({ id: event.id, n: String(event.n) }) });
      // @ts-expect-error a column is missing
      definePipeline({ ...valid, transform: (event) => ({ id: event.id }) });
      // @ts-expect-error a column the table does not have
      definePipeline({ ...valid, transform: (event) => ({ id: event.id, n: event.n, extra: 1 }) });
      // @ts-expect-error the key must name a column
      definePipeline({ ...valid, destination: { table: "events", key: ["nope"], columns: { id: "text", n: "integer" } } });
      // @ts-expect-error the transform's input is the record schema's output: there is no field "missing"
      definePipeline({ ...valid, transform: (event) => ({ id: event.missing, n: 1 }) });
      // @ts-expect-error a name is lower-case letters, digits and dashes: no underscore
      definePipeline({ ...valid, name: "github_events" });
      // @ts-expect-error nor a capital, nor a space
      definePipeline({ ...valid, name: "Bad Name" });
      // @ts-expect-error and it starts with a letter
      definePipeline({ ...valid, name: "9lives" });
    };
    expect(typeof compileOnly).toBe("function");
  });
});

describe("checkDefinition", () => {
  const problems = (changes: Partial<Pipeline>) => checkDefinition({ ...(valid as unknown as Pipeline), ...changes });

  it("finds nothing wrong with the shipped pipelines", () => {
    for (const pipeline of PIPELINES) expect(checkDefinition(pipeline)).toEqual([]);
    expect(PIPELINES.map((pipeline) => pipeline.name)).toEqual(["default", "orders", "orders-daily", "store-drops", "orders-lake", "orders-to-postgres", "customers"]);
  });

  it.each([
    [{ name: "Not URL safe" }, "name must be lower-case letters, digits and dashes, starting with a letter (at most 63)"],
    [{ destination: { ...valid.destination, table: "events; DROP TABLE x" } }, 'destination.table "events; DROP TABLE x" is not a plain SQL name'],
    [{ destination: { ...valid.destination, columns: { id: "text", run_id: "text" } } }, "column run_id is written by the engine (run_id, loaded_at, position); name yours otherwise"],
    [{ destination: { ...valid.destination, key: ["id", "id"] } }, "destination.key names a column twice"],
    [{ schedule: { cron: "0 3 * * *", every: "1h" } }, "schedule needs exactly one of cron and every"],
    [{ schedule: {} }, "schedule needs exactly one of cron and every"],
    [{ watermark: { column: "ts" } }, "watermark.column ts is not a column"],
    [{ config: z.object({ retries: z.number() }) }, "config key retries is the engine's own"],
  ])("refuses %j", (changes, problem) => {
    expect(problems(changes as Partial<Pipeline>)).toContain(problem);
  });

  it("has each source's kind check what it can from the definition alone", () => {
    expect(definitionProblems({ ...(valid as unknown as Pipeline), sample: undefined })).toContain("sources[0].type: a sample source needs the pipeline's sample data (set sample)");
    const paramless = { ...(valid as unknown as Pipeline), sources: [{ type: "http", url: "https://example.com/{{params.day}}" }] } as Pipeline;
    expect(definitionProblems(paramless)).toContain("sources[0].url uses {{params.day}} is not a param of this pipeline (it declares none)");
  });

  it("is what the deployment uses: definePipeline itself never throws", () => {
    expect(() => definePipeline({ ...valid, name: "bad-" + "Name" })).not.toThrow();
  });
});
