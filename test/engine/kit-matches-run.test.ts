import { expect, it } from "vitest";
import { runPipeline } from "../../src/engine/testing";
import { checkedPipeline, EXPECTED } from "../fixtures/checked-batch";

// The runtime half is test/checks/kit-matches-run.test.ts: both are held to the same EXPECTED.
it("the test kit computes what a run computes (the fixture's EXPECTED)", async () => {
  const result = await runPipeline(checkedPipeline("kit-matches", "kit_matches"));
  expect(result.status).toBe(EXPECTED.status);
  expect(result.accounting).toEqual(EXPECTED.accounting);
  expect(result.checks!.results.map((check) => ({ name: check.name, outcome: check.outcome, offending: check.offending, positions: check.sample.map((record) => record.position) }))).toEqual(EXPECTED.checks);
});
