import type { PipelineSummary } from "../api-types";
import { $ } from "../dom";
import { graphLayout, NODE_HEIGHT, type GraphLayout } from "../graph-layout";

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** What was drawn last: the drawing is redone only when it would change (a focused node keeps its focus). */
let drawn = "";

/**
 * The dependency graph (graph-layout.ts) as SVG: a box per pipeline, a smaller one per object or event
 * trigger, arrows from upstream to downstream labelled with the slots consumed. A box is a button that
 * selects its pipeline, as a row of the pipelines table does. Hidden when no pipeline runs after another
 * and none is started by objects or events.
 */
export function renderGraph(pipelines: readonly PipelineSummary[], selected: string | null, open: (name: string) => void): void {
  const layout = graphLayout(pipelines);
  const card = $("graph-card");
  card.hidden = layout.edges.length === 0;
  const key = JSON.stringify([layout, selected]);
  if (card.hidden || key === drawn) return;
  drawn = key;
  const upstream = layout.edges.filter((edge) => edge.kind === "upstream").length;
  const sources = layout.edges.length - upstream;
  const waiting = layout.nodes.filter((node) => node.status === "waiting").length;
  $("graph-line").textContent = [
    `${upstream} pipeline${upstream === 1 ? "" : "s"} run${upstream === 1 ? "s" : ""} after another`,
    sources ? `${sources} started by objects or events` : "",
    waiting ? `${waiting} waiting for ${waiting === 1 ? "its" : "their"} upstream` : "",
  ]
    .filter(Boolean)
    .join(" · ");
  $("graph").replaceChildren(draw(layout, selected, open));
}

function draw(layout: GraphLayout, selected: string | null, open: (name: string) => void): SVGSVGElement {
  const root = svg("svg", { viewBox: `0 0 ${layout.width} ${layout.height}`, width: layout.width, height: layout.height, role: "group", "aria-label": "Which pipeline feeds which" });
  // Scaled to its card, but to no less than three quarters of its size: past that it scrolls, readable.
  root.style.minWidth = `${Math.round(layout.width * 0.75)}px`;
  const defs = svg("defs");
  for (const kind of ["arrow", "arrow-waiting"]) {
    const marker = svg("marker", { id: `graph-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M0 0 L10 5 L0 10 z", class: `graph-arrow ${kind}` }));
    defs.append(marker);
  }
  root.append(defs);
  for (const edge of layout.edges) {
    const group = svg("g", { class: `graph-edge ${edge.kind}${edge.waiting ? " waiting" : ""}`, "data-edge": edge.id });
    group.append(svg("title", {}, edge.title), svg("path", { d: edge.path, "marker-end": `url(#graph-${edge.waiting ? "arrow-waiting" : "arrow"})` }));
    const width = edge.label.length * 6.6 + 10;
    group.append(
      svg("rect", { x: edge.labelX - width / 2, y: edge.labelY - 9, width, height: 18, rx: 4, class: "graph-label-box" }),
      svg("text", { x: edge.labelX, y: edge.labelY + 4, "text-anchor": "middle", class: "graph-label" }, edge.label),
    );
    root.append(group);
  }
  for (const node of layout.nodes) {
    const classes = ["graph-node", node.kind, node.status, node.kind === "pipeline" && node.pipeline === selected ? "selected" : ""].filter(Boolean).join(" ");
    const group = svg("g", { class: classes, tabindex: 0, role: "button", "aria-label": node.title, "data-node": node.id });
    if (node.kind === "pipeline") group.setAttribute("data-pipeline", node.pipeline);
    group.append(
      svg("title", {}, node.title),
      svg("rect", { x: node.x, y: node.y, width: node.width, height: NODE_HEIGHT, rx: node.kind === "pipeline" ? 6 : NODE_HEIGHT / 2 }),
      svg("text", { x: node.x + 12, y: node.y + 18, class: "graph-name" }, node.label),
      svg("text", { x: node.x + 12, y: node.y + 34, class: "graph-detail" }, node.detail),
    );
    group.addEventListener("click", () => open(node.pipeline));
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open(node.pipeline);
      }
    });
    root.append(group);
  }
  return root;
}
