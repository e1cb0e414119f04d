/** Small helpers for building the page from the API's answers: text is always text, never markup. */

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, content: string | number | null = "", className = ""): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  element.textContent = content === null ? "" : String(content);
  if (className) element.className = className;
  return element;
}

export type Cell = string | Node;

export function row(cells: readonly Cell[], className = ""): HTMLTableRowElement {
  const tr = el("tr", "", className);
  tr.append(...cells.map((cell) => (typeof cell === "string" ? el("td", cell) : cell)));
  return tr;
}

/**
 * Puts `rows` in the table's body (or one row saying `empty`), and labels each cell with its column's
 * heading: on a narrow screen the table reflows into one block per row, each value beside its label.
 */
export function fillTable(table: HTMLTableElement, rows: readonly HTMLTableRowElement[], empty: string): void {
  const body = table.tBodies[0]!;
  const headings = [...(table.tHead?.rows[0]?.cells ?? [])].map((cell) => cell.textContent ?? "");
  if (rows.length === 0) {
    const cell = el("td", empty, "muted empty");
    cell.colSpan = Math.max(1, headings.length);
    body.replaceChildren(row([cell]));
    return;
  }
  for (const tr of rows) {
    [...tr.cells].forEach((cell, index) => {
      cell.setAttribute("data-label", headings[index] ?? "");
      // Reflowed, a cell is its label and one value: several parts go in one box.
      if (cell.childNodes.length > 1) {
        const value = el("div");
        value.append(...cell.childNodes);
        cell.append(value);
      }
    });
  }
  body.replaceChildren(...rows);
}

/** A definition list of facts: term, value. */
export function facts(container: HTMLElement, entries: readonly (readonly [string, Cell])[]): void {
  container.replaceChildren(
    ...entries.flatMap(([term, value]) => {
      const dd = el("dd");
      dd.append(value);
      return [el("dt", term), dd];
    }),
  );
}

/** The address of a view: #pipeline=<name>&run=<id>. */
export function viewHash(pipeline: string, run: string | null = null): string {
  const params = new URLSearchParams({ pipeline });
  if (run) params.set("run", run);
  return `#${params}`;
}

/** A row that opens something: by click, or by Enter once focused (rows are in the tab order). */
export function opens(tr: HTMLTableRowElement, open: () => void): HTMLTableRowElement {
  tr.tabIndex = 0;
  tr.onclick = open;
  tr.onkeydown = (event) => {
    if (event.key === "Enter") open();
  };
  return tr;
}

export function runLink(pipeline: string, runId: string): HTMLAnchorElement {
  const link = el("a", runId);
  link.href = viewHash(pipeline, runId);
  return link;
}

/** Text and links (lineage.ts's parts) as nodes: a link to a run opens it, one to a pipeline selects it. */
export function partNodes(parts: readonly (string | { pipeline: string; runId: string | null; text: string })[]): Node[] {
  return parts.map((part) => {
    if (typeof part === "string") return document.createTextNode(part);
    const link = el("a", part.text);
    link.href = viewHash(part.pipeline, part.runId);
    return link;
  });
}
