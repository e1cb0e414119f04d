import type { Run } from "../api-types";
import { el, runLink } from "../dom";
import { stageCounts, stageTiming } from "../stage-text";

/** A box per stage: status, counts, time and attempts (or the run it was reused from), errors. */
export function renderStages(container: HTMLElement, run: Run): void {
  container.replaceChildren(
    ...run.stages.map((stage) => {
      const box = el("div", "", `stage ${stage.status}${stage.reusedFrom ? " reused" : ""}`);
      box.dataset.stage = stage.name;
      box.append(el("strong", stage.name), el("span", stage.status, "status"), el("span", stageCounts(stage)));
      const timing = el("span", stageTiming(stage), "muted timing");
      if (stage.reusedFrom) {
        timing.textContent = "reused from ";
        timing.append(runLink(run.pipeline, stage.reusedFrom));
      }
      box.append(timing);
      const failures = stage.attemptErrors.filter((error) => error !== stage.error);
      if (failures.length > 0) {
        const list = el("ul", "", "attempt-errors");
        list.append(...failures.map((error) => el("li", error)));
        box.append(list);
      }
      if (stage.error) box.append(el("span", stage.error, "error"));
      return box;
    }),
  );
}
