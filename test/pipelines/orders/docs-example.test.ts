// The example of docs/testing.md ("Testing a pipeline"), word for word: it must keep working.
import { expect, it } from "vitest";
import { runPipeline } from "../../../src/engine/testing";
import orders from "../../../src/pipelines/orders/pipeline";

it("blocks an export in a currency no store sells in", async () => {
  const line = { store_id: "berlin", order_id: "1", kind: "sale", amount: "9.99", currency: "XYZ", original_order_id: "", ordered_at: "2026-12-01T10:00:00Z" };
  const result = await runPipeline(orders, { records: [line] });
  expect(result.errorCode).toBe("checks_failed");
  expect(result.checks?.results.find((check) => check.name === "accepted_values(currency)")?.outcome).toBe("failed");
});
