/**
 * Which pipeline feeds which: each pipeline names the upstream pipelines it runs after. The graph is
 * checked when the deployment loads: an upstream that is not a pipeline, and every cycle, are refused
 * with a message naming them; the pipelines in a cycle are set aside (a cycle can never start).
 */
export interface GraphNode {
  name: string;
  after: readonly string[];
}

/** The problems of each pipeline's upstream list, by pipeline name. */
export function graphProblems(nodes: readonly GraphNode[], known: (name: string) => boolean): Map<string, string[]> {
  const problems = new Map<string, string[]>();
  const add = (name: string, problem: string) => problems.set(name, [...(problems.get(name) ?? []), problem]);
  const byName = new Map(nodes.map((node) => [node.name, node]));
  for (const node of nodes) {
    for (const upstream of node.after) {
      if (upstream === node.name) add(node.name, `triggers.after names the pipeline itself (${node.name}); a pipeline cannot wait for its own slots`);
      else if (!known(upstream)) add(node.name, `triggers.after names ${JSON.stringify(upstream)}, which is not a pipeline of this deployment`);
    }
    if (new Set(node.after).size !== node.after.length) add(node.name, "triggers.after names a pipeline twice");
  }
  for (const cycle of cycles(nodes.filter((node) => byName.has(node.name)))) {
    const path = [...cycle, cycle[0]].join(" → ");
    for (const name of cycle) add(name, `triggers.after makes a cycle: ${path}`);
  }
  return problems;
}

/** Every elementary cycle found by a depth-first walk, each once, starting at its first name in declaration order. */
function cycles(nodes: readonly GraphNode[]): string[][] {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const order = new Map(nodes.map((node, index) => [node.name, index]));
  const found = new Map<string, string[]>();
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (name: string) => {
    state.set(name, "open");
    stack.push(name);
    for (const next of byName.get(name)?.after ?? []) {
      if (next === name || !byName.has(next)) continue;
      if (state.get(next) === "open") {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.reduce((best, candidate, index) => (order.get(candidate)! < order.get(cycle[best]!)! ? index : best), 0);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        found.set(rotated.join("\u0000"), rotated);
      } else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const node of nodes) if (!state.has(node.name)) visit(node.name);
  return [...found.values()];
}

/** The pipelines that run after `name`, directly. */
export function downstreamOf(nodes: readonly GraphNode[], name: string): string[] {
  return nodes.filter((node) => node.after.includes(name)).map((node) => node.name);
}

/**
 * Every pipeline downstream of `root`, transitively, in dependency order: each after all of its upstreams
 * that are in the set. `root` itself is not included.
 */
export function downstreamClosure(nodes: readonly GraphNode[], root: string): string[] {
  const reached = new Set<string>();
  const walk = (name: string) => {
    for (const next of downstreamOf(nodes, name)) {
      if (reached.has(next) || next === root) continue;
      reached.add(next);
      walk(next);
    }
  };
  walk(root);
  const ordered: string[] = [];
  const placed = new Set<string>([root]);
  while (ordered.length < reached.size) {
    const ready = [...reached].find((name) => !placed.has(name) && nodes.find((node) => node.name === name)!.after.every((upstream) => placed.has(upstream) || !reached.has(upstream)));
    if (ready === undefined) break; // a cycle: refused when the deployment loads, so never here
    ordered.push(ready);
    placed.add(ready);
  }
  return ordered;
}
