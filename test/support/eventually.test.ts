/** The waiting helpers fail the test when their condition never holds, naming what they last saw. */
import { describe, expect, it } from "vitest";
import { eventually, finished } from "./runtime";

describe("eventually", () => {
  it("returns the value once the condition holds", async () => {
    let calls = 0;
    expect(await eventually(async () => ++calls, (count) => count >= 3, 2_000)).toBe(3);
  });

  it("throws when the condition never holds, instead of returning the last value", async () => {
    const error = await eventually(async () => ({ status: "running" }), () => false, 100).then(null, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('eventually: the condition did not hold within 100 ms; last seen {"status":"running"}');
  });

  it("finished throws for a run that is still running", async () => {
    const error = await finished(async () => ({ status: "running" }), 100).then(null, (caught: unknown) => caught);
    expect((error as Error).message).toMatch(/^eventually: the condition did not hold within 100 ms/);
  });
});
