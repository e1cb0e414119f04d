import type { DayCell } from "../day-strip";
import { el } from "../dom";

/**
 * The strip of days: one cell per day in the colour of its worst slot; a dot under a day that had runs
 * outside the schedule (red when one of them did not succeed).
 */
export function stripElement(cells: readonly DayCell[], size: "big" | "small"): HTMLElement {
  const strip = el("div", "", `strip ${size}`);
  strip.setAttribute("role", "img");
  strip.setAttribute("aria-label", cells.map((cell) => cell.title).join("; "));
  for (const cell of cells) {
    const day = el("span", "", `day`);
    day.dataset.day = cell.date;
    day.title = cell.title;
    day.append(el("span", "", `cell ${cell.worst}`));
    if (size === "big") {
      const mark = el("span", "", `outside${cell.outside === null ? "" : cell.outside.unsuccessful > 0 ? " failed" : " ok"}`);
      if (cell.outside !== null) mark.dataset.runs = String(cell.outside.runs);
      day.append(mark);
    }
    strip.append(day);
  }
  return strip;
}
