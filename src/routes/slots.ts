import { localIso } from "../domain/local-time";
import { ApiError } from "../http/errors";
import { pipelineApp, schedulerOf } from "./context";
import { err } from "./docs";
import { Resource } from "./operation";
import { SlotsResponse } from "./responses";
import { SlotsQuery } from "./schemas";

/** A ledger page covers at most this many slots. */
export const MAX_LEDGER_SLOTS = 1_000;

/**
 * The slot ledger: every slot the pipeline's schedule expected in a range, oldest first, and its fate
 * (ran, skipped, missed, pending), with lateness against the pipeline's deadline; times in epoch ms and on
 * the schedule's wall clock.
 */
export const slotRoutes = new Resource(pipelineApp()).add(
  {
    method: "get",
    path: "/slots",
    summary: "The slot ledger: every expected slot of a range and its fate",
    query: SlotsQuery,
    responses: {
      200: { description: "Slots in [from, to), oldest first (default: the seven days up to just after the next slot); dates in the query are the pipeline's days.", schema: SlotsResponse },
      400: err("invalid_query, or too_many_slots (more than 1,000 in the range)."),
    },
  },
  async (c) => {
  const query = c.req.valid("query");
  const ledger = await schedulerOf(c.env, c.var.pipeline).slots({ from: query.from ?? null, to: query.to ?? null, max: MAX_LEDGER_SLOTS });
  if (!ledger.ok) throw new ApiError(400, ledger.code, ledger.reason);
  return c.json({ from: ledger.from, to: ledger.to, timezone: ledger.timezone, fromLocal: localIso(ledger.from, ledger.timezone), toLocal: localIso(ledger.to, ledger.timezone), slots: ledger.slots, triggered: ledger.triggered });
  },
);
