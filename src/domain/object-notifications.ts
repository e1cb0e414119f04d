import { z } from "zod";

/**
 * R2 event notifications, as the platform puts them on a Queue, and which pipelines each one concerns.
 * The message body is documented at https://developers.cloudflare.com/r2/buckets/event-notifications/
 * ("Message format"): `{ account, action, bucket, object: { key, size, eTag }, eventTime, copySource }`,
 * where `size` and `eTag` are absent for deletes and `copySource` is present for copies only. No I/O.
 */

/** The actions that create (or overwrite) an object: the `object-create` event type. */
export const CREATE_ACTIONS = ["PutObject", "CopyObject", "CompleteMultipartUpload"] as const;
/** The actions that remove one (`object-delete`; lifecycle deletions are reported as LifecycleDeletion). */
export const DELETE_ACTIONS = ["DeleteObject", "LifecycleDeletion"] as const;

const isCreate = (action: string) => (CREATE_ACTIONS as readonly string[]).includes(action);

/**
 * One notification. Fields the platform may add later are let through (and not kept); a notification of
 * an action not listed here is valid, and starts nothing.
 */
export const R2NotificationSchema = z
  .object({
    account: z.string().max(64).meta({ description: "The Cloudflare account id (any text where notifications are simulated)." }),
    action: z.string().min(1).max(64).meta({ description: `What happened: ${[...CREATE_ACTIONS, ...DELETE_ACTIONS].join(", ")}.` }),
    bucket: z.string().min(1).max(63).meta({ description: "The bucket's name (wrangler.jsonc `r2_buckets[].bucket_name`), not its binding." }),
    object: z.object({
      key: z.string().min(1).max(1024),
      size: z.number().int().nonnegative().optional().meta({ description: "Absent for deletes." }),
      eTag: z.string().min(1).max(200).optional().meta({ description: "Unquoted, as the R2 binding's `etag`; absent for deletes." }),
    }),
    eventTime: z.iso.datetime({ offset: true }).optional().meta({ description: "When the action happened (ISO 8601); the queue message's time when absent." }),
    copySource: z.object({ bucket: z.string(), object: z.string() }).optional().meta({ description: "For CopyObject: where the object was copied from." }),
  })
  .superRefine((notification, ctx) => {
    // An object that was created is known by key and etag: without them it cannot be read exactly once.
    if (isCreate(notification.action) && notification.object.eTag === undefined) ctx.addIssue({ code: "custom", path: ["object", "eTag"], message: `is required for ${notification.action}` });
  });

export type R2Notification = z.output<typeof R2NotificationSchema>;

/** An object that landed, as a pipeline's scheduler is told of it. */
export interface ObjectArrival {
  key: string;
  etag: string;
  size: number;
  /** When it landed (epoch ms), by the notification. */
  eventTime: number;
}

/** What a pipeline's `triggers.objects` listens for. */
export interface ObjectListener {
  pipeline: string;
  bucket: string;
  prefix: string;
  suffix: string;
  /** Objects wait this long after the last one landed, then start one run together. */
  debounceMs: number;
}

export type Parsed = { ok: true; notification: R2Notification } | { ok: false; reason: string };

/** Reads a queue message's body; `reason` names every problem of one that is not a notification. */
export function parseNotification(body: unknown): Parsed {
  const parsed = R2NotificationSchema.safeParse(body);
  if (parsed.success) return { ok: true, notification: parsed.data };
  return { ok: false, reason: parsed.error.issues.map((issue) => `${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`).join("; ") };
}

export type Routing = { kind: "arrival"; arrival: ObjectArrival; pipelines: string[] } | { kind: "ignored"; reason: string };

/**
 * Which pipelines a notification starts something in: those listening to its bucket whose prefix and
 * suffix its key has, for an object created. A delete starts nothing (a pending object that was deleted is
 * found gone when its run would start). `receivedAt` stands in for a missing `eventTime`.
 */
export function routeNotification(notification: R2Notification, listeners: readonly ObjectListener[], receivedAt: number): Routing {
  const { action, bucket, object } = notification;
  if (!isCreate(action)) return { kind: "ignored", reason: `${action} of ${bucket}/${object.key}: only ${CREATE_ACTIONS.join(", ")} start runs` };
  const pipelines = listeners.filter((listener) => listener.bucket === bucket && object.key.startsWith(listener.prefix) && object.key.endsWith(listener.suffix)).map((listener) => listener.pipeline);
  if (pipelines.length === 0) return { kind: "ignored", reason: `no pipeline's triggers.objects matches ${bucket}/${object.key}` };
  const eventTime = notification.eventTime === undefined ? receivedAt : Date.parse(notification.eventTime);
  return { kind: "arrival", arrival: { key: object.key, etag: object.eTag!, size: object.size ?? 0, eventTime }, pipelines };
}

/**
 * The notification R2 would send for an object just put: what the CLI sends where R2 sends none (a local
 * `wrangler dev`). The account is not known there; "local" says where it came from.
 */
export function putNotification(bucket: string, object: { key: string; etag: string; size: number }, now: number): R2Notification {
  return { account: "local", action: "PutObject", bucket, object: { key: object.key, size: object.size, eTag: object.etag }, eventTime: new Date(now).toISOString() };
}
