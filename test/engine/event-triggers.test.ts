/**
 * `triggers.events` as the deployment loads it: each field checked with its name in the message, and the
 * defaults a pipeline that says nothing (or only a debounce) gets.
 */
import { describe, expect, it } from "vitest";
import { resolveTriggers, triggerProblems } from "../../src/engine/triggers";

const resolved = (events: unknown) => resolveTriggers(events === undefined ? undefined : { events }, { deadlineMs: null }).events;

describe("triggers.events", () => {
  it("without a declaration, every event is a run of its own", () => {
    expect(resolved(undefined)).toEqual({ debounceMs: 0, maxWaitMs: 0, maxEvents: 1_000 });
    expect(resolved({})).toEqual({ debounceMs: 0, maxWaitMs: 0, maxEvents: 1_000 });
  });

  it("a debounce alone waits at most ten debounces and holds at most 1,000 events", () => {
    expect(triggerProblems({ events: { debounce: "30s" } })).toEqual([]);
    expect(resolved({ debounce: "30s" })).toEqual({ debounceMs: 30_000, maxWaitMs: 300_000, maxEvents: 1_000 });
    expect(resolved({ debounce: "1m", maxWait: "2m", maxEvents: 5 })).toEqual({ debounceMs: 60_000, maxWaitMs: 120_000, maxEvents: 5 });
  });

  it.each([
    [{ debounce: "soon" }, 'triggers.events.debounce: debounce "soon" is not a duration like "30s", "15m", "6h" or "1d"'],
    [{ debounce: "2h" }, 'triggers.events.debounce: debounce must be between 0 s and 1 h, got "2h"'],
    [{ maxWait: "1m" }, "triggers.events.maxWait: maxWait batches debounced events: set a debounce too"],
    [{ maxEvents: 10 }, "triggers.events.maxEvents: maxEvents batches debounced events: set a debounce too"],
    [{ debounce: "30s", maxWait: "10s" }, 'triggers.events.maxWait: maxWait must be at least the debounce (30s), got "10s"'],
    [{ debounce: "30s", maxWait: "2d" }, 'triggers.events.maxWait: maxWait must be between 1 s and 1 day, got "2d"'],
    [{ debounce: "30s", maxEvents: 0 }, "triggers.events.maxEvents: maxEvents must be a whole number from 1 to 1000"],
    [{ debounce: "30s", maxEvents: 2.5 }, "triggers.events.maxEvents: maxEvents must be a whole number from 1 to 1000"],
    [{ debounce: "30s", maxEvents: "5" }, "triggers.events.maxEvents: maxEvents must be a whole number from 1 to 1000"],
    [{ debounce: "30s", batch: true }, 'triggers.events: Unrecognized key: "batch"'],
  ])("refuses %j, naming the field", (events, problem) => {
    expect(triggerProblems({ events })).toEqual([problem]);
  });
});
