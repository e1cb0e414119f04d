/** Payload-level checks of a source's body: these fail the run, with a reason that names the problem. */
import { describe, expect, it } from "vitest";
import { parseSourcePayload } from "../../src/domain/source-payload";

describe("parseSourcePayload", () => {
  it("accepts a JSON array, empty or not", () => {
    expect(parseSourcePayload("[]")).toEqual({ ok: true, records: [] });
    expect(parseSourcePayload(' [{"id":"a"}, 1] ')).toEqual({ ok: true, records: [{ id: "a" }, 1] });
  });

  it.each([
    ["", "the source answered with an empty body"],
    ["   \n", "the source answered with an empty body"],
    ["<!doctype html><h1>502</h1>", 'the source answered with HTML or XML, not JSON (starts with "<!doctype html><h1>502</h1>")'],
    ['{"records": []}', "the source must answer with a JSON array of records, got object"],
    ["null", "the source must answer with a JSON array of records, got null"],
    ['"text"', "the source must answer with a JSON array of records, got string"],
  ])("refuses %j", (body, reason) => {
    expect(parseSourcePayload(body)).toEqual({ ok: false, reason });
  });

  it("refuses truncated JSON, quoting the parser", () => {
    const result = parseSourcePayload('[{"id": "rec-1", "val');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/^the source answered with malformed JSON: /);
  });
});
