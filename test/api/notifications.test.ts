/**
 * `POST /api/notifications/r2`: only where R2 notifications are simulated (LOCAL_R2_NOTIFICATIONS, which
 * `npm run dev` and the tests set); a deployed Worker answers 409 in the one error shape. The Hono app is
 * called with the real bindings plus the variable under test. (That a notification sent through it
 * starts a run is in test/r2-source/object-triggers.test.ts.)
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { putNotification } from "../../src/domain/object-notifications";

const app = createApp();
const post = (body: unknown, vars: Record<string, string> = {}) =>
  app.request("/api/notifications/r2", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }, { ...env, ...vars });

describe("POST /api/notifications/r2", () => {
  it("answers 409 notifications_not_simulated where R2 sends its own", async () => {
    const response = await post(putNotification("scheduled-pipeline-uploads", { key: "drops/x.csv", etag: "e", size: 1 }, Date.now()), { LOCAL_R2_NOTIFICATIONS: "false" });
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({
      errors: [
        {
          code: "notifications_not_simulated",
          message: 'this Worker does not simulate R2 event notifications (LOCAL_R2_NOTIFICATIONS is not "true"): R2 sends them to its queue itself, once `wrangler r2 bucket notification create` has set that up',
        },
      ],
    });
  });

  it("refuses a body that is not a notification with 400, naming the field", async () => {
    const response = await post({ account: "local", action: "PutObject", bucket: "scheduled-pipeline-uploads", object: { key: "drops/x.csv", size: 1 } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: [{ code: "invalid_body", message: "invalid body: object.eTag: is required for PutObject" }] });
  });

  it("says a notification starts nothing when no pipeline listens there", async () => {
    const response = await post({ account: "local", action: "DeleteObject", bucket: "scheduled-pipeline-uploads", object: { key: "drops/x.csv" } });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({
      message: "sent to the OBJECT_EVENTS queue, as R2 would have",
      pipelines: [],
      ignored: "DeleteObject of scheduled-pipeline-uploads/drops/x.csv: only PutObject, CopyObject, CompleteMultipartUpload start runs",
    });
  });
});
