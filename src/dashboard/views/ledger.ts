import { duration, time } from "../../display/format";
import type { SlotEntry } from "../api-types";
import { slotClass, type DayCell } from "../day-strip";
import { $, el, fillTable, partNodes, row, runLink } from "../dom";
import { waitingParts } from "../lineage";
import { stripElement } from "./strip";

/** The selected pipeline's slots: the strip of days, a line of counts, and the newest slots in a table. */
export function renderLedger(pipeline: string, timezone: string, slots: readonly SlotEntry[], cells: readonly DayCell[]): void {
  const strip = stripElement(cells, "big");
  strip.id = "ledger-strip";
  $("ledger-strip").replaceWith(strip);
  const states = new Map<string, number>();
  for (const slot of slots) states.set(slot.state, (states.get(slot.state) ?? 0) + 1);
  const outside = cells.reduce((sum, cell) => sum + (cell.outside?.runs ?? 0), 0);
  $("ledger-line").textContent =
    `last ${cells.length} days (${timezone}) · ${[...states].map(([state, n]) => `${n} ${state}`).join(" · ") || "no slots yet"}` + (outside ? ` · ${outside} run${outside === 1 ? "" : "s"} outside the schedule` : "");
  const rows = slots
    .slice(-15)
    .reverse()
    .map((slot) => {
      const run = el("td", "", "wrap");
      if (slot.runId && slot.state === "ran") run.append(runLink(pipeline, slot.runId));
      else run.textContent = slot.runId ?? "-";
      const backfill = el("td", "", "wrap");
      if (slot.backfill) backfill.append(runLink(pipeline, slot.backfill.runId), ` ${slot.backfill.status}`);
      else backfill.textContent = "-";
      const deadline = slot.deadlineAt === null ? "-" : `${slot.deadlineMet === null ? "due" : slot.deadlineMet ? "met" : "missed"} ${time(slot.deadlineAt, timezone)}`;
      const alerts = slot.alerts.map((alert) => `${alert.event} ${alert.status}`).join(", ");
      const reason = el("td", [slot.reason, alerts].filter(Boolean).join(" · ") || "-", "wrap");
      // A waiting slot names what it waits for, the upstream pipeline and its runs linked.
      if (slot.state === "waiting" && slot.waitingFor) reason.replaceChildren(...partNodes(waitingParts(slot.waitingFor, timezone)), ...(alerts ? [` · ${alerts}`] : []));
      const tr = row(
        [slot.scheduledForLocal.replace("T", " "), el("td", slot.state, "status"), run, slot.status ?? "-", duration(slot.startedLateByMs), deadline, backfill, reason],
        `${slotClass(slot)} ${slot.state === "ran" ? (slot.status ?? "") : slot.state}`,
      );
      tr.dataset.slot = String(slot.scheduledFor);
      return tr;
    });
  fillTable($<HTMLTableElement>("ledger"), rows, `No slots in the last ${cells.length} days.`);
}

export function ledgerUnavailable(message: string): void {
  $("ledger-line").textContent = message;
  fillTable($<HTMLTableElement>("ledger"), [], message);
}
