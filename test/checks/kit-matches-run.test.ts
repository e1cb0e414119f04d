import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { deployment } from "../../src/pipelines";
import { checkedPipeline, EXPECTED } from "../fixtures/checked-batch";
import { apiJson, uniqueName } from "../support/runtime";
import { expectValid } from "../support/test-pipelines";

// The plain-Node half is test/engine/kit-matches-run.test.ts: both are held to the same EXPECTED.
it("a real run computes what the test kit computes (the fixture's EXPECTED), across transform shards", async () => {
  const name = uniqueName("kit-matches");
  const table = name.replaceAll("-", "_");
  await env.DB.exec(`CREATE TABLE ${table} (sale_id TEXT PRIMARY KEY, store TEXT, ref TEXT, cents INTEGER NOT NULL, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER)`);
  expectValid(deployment.add({ ...checkedPipeline(name, table), tuning: { parallelism: { transform: 3, load: 2 }, chunkRecords: 2 } }));
  const { body } = await apiJson(`/api/pipelines/${name}/trigger?wait=true`, { method: "POST" });
  const run = body.run;
  expect(run.status).toBe(EXPECTED.status);
  expect(run.accounting).toEqual(EXPECTED.accounting);
  expect(run.checks.results.map((check: { name: string; outcome: string; offending: number | null; sample: { position: number }[] }) => ({ name: check.name, outcome: check.outcome, offending: check.offending, positions: check.sample.map((record) => record.position) }))).toEqual(EXPECTED.checks);
});
