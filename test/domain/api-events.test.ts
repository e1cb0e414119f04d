/**
 * Events posted to the API, decided without I/O: which run an event joins and when that run is due (no
 * debounce: its own run, at once; a debounce: a sliding window over equal params, capped by maxWait and
 * maxEvents), what counts as the same params or the same request, and which Idempotency-Keys are taken.
 */
import { describe, expect, it } from "vitest";
import { canonicalJson, IDEMPOTENCY_KEY, placeEvent, type EventWindow, type OpenEventRun } from "../../src/domain/api-events";

const debounced: EventWindow = { debounceMs: 30_000, maxWaitMs: 300_000, maxEvents: 1_000 };
const open = (changes: Partial<OpenEventRun> = {}): OpenEventRun => ({ runId: "event-1000-1", openedAt: 1_000, startsAt: 31_000, events: 1, ...changes });

describe("placeEvent", () => {
  it("without a debounce, every event opens a run of its own, due at once", () => {
    expect(placeEvent(null, 5_000, { debounceMs: 0, maxWaitMs: 0, maxEvents: 1_000 })).toEqual({ kind: "open", startsAt: 5_000 });
    expect(placeEvent(open({ startsAt: 9_000 }), 5_000, { debounceMs: 0, maxWaitMs: 0, maxEvents: 1_000 })).toEqual({ kind: "open", startsAt: 5_000 });
  });

  it("given no open run of its params, opens one due a debounce from now", () => {
    expect(placeEvent(null, 1_000, debounced)).toEqual({ kind: "open", startsAt: 31_000 });
  });

  it("given an open run, joins it and slides its start to a debounce after this event", () => {
    expect(placeEvent(open(), 20_000, debounced)).toEqual({ kind: "join", runId: "event-1000-1", startsAt: 50_000 });
  });

  it("never slides the start past maxWait after the run's first event", () => {
    expect(placeEvent(open({ startsAt: 295_000 }), 290_000, debounced)).toEqual({ kind: "join", runId: "event-1000-1", startsAt: 301_000 });
  });

  it("the event that fills the run to maxEvents makes it due now; a full or due run takes no more", () => {
    const three = { ...debounced, maxEvents: 3 };
    expect(placeEvent(open({ events: 2 }), 10_000, three)).toEqual({ kind: "join", runId: "event-1000-1", startsAt: 10_000 });
    expect(placeEvent(open({ events: 3 }), 10_000, three)).toEqual({ kind: "open", startsAt: 40_000 });
    expect(placeEvent(open({ startsAt: 10_000 }), 10_000, debounced)).toEqual({ kind: "open", startsAt: 40_000 });
  });

  it("with maxEvents 1, each event is due at once even with a debounce", () => {
    expect(placeEvent(null, 10_000, { ...debounced, maxEvents: 1 })).toEqual({ kind: "open", startsAt: 10_000 });
  });
});

describe("canonicalJson", () => {
  it("reads objects with their keys in any order, nested ones too, the same", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"e":1,"f":2}]},"b":1}');
    expect(canonicalJson({ store: "berlin", day: "2026-11-28" })).toBe(canonicalJson({ day: "2026-11-28", store: "berlin" }));
  });

  it("keeps what differs: list order, types, values", () => {
    expect(canonicalJson({ tags: ["a", "b"] })).not.toBe(canonicalJson({ tags: ["b", "a"] }));
    expect(canonicalJson({ n: 1 })).not.toBe(canonicalJson({ n: "1" }));
    expect(canonicalJson({})).toBe("{}");
  });
});

describe("Idempotency-Key", () => {
  it.each(["a", "3f2b8c1e-9d4a-4b7e-8f0a-1c2d3e4f5a6b", "order:1042/v2", "x".repeat(255)])("takes %j", (key) => {
    expect(IDEMPOTENCY_KEY.test(key)).toBe(true);
  });

  it.each(["", "two words", "x".repeat(256), "tab\there", "caf\u00e9", "line\n"])("refuses %j", (key) => {
    expect(IDEMPOTENCY_KEY.test(key)).toBe(false);
  });
});
