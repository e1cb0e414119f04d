/** Which pipeline feeds which: unknown upstreams and cycles named, and the order a cascade takes. */
import { describe, expect, it } from "vitest";
import { downstreamClosure, downstreamOf, graphProblems } from "../../src/domain/dependency-graph";

const known = (names: string[]) => (name: string) => names.includes(name);

describe("the graph's problems", () => {
  it("names an upstream that is not a pipeline, and a pipeline that waits for itself", () => {
    const nodes = [
      { name: "orders", after: [] },
      { name: "daily", after: ["orderz"] },
      { name: "selfish", after: ["selfish"] },
    ];
    const problems = graphProblems(nodes, known(["orders", "daily", "selfish"]));
    expect(problems.get("daily")).toEqual(['triggers.after names "orderz", which is not a pipeline of this deployment']);
    expect(problems.get("selfish")).toEqual(["triggers.after names the pipeline itself (selfish); a pipeline cannot wait for its own slots"]);
    expect(problems.has("orders")).toBe(false);
  });

  it("names every cycle, on each pipeline in it, starting where it was declared first", () => {
    const nodes = [
      { name: "a", after: ["c"] },
      { name: "b", after: ["a"] },
      { name: "c", after: ["b"] },
      { name: "d", after: ["a"] },
      { name: "x", after: ["y"] },
      { name: "y", after: ["x"] },
    ];
    const problems = graphProblems(nodes, known(nodes.map((node) => node.name)));
    for (const name of ["a", "b", "c"]) expect(problems.get(name)).toEqual(["triggers.after makes a cycle: a → c → b → a"]);
    for (const name of ["x", "y"]) expect(problems.get(name)).toEqual(["triggers.after makes a cycle: x → y → x"]);
    expect(problems.has("d")).toBe(false);
  });
});

describe("downstream", () => {
  // orders feeds daily and lake; both feed report; weekly follows daily.
  const nodes = [
    { name: "report", after: ["daily", "lake"] },
    { name: "orders", after: [] },
    { name: "weekly", after: ["daily"] },
    { name: "daily", after: ["orders"] },
    { name: "lake", after: ["orders"] },
  ];

  it("lists the direct downstreams", () => {
    expect(downstreamOf(nodes, "orders").sort()).toEqual(["daily", "lake"]);
    expect(downstreamOf(nodes, "report")).toEqual([]);
  });

  it("orders the closure so each pipeline comes after all its upstreams in it (a diamond's bottom last)", () => {
    const closure = downstreamClosure(nodes, "orders");
    expect(closure.sort()).toEqual(["daily", "lake", "report", "weekly"]);
    const ordered = downstreamClosure(nodes, "orders");
    expect(ordered.indexOf("report")).toBeGreaterThan(ordered.indexOf("daily"));
    expect(ordered.indexOf("report")).toBeGreaterThan(ordered.indexOf("lake"));
    expect(ordered.indexOf("weekly")).toBeGreaterThan(ordered.indexOf("daily"));
    expect(downstreamClosure(nodes, "daily").sort()).toEqual(["report", "weekly"]);
  });
});
