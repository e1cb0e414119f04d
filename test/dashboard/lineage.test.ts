/**
 * How the run card names what fed and started a run, and how the slot table names what a waiting slot
 * waits for: text with links to the runs and pipelines named.
 */
import { describe, expect, it } from "vitest";
import type { Run } from "../../src/dashboard/api-types";
import { lineageParts, partsText, waitingParts, waitingSummary } from "../../src/dashboard/lineage";
import { startRun } from "../../src/domain/run";
import { toRunView } from "../../src/domain/run-view";

const BERLIN = "Europe/Berlin";
const hour = (h: number) => Date.parse(`2026-12-01T${String(h).padStart(2, "0")}:15:00+01:00`);

function run(fields: Partial<Run> = {}): Run {
  const base = toRunView(startRun({ runId: "scheduled-1", pipeline: "orders-daily", trigger: "scheduled", scheduledFor: Date.parse("2026-12-02T02:30:00+01:00"), destination: "d1://db/t", now: 0 })) as Run;
  return { ...base, ...fields };
}

describe("lineageParts", () => {
  it("is empty for a run only its clock or a person started", () => {
    expect(lineageParts(run(), BERLIN)).toEqual([]);
    expect(lineageParts(run({ trigger: "manual" }), BERLIN)).toEqual([]);
  });

  it("links the upstream runs a slot consumed, per upstream, and says it had waited for them", () => {
    const upstream = Array.from({ length: 8 }, (_, index) => ({ pipeline: "orders", scheduledFor: hour(index), runId: `scheduled-${index}` }));
    const parts = lineageParts(run({ trigger: "upstream", lineage: { upstream, missingUpstream: null, objects: [], events: [], cascadeOf: null } }), BERLIN);
    expect(partsText(parts)).toBe(
      "Started once its upstream was in (the slot had waited for it). Consumed orders: 8 runs for its slots 2026-12-01 00:15:00+01:00 to 2026-12-01 07:15:00+01:00: " +
        "scheduled-0, scheduled-1, scheduled-2, scheduled-3, scheduled-4, scheduled-5 and 2 more. ",
    );
    const links = parts.filter((part) => typeof part !== "string");
    expect(links[0]).toEqual({ pipeline: "orders", runId: null, text: "orders" });
    expect(links.slice(1)).toHaveLength(6);
    expect(links[1]).toEqual({ pipeline: "orders", runId: "scheduled-0", text: "scheduled-0" });
  });

  it("names what a late run went without, the objects or events that started it, and its cascade", () => {
    const lineage = { upstream: [], missingUpstream: "orders: 2 slots not succeeded", objects: [{ key: "drops/a.csv", etag: "e1" }], events: [], cascadeOf: "bf-9" };
    expect(partsText(lineageParts(run({ trigger: "object", lineage }), BERLIN))).toBe("Started by objects landing. Ran without all its upstream: orders: 2 slots not succeeded. Object: drops/a.csv. Part of the cascade of backfill bf-9. ");
    const events = { ...lineage, missingUpstream: null, objects: [], cascadeOf: null, events: [{ id: "ev-1", idempotencyKey: "k1" }, { id: "ev-2", idempotencyKey: null }] };
    expect(partsText(lineageParts(run({ trigger: "event", lineage: events }), BERLIN))).toBe("Started by events posted. 2 events: ev-1 (key k1), ev-2. ");
  });
});

describe("waitingParts", () => {
  const owed = { pipeline: "orders", from: hour(0), to: hour(24), slots: [{ scheduledFor: hour(11), state: "ran", runId: "backfill-1", status: "failed" as const }, { scheduledFor: hour(12), state: "missed", runId: null, status: null }], count: 5, problem: null };

  it("names the upstream and its slots not succeeded, linking the pipeline and the runs", () => {
    const parts = waitingParts([owed], BERLIN);
    expect(partsText(parts)).toBe("waiting for orders: 5 slots not succeeded (2026-12-01 11:15:00+01:00 failed backfill-1, 2026-12-01 12:15:00+01:00 missed and 3 more)");
    expect(parts.filter((part) => typeof part !== "string")).toEqual([
      { pipeline: "orders", runId: null, text: "orders" },
      { pipeline: "orders", runId: "backfill-1", text: "backfill-1" },
    ]);
    expect(waitingSummary([owed])).toBe("orders (5 slots not succeeded)");
  });

  it("says why an upstream cannot be read, and when only the pipeline being busy holds a slot back", () => {
    expect(partsText(waitingParts([{ ...owed, slots: [], count: 0, problem: "its definition is invalid" }], BERLIN))).toBe("waiting for orders: its definition is invalid");
    expect(partsText(waitingParts([], BERLIN))).toBe("its upstream is in; waiting for the pipeline to be free");
    expect(waitingSummary([])).toBe("the pipeline to be free");
  });
});
