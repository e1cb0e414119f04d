/**
 * Which pipeline feeds which, laid out for a small drawing: pipelines in columns by how deep they sit
 * (a pipeline stands one column right of the deepest pipeline it runs after), what starts a pipeline
 * besides its clock (objects landing in R2, events posted with a debounce) one column left of it, and an
 * edge from each upstream to its downstream labelled with the slots it consumes. Pure: the view draws
 * what this returns, and the tests read it.
 */
import { duration } from "../display/format";
import type { PipelineSummary } from "./api-types";

export type GraphNodeKind = "pipeline" | "objects" | "events";

export interface GraphNode {
  id: string;
  kind: GraphNodeKind;
  /** The pipeline the node is (or starts): clicking it selects this pipeline. */
  pipeline: string;
  label: string;
  detail: string;
  /** A tooltip, and what a screen reader says. */
  title: string;
  /** How the node reads: a pipeline with slots waiting for their upstream, one that cannot run. */
  status: "ok" | "waiting" | "broken";
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GraphEdge {
  id: string;
  from: string;
  to: string;
  kind: "upstream" | "objects" | "events";
  label: string;
  title: string;
  /** The downstream has slots waiting for this upstream. */
  waiting: boolean;
  /** An SVG path from the right of `from` to the left of `to`, and where its label goes. */
  path: string;
  labelX: number;
  labelY: number;
}

export interface GraphLayout {
  nodes: GraphNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

export const NODE_HEIGHT = 44;
const ROW = NODE_HEIGHT + 14;
const COLUMN_GAP = 96;
const MIN_WIDTH = 112;
const PAD = 4;

/** The width a node's text needs, estimated from its length (13 px bold label, 11 px detail). */
function widthOf(label: string, detail: string): number {
  return Math.max(MIN_WIDTH, Math.ceil(Math.max(label.length * 7.8, detail.length * 6.4)) + 24);
}

function cadence(schedule: PipelineSummary["schedule"]): string {
  return schedule.cron ? `cron ${schedule.cron}` : schedule.every ? `every ${schedule.every}` : "no schedule";
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** What one upstream edge means, in words. */
export function mappingTitle(upstream: string, downstream: string, slots: "day" | "interval"): string {
  return slots === "day"
    ? `each ${downstream} slot waits for the ${upstream} slots of the day before it (slots: day)`
    : `each ${downstream} slot waits for the ${upstream} slots since its previous slot (slots: interval)`;
}

/** The pipelines each pipeline waits for right now (from its waiting slots). */
function waitedFor(pipeline: PipelineSummary): Set<string> {
  return new Set(pipeline.waiting.flatMap((slot) => slot.waitingFor.map((entry) => entry.pipeline)));
}

export function graphLayout(pipelines: readonly PipelineSummary[]): GraphLayout {
  const byName = new Map(pipelines.map((pipeline) => [pipeline.name, pipeline]));
  const upstreamOf = (pipeline: PipelineSummary) => (pipeline.triggers?.after ?? []).filter((entry) => byName.has(entry.pipeline) && entry.pipeline !== pipeline.name);
  const hasSource = (pipeline: PipelineSummary) => pipeline.triggers !== null && (pipeline.triggers.objects !== null || pipeline.triggers.events.debounceMs > 0);

  // Columns: one right of the deepest upstream; a pipeline started by objects or events leaves room for them.
  const layers = new Map<string, number>();
  const layerOf = (name: string, path: ReadonlySet<string> = new Set()): number => {
    const known = layers.get(name);
    if (known !== undefined) return known;
    const pipeline = byName.get(name)!;
    let layer = hasSource(pipeline) ? 1 : 0;
    for (const upstream of upstreamOf(pipeline)) {
      // A cycle is refused when the deployment loads; should one reach here, it is not followed round.
      if (!path.has(upstream.pipeline)) layer = Math.max(layer, layerOf(upstream.pipeline, new Set([...path, name])) + 1);
    }
    layers.set(name, layer);
    return layer;
  };
  for (const pipeline of pipelines) layerOf(pipeline.name);

  const nodes: GraphNode[] = [];
  const layerOfNode = new Map<string, number>();
  const add = (node: Omit<GraphNode, "x" | "y" | "width" | "height">, layer: number) => {
    nodes.push({ ...node, x: 0, y: 0, width: widthOf(node.label, node.detail), height: NODE_HEIGHT });
    layerOfNode.set(node.id, layer);
  };
  for (const pipeline of pipelines) {
    const waiting = pipeline.waiting.length;
    const upstream = upstreamOf(pipeline).map((entry) => `${entry.pipeline} (${entry.slots})`);
    const words = [
      upstream.length ? `runs after ${upstream.join(", ")}` : "",
      pipeline.triggers?.downstream.length ? `feeds ${pipeline.triggers.downstream.join(", ")}` : "",
      waiting ? `${plural(waiting, "slot")} waiting for ${[...waitedFor(pipeline)].join(", ") || "the pipeline to be free"}` : "",
      pipeline.state === "ready" ? "" : pipeline.state,
    ].filter(Boolean);
    add(
      {
        id: `pipeline:${pipeline.name}`,
        kind: "pipeline",
        pipeline: pipeline.name,
        label: pipeline.name,
        detail: pipeline.state !== "ready" ? pipeline.state : waiting ? `${plural(waiting, "slot")} waiting` : cadence(pipeline.schedule),
        title: `${pipeline.name}${words.length ? `: ${words.join("; ")}` : ""}`,
        status: pipeline.state !== "ready" ? "broken" : waiting ? "waiting" : "ok",
      },
      layers.get(pipeline.name)!,
    );
  }

  // Rows: the first column in the order pipelines are declared; further right, level with what feeds them.
  const y = new Map<string, number>();
  const deepest = Math.max(0, ...layers.values());
  for (let layer = 0; layer <= deepest; layer += 1) {
    const here = pipelines.filter((pipeline) => layers.get(pipeline.name) === layer);
    const wanted = here.map((pipeline, index) => {
      const fed = upstreamOf(pipeline).map((entry) => y.get(entry.pipeline)).filter((value): value is number => value !== undefined);
      const declared = pipelines.indexOf(pipeline) * ROW;
      return { name: pipeline.name, at: fed.length ? fed.reduce((sum, value) => sum + value, 0) / fed.length : layer === 0 ? index * ROW : declared, order: pipelines.indexOf(pipeline) };
    });
    wanted.sort((a, b) => a.at - b.at || a.order - b.order);
    let next = 0;
    for (const entry of wanted) {
      const at = Math.max(entry.at, next);
      y.set(entry.name, at);
      next = at + ROW;
    }
  }

  // Sources: left of their pipeline, as level with it as the pipelines already in that column allow.
  const edges: Omit<GraphEdge, "path" | "labelX" | "labelY">[] = [];
  for (const pipeline of pipelines) {
    const triggers = pipeline.triggers;
    if (!triggers) continue;
    const layer = layers.get(pipeline.name)! - 1;
    const sources: Omit<GraphNode, "x" | "y" | "width" | "height">[] = [];
    if (triggers.objects) {
      const { bucket, prefix, suffix, debounceMs } = triggers.objects;
      sources.push({
        id: `objects:${pipeline.name}`,
        kind: "objects",
        pipeline: pipeline.name,
        label: "R2 objects",
        detail: `${prefix}*${suffix}`,
        title: `objects landing in ${bucket}/${prefix}*${suffix} start a ${pipeline.name} run (debounce ${duration(debounceMs)})`,
        status: "ok",
      });
      edges.push({ id: `objects->${pipeline.name}`, from: `objects:${pipeline.name}`, to: `pipeline:${pipeline.name}`, kind: "objects", label: "objects", title: sources.at(-1)!.title, waiting: false });
    }
    if (triggers.events.debounceMs > 0) {
      sources.push({
        id: `events:${pipeline.name}`,
        kind: "events",
        pipeline: pipeline.name,
        label: "API events",
        detail: `debounce ${duration(triggers.events.debounceMs)}`,
        title: `events posted to ${pipeline.name} within ${duration(triggers.events.debounceMs)} of each other make one run`,
        status: "ok",
      });
      edges.push({ id: `events->${pipeline.name}`, from: `events:${pipeline.name}`, to: `pipeline:${pipeline.name}`, kind: "events", label: "events", title: sources.at(-1)!.title, waiting: false });
    }
    sources.forEach((source, index) => {
      add(source, layer);
      y.set(source.id, freeRow(nodes, layerOfNode, y, layer, y.get(pipeline.name)! + index * ROW, source.id));
    });
    const waits = waitedFor(pipeline);
    for (const upstream of upstreamOf(pipeline)) {
      edges.push({
        id: `${upstream.pipeline}->${pipeline.name}`,
        from: `pipeline:${upstream.pipeline}`,
        to: `pipeline:${pipeline.name}`,
        kind: "upstream",
        label: upstream.slots,
        title: mappingTitle(upstream.pipeline, pipeline.name, upstream.slots),
        waiting: waits.has(upstream.pipeline),
      });
    }
  }

  // Columns as wide as their widest node.
  const columns = Math.max(0, ...layerOfNode.values()) + 1;
  const widths = Array.from({ length: columns }, (_, layer) => Math.max(MIN_WIDTH, ...nodes.filter((node) => layerOfNode.get(node.id) === layer).map((node) => node.width)));
  const left = widths.map((_, layer) => PAD + widths.slice(0, layer).reduce((sum, width) => sum + width + COLUMN_GAP, 0));
  for (const node of nodes) {
    const layer = layerOfNode.get(node.id)!;
    node.width = widths[layer]!;
    node.x = left[layer]!;
    node.y = PAD + (y.get(node.kind === "pipeline" ? node.pipeline : node.id) ?? 0);
  }
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const drawn = edges.map((edge) => {
    const from = byId.get(edge.from)!;
    const to = byId.get(edge.to)!;
    const x1 = from.x + from.width;
    const y1 = from.y + from.height / 2;
    const x2 = to.x;
    const y2 = to.y + to.height / 2;
    const bend = Math.max(24, (x2 - x1) / 2);
    return { ...edge, path: `M${x1} ${y1} C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}`, labelX: (x1 + x2) / 2, labelY: (y1 + y2) / 2 };
  });
  const width = Math.max(...nodes.map((node) => node.x + node.width), 0) + PAD;
  const height = Math.max(...nodes.map((node) => node.y + node.height), 0) + PAD;
  return { nodes, edges: drawn, width, height };
}

/** The row nearest `wanted` in `layer` that no node there holds yet. */
function freeRow(nodes: readonly GraphNode[], layers: ReadonlyMap<string, number>, y: ReadonlyMap<string, number>, layer: number, wanted: number, self: string): number {
  const taken = nodes.filter((node) => node.id !== self && layers.get(node.id) === layer).map((node) => y.get(node.kind === "pipeline" ? node.pipeline : node.id)).filter((value): value is number => value !== undefined);
  const free = (at: number) => taken.every((other) => Math.abs(other - at) >= ROW);
  for (let step = 0; ; step += 1) {
    for (const at of [wanted + step * ROW, wanted - step * ROW]) if (at >= 0 && free(at)) return at;
  }
}
