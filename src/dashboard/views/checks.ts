import { blockingResults } from "../../domain/check-results";
import { acceptedText, checksSummary, offendingText, OUTCOME_MARK } from "../../display/checks";
import { time } from "../../display/format";
import type { Run } from "../api-types";
import { $, el, fillTable, row } from "../dom";

/** Offending records shown with their values, per check; the run's API answer holds up to ten. */
const SHOWN_RECORDS = 3;

/**
 * The open run's dataset checks: a row per check in its outcome's colour (expected, found, the first
 * offending records with their values, who accepted a failure); a run they blocked says so above its
 * stages, with a button that loads the very batch anyway, accepting the checks that blocked it.
 */
export function renderChecks(run: Run, timezone: string): void {
  const { checks } = run;
  const blocked = run.errorCode === "checks_failed" && checks !== undefined;
  const blocking = blocked ? blockingResults(checks.results) : [];
  $("run-blocked").hidden = !blocked;
  $("run-blocked").textContent = blocked ? `Blocked by checks: ${blocking.map((result) => result.name).join(", ")} failed, so nothing was written.` : "";
  const accept = $<HTMLButtonElement>("run-accept");
  accept.hidden = !blocked;
  accept.dataset.checks = JSON.stringify(blocking.map((result) => result.name));
  accept.textContent = `Load anyway, accepting ${blocking.length === 1 ? blocking[0]!.name : `${blocking.length} checks`}`;

  $("run-checks").hidden = !checks || checks.results.length === 0;
  if (!checks) return;
  $("run-checks-line").textContent = checksSummary(checks);
  const at = (ms: number) => time(ms, timezone);
  const rows = checks.results.map((result) => {
    const offending = el("td", offendingText(result) ?? "-", "wrap");
    for (const record of result.sample.slice(0, SHOWN_RECORDS)) {
      const values = Object.entries(record.values).map(([column, value]) => `${column}=${JSON.stringify(value)}`);
      offending.append(el("div", `${record.position} · ${record.id}${values.length ? ` · ${values.join(", ")}` : ""}`, "check-record"));
    }
    const accepted = result.accepted ? "accepted" : "";
    return row(
      [
        el("td", result.name, "wrap"),
        result.severity,
        el("td", `${OUTCOME_MARK[result.outcome]} ${result.outcome}`, "status"),
        el("td", result.expected, "wrap"),
        el("td", result.found, "wrap"),
        offending,
        el("td", result.accepted ? acceptedText(result.accepted, at) : "-", "wrap"),
      ],
      // severity-…: a bare "error" class would be the page's red error text.
      `check ${result.outcome} severity-${result.severity} ${accepted}`.trim(),
    );
  });
  fillTable($<HTMLTableElement>("run-checks-table"), rows, "None.");
}
