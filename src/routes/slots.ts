import { ApiError } from "../http/errors";
import { validate } from "../http/validate";
import { pipelineApp, schedulerOf } from "./context";
import { SlotsQuery } from "./schemas";

/** A ledger page covers at most this many slots. */
export const MAX_LEDGER_SLOTS = 1_000;
const DEFAULT_SPAN_MS = 7 * 86_400_000;

/**
 * The slot ledger: every slot the pipeline's schedule expected in a range, oldest first, and its fate
 * (ran, skipped, missed, pending), with lateness against the pipeline's deadline.
 */
export const slotRoutes = pipelineApp().get("/slots", validate("query", SlotsQuery), async (c) => {
  const query = c.req.valid("query");
  const now = Date.now();
  const scheduler = schedulerOf(c.env, c.var.pipeline);
  // By default: the last seven days and the next slot, which is pending.
  const to = query.to ?? ((await scheduler.nextSlotAfter(now)) ?? now) + 1;
  // The range's end is excluded, so the earliest one that can hold a slot is just after 1970-01-01.
  if (to <= 0) throw new ApiError(400, "invalid_query", "invalid query: to: must be after 1970-01-01T00:00:00Z (the range's end is excluded)");
  // The default start never reaches before the earliest instant the API takes.
  const from = query.from ?? Math.max(0, to - DEFAULT_SPAN_MS);
  if (from >= to) throw new ApiError(400, "invalid_query", "invalid query: from must be before to");
  const ledger = await scheduler.slots(from, to, MAX_LEDGER_SLOTS);
  if (!ledger.ok) throw new ApiError(400, "too_many_slots", ledger.reason);
  return c.json({ from, to, slots: ledger.slots });
});
