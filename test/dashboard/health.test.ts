/** The dashboard header's badge names what is wrong across the deployment, pipeline by pipeline. */
import { describe, expect, it } from "vitest";
import type { PipelineSummary, SlotEntry } from "../../src/dashboard/api-types";
import { deploymentHealth, healthText } from "../../src/dashboard/health";

function pipeline(name: string, fields: Partial<PipelineSummary> = {}): PipelineSummary {
  return {
    name,
    description: "",
    state: "ready",
    problems: [],
    schedule: { cron: "0 3 * * *", every: null, timezone: "UTC", enabled: true, nextExecuteAt: null },
    destination: "d1://db/t",
    params: null,
    lastRun: { pipelineId: "manual-1", status: "succeeded", endTime: 1 },
    triggers: { after: [], wait: null, downstream: [], objects: null, events: { debounceMs: 0, maxWaitMs: 0, maxEvents: 1000 } },
    waiting: [],
    ...fields,
  };
}

function slot(fields: Partial<SlotEntry>): SlotEntry {
  return { scheduledFor: 0, scheduledForLocal: "", state: "ran", runId: "r", status: "succeeded", reason: null, startedLateByMs: 0, deadlineAt: null, deadlineMet: null, waitingFor: null, backfill: null, alerts: [], ...fields };
}

describe("deploymentHealth", () => {
  it("is ok when every pipeline is ready, its last run did not fail and its newest slot was fine", () => {
    const health = deploymentHealth([pipeline("a"), pipeline("b", { lastRun: null })], new Map([["a", [slot({}), slot({ state: "pending", runId: null, status: null })]]]));
    expect(health).toEqual({ level: "ok", problems: [] });
    expect(healthText(health)).toBe("ok");
  });

  it("names an invalid or misconfigured pipeline and a failed last run", () => {
    const health = deploymentHealth(
      [pipeline("broken", { state: "invalid", problems: ["x"], lastRun: null }), pipeline("orders", { state: "misconfigured", problems: ["y"] }), pipeline("default", { lastRun: { pipelineId: "m", status: "failed", endTime: 1 } })],
      new Map([["default", [slot({ status: "failed" })]]]),
    );
    expect(health.level).toBe("bad");
    expect(healthText(health)).toBe("broken: invalid definition · orders: misconfigured · default: last run failed");
  });

  it("names a missed or failed newest slot, and warns of a late one", () => {
    const ledgers = new Map([
      ["missed", [slot({}), slot({ state: "missed", runId: null, status: null })]],
      ["failed", [slot({ status: "failed" })]],
      ["late", [slot({ deadlineMet: false })]],
    ]);
    const health = deploymentHealth([pipeline("missed"), pipeline("failed"), pipeline("late")], ledgers);
    expect(healthText(health)).toBe("missed: last slot missed · failed: last slot failed · late: last slot late");
    expect(deploymentHealth([pipeline("late")], ledgers).level).toBe("warn");
  });

  it("does not hold against a slot a backfill has since filled in", () => {
    const backfilled = slot({ runId: "backfill-1", deadlineMet: false, backfill: { runId: "backfill-1", backfillId: "bf", status: "succeeded", startedAt: 5 } });
    expect(deploymentHealth([pipeline("a")], new Map([["a", [backfilled]]])).level).toBe("ok");
  });

  it("does not count a slot waiting for its upstream as a problem: waiting is how a downstream works", () => {
    const waiting = slot({ state: "waiting", runId: null, status: null, waitingFor: [{ pipeline: "orders", from: 0, to: 1, slots: [], count: 1, problem: null }] });
    expect(deploymentHealth([pipeline("orders-daily")], new Map([["orders-daily", [slot({}), waiting]]]))).toEqual({ level: "ok", problems: [] });
  });
});
