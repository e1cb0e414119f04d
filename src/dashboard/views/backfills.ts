import type { Backfills } from "../api-types";
import { $, el, fillTable, row } from "../dom";

/** The pipeline's backfills, newest first, with a cancel button on a running one. */
export function renderBackfills(page: Backfills, cancel: (statusUrl: string, backfillId: string, button: HTMLButtonElement) => void): void {
  const rows = page.backfills.map((backfill) => {
    const { counts } = backfill;
    const ran = counts.succeeded + counts.failed + counts.cancelled + counts.running;
    const action = el("td");
    if (backfill.status === "running") {
      const button = el("button", "Cancel", "link");
      button.type = "button";
      button.onclick = () => cancel(backfill.statusUrl, backfill.backfillId, button);
      action.append(button);
    }
    const local = (iso: string) => iso.replace("T", " ");
    const tr = row(
      [
        el("td", backfill.backfillId, "wrap"),
        `${local(backfill.fromLocal)} – ${local(backfill.toLocal)}`,
        backfill.reprocess,
        el("td", backfill.status, "status"),
        `${counts.succeeded} succeeded · ${counts.failed} failed · ${counts.pending + counts.running} to go · ${counts.skipped} skipped (${ran} run)`,
        action,
      ],
      backfill.status,
    );
    tr.dataset.backfillId = backfill.backfillId;
    return tr;
  });
  fillTable($<HTMLTableElement>("backfills"), rows, "No backfills yet.");
}
