/**
 * The dashboard's graph of which pipeline feeds which: a pipeline stands right of what it runs after, the
 * objects and events that start it left of it, each edge labelled with the slots it consumes, and a
 * pipeline with waiting slots (and the edge it waits on) marked.
 */
import { describe, expect, it } from "vitest";
import type { PipelineSummary } from "../../src/dashboard/api-types";
import { graphLayout, mappingTitle } from "../../src/dashboard/graph-layout";

type Triggers = NonNullable<PipelineSummary["triggers"]>;

const NO_TRIGGERS: Triggers = { after: [], wait: null, downstream: [], objects: null, events: { debounceMs: 0, maxWaitMs: 0, maxEvents: 1000 } };

function pipeline(name: string, triggers: Partial<Triggers> | null = {}, fields: Partial<PipelineSummary> = {}): PipelineSummary {
  return {
    name,
    description: "",
    state: "ready",
    problems: [],
    schedule: { cron: "0 3 * * *", every: null, timezone: "UTC", enabled: true, nextExecuteAt: null },
    destination: "d1://db/t",
    params: null,
    lastRun: null,
    triggers: triggers === null ? null : { ...NO_TRIGGERS, ...triggers },
    waiting: [],
    ...fields,
  };
}

/** The deployment's own five, as GET /api/pipelines gives them. */
const DEPLOYMENT = [
  pipeline("default"),
  pipeline("orders", { downstream: ["orders-daily"] }),
  pipeline("orders-daily", { after: [{ pipeline: "orders", slots: "day" }], wait: { waitMs: 7_200_000, whenLate: "miss" } }),
  pipeline("store-drops", { objects: { bucket: "scheduled-pipeline-uploads", prefix: "drops/", suffix: ".csv", debounceMs: 30_000 } }),
  pipeline("orders-lake"),
];

const node = (layout: ReturnType<typeof graphLayout>, id: string) => layout.nodes.find((candidate) => candidate.id === id)!;

describe("graphLayout", () => {
  it("draws orders → orders-daily labelled day, and store-drops started by objects landing in its bucket", () => {
    const layout = graphLayout(DEPLOYMENT);
    expect(layout.edges.map((edge) => [edge.id, edge.kind, edge.label])).toEqual([
      ["orders->orders-daily", "upstream", "day"],
      ["objects->store-drops", "objects", "objects"],
    ]);
    expect(layout.edges[0]!.title).toBe("each orders-daily slot waits for the orders slots of the day before it (slots: day)");
    expect(node(layout, "objects:store-drops")).toMatchObject({ kind: "objects", pipeline: "store-drops", label: "R2 objects", detail: "drops/*.csv" });
    expect(node(layout, "objects:store-drops").title).toBe("objects landing in scheduled-pipeline-uploads/drops/*.csv start a store-drops run (debounce 30.0 s)");
    // Every pipeline has a box, in the order they are declared, sources after.
    expect(layout.nodes.map((entry) => entry.id)).toEqual(["pipeline:default", "pipeline:orders", "pipeline:orders-daily", "pipeline:store-drops", "pipeline:orders-lake", "objects:store-drops"]);
  });

  it("puts a downstream right of its upstream and level with it, and a source left of its pipeline", () => {
    const layout = graphLayout(DEPLOYMENT);
    const orders = node(layout, "pipeline:orders");
    const daily = node(layout, "pipeline:orders-daily");
    expect(daily.x).toBeGreaterThan(orders.x + orders.width);
    expect(daily.y).toBe(orders.y);
    const drops = node(layout, "pipeline:store-drops");
    const objects = node(layout, "objects:store-drops");
    expect(objects.x + objects.width).toBeLessThan(drops.x);
    expect(objects.y).toBe(drops.y);
    // No two boxes overlap, and the drawing holds them all.
    for (const a of layout.nodes) {
      for (const b of layout.nodes) {
        if (a === b) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${a.id} and ${b.id} overlap`).toBe(true);
      }
      expect(a.x + a.width).toBeLessThanOrEqual(layout.width);
      expect(a.y + a.height).toBeLessThanOrEqual(layout.height);
    }
    // The edge runs from the upstream's right side to the downstream's left side.
    expect(layout.edges[0]!.path).toMatch(new RegExp(`^M${orders.x + orders.width} ${orders.y + orders.height / 2} C.* ${daily.x} ${daily.y + daily.height / 2}$`));
  });

  it("places a chain by depth: a pipeline after two others stands right of the deeper one", () => {
    const layout = graphLayout([
      pipeline("a", { downstream: ["b", "c"] }),
      pipeline("b", { after: [{ pipeline: "a", slots: "interval" }], downstream: ["c"] }),
      pipeline("c", { after: [{ pipeline: "a", slots: "day" }, { pipeline: "b", slots: "interval" }] }),
    ]);
    const [a, b, c] = ["a", "b", "c"].map((name) => node(layout, `pipeline:${name}`));
    expect(a!.x).toBeLessThan(b!.x);
    expect(b!.x).toBeLessThan(c!.x);
    expect(layout.edges.map((edge) => `${edge.id} ${edge.label}`)).toEqual(["a->b interval", "a->c day", "b->c interval"]);
    expect(mappingTitle("b", "c", "interval")).toBe("each c slot waits for the b slots since its previous slot (slots: interval)");
  });

  it("marks a pipeline with waiting slots, and the edge of the upstream it waits for", () => {
    const owed = { pipeline: "orders", from: 0, to: 1, slots: [], count: 3, problem: null };
    const waiting = DEPLOYMENT.map((entry) => (entry.name === "orders-daily" ? { ...entry, waiting: [{ scheduledFor: 1, scheduledForLocal: "", since: 1, waitingFor: [owed] }, { scheduledFor: 2, scheduledForLocal: "", since: 2, waitingFor: [owed] }] } : entry));
    const layout = graphLayout(waiting);
    expect(node(layout, "pipeline:orders-daily")).toMatchObject({ status: "waiting", detail: "2 slots waiting" });
    expect(node(layout, "pipeline:orders-daily").title).toBe("orders-daily: runs after orders (day); 2 slots waiting for orders");
    expect(layout.edges.find((edge) => edge.id === "orders->orders-daily")!.waiting).toBe(true);
    expect(node(layout, "pipeline:orders").title).toBe("orders: feeds orders-daily");
  });

  it("shows debounced events as a source, not the events every pipeline takes one run each", () => {
    const layout = graphLayout([pipeline("a"), pipeline("b", { events: { debounceMs: 60_000, maxWaitMs: 600_000, maxEvents: 100 } })]);
    expect(layout.edges.map((edge) => edge.id)).toEqual(["events->b"]);
    expect(node(layout, "events:b")).toMatchObject({ label: "API events", detail: "debounce 1m 00s" });
  });

  it("draws a definition set aside as a box that cannot run, with no edges of its own", () => {
    const layout = graphLayout([pipeline("a"), pipeline("broken", null, { state: "invalid", problems: ["x"] })]);
    expect(node(layout, "pipeline:broken")).toMatchObject({ status: "broken", detail: "invalid" });
    expect(layout.edges).toEqual([]);
  });

  it("ignores an upstream that is not listed and survives a cycle", () => {
    const layout = graphLayout([pipeline("a", { after: [{ pipeline: "b", slots: "day" }] }), pipeline("b", { after: [{ pipeline: "a", slots: "day" }] }), pipeline("c", { after: [{ pipeline: "gone", slots: "day" }] })]);
    expect(layout.nodes).toHaveLength(3);
    expect(layout.edges.map((edge) => edge.id)).toEqual(["b->a", "a->b"]);
  });
});
