/**
 * How npm run test:docs reads a page's examples and compares them with real answers: a page that leaves out
 * a field the API sends, shows one it does not send, or shows another status fails.
 */
import { describe, expect, it } from "vitest";
import { differences, docSteps, withRunIds } from "../../scripts/lib/doc-examples";

const page = [
  "Run it:",
  "",
  "```bash",
  'curl -X POST "http://localhost:8787/api/pipeline/trigger?wait=true" \\',
  "  -H 'content-type: application/json' -d '{\"note\":\"x\"}'",
  "```",
  "",
  "```json",
  '{ "pipelineId": "manual-1795875553440", "status": "succeeded", "count": 3 }',
  "```",
  "",
  "```bash",
  "curl http://localhost:8787/api/pipeline/runs/manual-1795875553440   # → {\"status\":\"succeeded\"}",
  "curl -X PATCH http://localhost:8787/api/pipeline/schedule -d '{\"timezone\":\"Mars\"}'",
  '# → 400 {"errors":[{"code":"invalid_schedule","message":"no"}]}',
  "npm install",
  "curl http://localhost:8787/api/pipeline/schedule   # → [{ \"cron\": \"0 3 * * *\", … }]",
  "```",
  "",
  "<!-- example: not run -->",
  "```bash",
  "curl http://localhost:8787/api/pipeline/runs/manual-1/cancel",
  "```",
].join("\n");

describe("docSteps", () => {
  it("reads commands with the answers the page shows, and skips what it does not run", () => {
    const steps = docSteps(page);
    expect(steps.map((step) => [step.line, step.command, step.expect])).toEqual([
      [4, `curl -X POST "http://localhost:8787/api/pipeline/trigger?wait=true" -H 'content-type: application/json' -d '{"note":"x"}'`, { json: { pipelineId: "manual-1795875553440", status: "succeeded", count: 3 } }],
      [13, "curl http://localhost:8787/api/pipeline/runs/manual-1795875553440", { json: { status: "succeeded" } }],
      [14, `curl -X PATCH http://localhost:8787/api/pipeline/schedule -d '{"timezone":"Mars"}'`, { status: 400, json: { errors: [{ code: "invalid_schedule", message: "no" }] } }],
      // An elided answer in a comment is prose, not a check.
      [17, "curl http://localhost:8787/api/pipeline/schedule", null],
    ]);
  });

  it("refuses a JSON answer block that is not JSON", () => {
    expect(() => docSteps("```bash\ncurl http://localhost:8787/api/health\n```\n\n```json\n{ \"status\": \"ok\", … }\n```\n")).toThrow();
  });
});

describe("differences", () => {
  it("holds the page to every field, type and value, except what differs run to run", () => {
    const ids = new Map<string, string>();
    const shown = { pipelineId: "manual-1795875553440", status: "succeeded", startTime: 1795875553440, stages: [{ name: "extract" }], id: "EBpWwtKU9" };
    expect(differences(shown, { pipelineId: "manual-1800000000000", status: "succeeded", startTime: 1800000000001, stages: [{ name: "extract" }], id: "other" }, ids)).toEqual([]);
    expect(ids.get("manual-1795875553440")).toBe("manual-1800000000000");
    expect(withRunIds("curl …/runs/manual-1795875553440/retry", ids)).toBe("curl …/runs/manual-1800000000000/retry");
    expect(() => withRunIds("curl …/runs/manual-1795870000000", ids)).toThrow("names manual-1795870000000, which no earlier example's answer gave");

    expect(differences(shown, { ...shown, timezone: "UTC" }, ids)).toEqual(["$: the API sends timezone, which the page does not show"]);
    const { startTime: _left, ...without } = shown;
    expect(differences(shown, without, ids)).toEqual(["$: the page shows startTime, which the API does not send"]);
    expect(differences(shown, { ...shown, status: "failed" }, ids)).toEqual(['$.status: the page shows "succeeded", the API sent "failed"']);
    expect(differences(shown, { ...shown, startTime: null }, ids)[0]).toMatch(/^\$\.startTime: the page shows number/);
    // A run's counts are the same every run: a page that shows them wrong is caught; a time is not a count.
    const counted = { accounting: { extracted: 42, loaded: 38 }, totalDuration: 205 };
    expect(differences(counted, { accounting: { extracted: 42, loaded: 36 }, totalDuration: 310 }, ids)).toEqual(["$.accounting.loaded: the page shows 38, the API sent 36"]);
    expect(differences(shown, { ...shown, stages: [] }, ids)).toEqual(["$.stages: the page shows 1 elements, the API sent 0"]);
  });

  it("lets a page elide the rest of an object or an array with …", () => {
    const ids = new Map<string, string>();
    expect(differences({ status: "ok", "…": "…" }, { status: "ok", more: 1 }, ids)).toEqual([]);
    expect(differences([{ a: 1 }, "…"], [{ a: 2 }, { a: 3 }], ids)).toEqual([]);
    expect(differences([{ a: 1 }, "…"], [], ids)).toEqual(["$: the page shows at least 1 elements, the API sent 0"]);
  });
});
