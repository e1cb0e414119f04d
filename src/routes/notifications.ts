import { Hono } from "hono";
import type { z } from "zod";
import { R2NotificationSchema, routeNotification } from "../domain/object-notifications";
import { ApiError } from "../http/errors";
import { deployment } from "../pipelines";
import { objectListeners } from "../queues/object-events";
import { err, WITH_BODY } from "./docs";
import { Resource } from "./operation";
import { NotificationSentResponse } from "./responses";

/**
 * `POST /api/notifications/r2`: what R2 does where it sends event notifications, for where it sends none
 * (a local `wrangler dev`: miniflare has no code for them). The body is a notification in the platform's
 * shape; it is put on the OBJECT_EVENTS queue, which the Worker consumes as it consumes R2's own. Only
 * where LOCAL_R2_NOTIFICATIONS is "true" (`npm run dev` sets it): a deployed Worker gets R2's.
 */
export const notificationRoutes = new Resource(new Hono<{ Bindings: Env }>()).add(
  {
    method: "post",
    path: "/api/notifications/r2",
    summary: "Send an R2 event notification to the Worker's queue, where R2 sends none (local development)",
    body: R2NotificationSchema,
    responses: {
      202: { description: "On the queue; the pipelines it matches start a run after their debounce.", schema: NotificationSentResponse },
      ...WITH_BODY,
      409: err('notifications_not_simulated: this Worker gets R2\'s own notifications (LOCAL_R2_NOTIFICATIONS is not "true").'),
    },
  },
  async (c) => {
    if (c.env.LOCAL_R2_NOTIFICATIONS !== "true") {
      throw new ApiError(409, "notifications_not_simulated", 'this Worker does not simulate R2 event notifications (LOCAL_R2_NOTIFICATIONS is not "true"): R2 sends them to its queue itself, once `wrangler r2 bucket notification create` has set that up');
    }
    const notification = c.get("body");
    await c.env.OBJECT_EVENTS.send(notification, { contentType: "json" });
    const listeners = objectListeners(deployment.all());
    const routed = routeNotification(notification, listeners, Date.now());
    const pipelines = routed.kind === "arrival" ? listeners.filter((listener) => routed.pipelines.includes(listener.pipeline)).map((listener) => ({ name: listener.pipeline, debounceMs: listener.debounceMs })) : [];
    const body = {
      message: "sent to the OBJECT_EVENTS queue, as R2 would have",
      pipelines,
      ignored: routed.kind === "ignored" ? routed.reason : null,
    } satisfies z.input<typeof NotificationSentResponse>;
    return c.json(body, 202);
  },
);
