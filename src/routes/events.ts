import type { z } from "zod";
import { canonicalJson, EVENT_RETRY_MS, MAX_PENDING_EVENT_RUNS } from "../domain/api-events";
import { ApiError } from "../http/errors";
import { eventPath, runPath } from "../links";
import type { EventView } from "../agents/scheduler/event-intake";
import type { RunView } from "../domain/run-view";
import { pipelineApp, schedulerOf } from "./context";
import { err, MISCONFIGURED, WITH_BODY } from "./docs";
import { Resource } from "./operation";
import { EventResponse } from "./responses";
import { checkedParams } from "./runs";
import { EventBody, EventHeaders, EventIdParam } from "./schemas";

/** Set to "true" on the answer to a request that repeats an Idempotency-Key. */
export const REPLAYED_HEADER = "Idempotent-Replayed";

/**
 * Events posted to the API, as a webhook posts them: the body is the run's params. Each event is stored
 * before its run starts, and its run id is fixed then: with the Idempotency-Key header a repeated request
 * (a retried webhook) answers the same event and run, never a second one.
 */
export const eventRoutes = new Resource(pipelineApp())
  .add(
    {
      method: "post",
      path: "/events",
      summary: "Post an event: a run whose params are the body, debounced as the pipeline declares",
      headers: EventHeaders,
      body: EventBody,
      responses: {
        202: {
          description:
            "Accepted: the event and its run, started now or pending (its debounce window is open, or the pipeline is busy: it starts when free, never refused). A repeat of the Idempotency-Key answers the same event, as it is now.",
          schema: EventResponse,
          headers: { Location: "The event's URL (eventUrl).", [REPLAYED_HEADER]: "true when the request repeated an Idempotency-Key and this is the first request's event." },
        },
        ...WITH_BODY,
        400: err("invalid_body (the body is not a JSON object), invalid_params (naming each parameter that does not fit the pipeline's params schema, as POST …/trigger), invalid_header (an Idempotency-Key that is not 1 to 255 visible ASCII characters), invalid_json."),
        422: err("idempotency_key_reused: the Idempotency-Key was used for a request with other params (eventId names that event)."),
        429: err(`too_many_pending_events: ${MAX_PENDING_EVENT_RUNS} event runs wait to start already (Retry-After says when to try again).`),
        ...MISCONFIGURED,
      },
    },
    async (c) => {
      const given = c.get("body");
      const params = checkedParams(c.var.pipeline, given);
      const key = c.req.valid("header")["idempotency-key"] ?? null;
      const fingerprint = await sha256(canonicalJson(given));
      const receipt = await schedulerOf(c.env, c.var.pipeline).receiveEvent({ params, fingerprint, idempotencyKey: key });
      switch (receipt.outcome) {
        case "misconfigured":
          throw new ApiError(503, "invalid_configuration", `the pipeline is misconfigured: ${receipt.errors.join("; ")}`);
        case "key_reused":
          throw new ApiError(422, "idempotency_key_reused", `the Idempotency-Key ${JSON.stringify(key)} was used for event ${receipt.event.id} with other params; use a new key for a new event`, { eventId: receipt.event.id });
        case "too_many_pending":
          throw new ApiError(429, "too_many_pending_events", `${receipt.pending} event runs are waiting to start already; post again when some have started`, {}, { "Retry-After": String(EVENT_RETRY_MS / 1000) });
        case "accepted": {
          const body = answer(c.var.pipeline, c.var.base, receipt.event, receipt.run);
          c.header("Location", body.eventUrl);
          if (receipt.replayed) c.header(REPLAYED_HEADER, "true");
          return c.json(body, 202);
        }
      }
    },
  )
  .add(
    {
      method: "get",
      path: "/events/:id",
      summary: "One event posted to the API, with its run once it has started",
      params: EventIdParam,
      responses: { 200: { description: "The event, as POST …/events answered it, as it is now.", schema: EventResponse }, 400: err("Invalid id."), 404: err("event_not_found (events are kept 30 days after their run started).") },
    },
    async (c) => {
      const { id } = c.req.valid("param");
      const found = await schedulerOf(c.env, c.var.pipeline).describeEvent(id);
      if (found === null) throw new ApiError(404, "event_not_found", `no event with id ${JSON.stringify(id)}`);
      return c.json(answer(c.var.pipeline, c.var.base, found.event, found.run));
    },
  );

function answer(pipeline: string, base: string, event: EventView, run: RunView | null) {
  return {
    event,
    ...(run ? { run } : {}),
    statusUrl: runPath(pipeline, event.runId, base),
    eventUrl: eventPath(base, event.id),
  } satisfies z.input<typeof EventResponse>;
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
