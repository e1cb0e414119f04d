import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

// The test shown in docs/testing.md is a real test file (test/pipelines/orders/docs-example.test.ts): they must not drift.
it("docs/testing.md shows the kit example that test/pipelines/orders/docs-example.test.ts runs", () => {
  const page = readFileSync("docs/testing.md", "utf8");
  const shown = /## Testing a pipeline[\s\S]*?```ts\n([\s\S]*?)```/.exec(page)?.[1];
  const file = readFileSync("test/pipelines/orders/docs-example.test.ts", "utf8").split("\n").slice(1).join("\n");
  expect(shown).toBe(file);
});
