/**
 * R2 event notifications as the platform sends them (the documented message body), read and routed to
 * the pipelines whose `triggers.objects` they concern; and when objects waiting for their run are admitted,
 * and which of them. Pure: no queue, no bucket, no clock.
 */
import { describe, expect, it } from "vitest";
import { admissionDue, DEBOUNCE_CAP_FACTOR, judgeObject } from "../../src/domain/object-admission";
import { parseNotification, putNotification, routeNotification, type ObjectListener } from "../../src/domain/object-notifications";

/** The example of https://developers.cloudflare.com/r2/buckets/event-notifications/ ("Message format"), as a put. */
const PUT = {
  account: "3f4b7e3dcab231cbfdaa90a6a28bd548",
  action: "PutObject",
  bucket: "my-bucket",
  object: { key: "my-new-object", size: 65536, eTag: "c846ff7a18f28c2e262116d6e8719ef0" },
  eventTime: "2024-05-24T19:36:44.379Z",
};

const drops: ObjectListener = { pipeline: "store-drops", bucket: "scheduled-pipeline-uploads", prefix: "drops/", suffix: ".csv", debounceMs: 30_000 };
const all: ObjectListener = { pipeline: "archive", bucket: "scheduled-pipeline-uploads", prefix: "", suffix: "", debounceMs: 0 };

function notification(changes: Record<string, unknown> = {}, object: Record<string, unknown> = {}) {
  return { ...PUT, bucket: "scheduled-pipeline-uploads", ...changes, object: { ...PUT.object, key: "drops/berlin.csv", ...object } };
}

function routed(body: unknown, listeners: ObjectListener[] = [drops, all]) {
  const parsed = parseNotification(body);
  if (!parsed.ok) throw new Error(parsed.reason);
  return routeNotification(parsed.notification, listeners, 1_000);
}

describe("reading a notification", () => {
  it("reads the platform's documented messages: a put, a copy with its source, a delete without size or etag", () => {
    expect(parseNotification(PUT)).toEqual({ ok: true, notification: PUT });
    const copy = { ...PUT, action: "CopyObject", copySource: { bucket: "my-bucket", object: "my-original-object" } };
    expect(parseNotification(copy)).toEqual({ ok: true, notification: copy });
    const removed = { account: PUT.account, action: "DeleteObject", bucket: "my-bucket", object: { key: "my-new-object" }, eventTime: PUT.eventTime };
    expect(parseNotification(removed)).toEqual({ ok: true, notification: removed });
  });

  it("says what is wrong with a message that is not one, field by field", () => {
    expect(parseNotification("hello")).toEqual({ ok: false, reason: "Invalid input: expected object, received string" });
    const reason = (body: unknown) => (parseNotification(body) as { reason: string }).reason;
    expect(reason({ ...PUT, object: { key: "" } })).toMatch(/^object\.key: /);
    expect(reason({ ...PUT, eventTime: "yesterday" })).toMatch(/^eventTime: /);
    // A created object without its etag could not be read exactly once.
    expect(reason({ ...PUT, object: { key: "k", size: 1 } })).toBe("object.eTag: is required for PutObject");
  });
});

describe("routing a notification", () => {
  it("gives an object created under a pipeline's prefix and suffix to that pipeline, as key, etag, size and time", () => {
    for (const action of ["PutObject", "CopyObject", "CompleteMultipartUpload"]) {
      expect(routed(notification({ action }))).toEqual({
        kind: "arrival",
        arrival: { key: "drops/berlin.csv", etag: PUT.object.eTag, size: 65536, eventTime: Date.parse(PUT.eventTime) },
        pipelines: ["store-drops", "archive"],
      });
    }
  });

  it("matches the bucket by name, the prefix at the start of the key and the suffix at its end", () => {
    expect(routed(notification({}, { key: "drops/berlin.txt" }))).toMatchObject({ pipelines: ["archive"] });
    expect(routed(notification({}, { key: "old/drops/berlin.csv" }))).toMatchObject({ pipelines: ["archive"] });
    expect(routed(notification({ bucket: "scheduled-pipeline-lake" }))).toEqual({ kind: "ignored", reason: "no pipeline's triggers.objects matches scheduled-pipeline-lake/drops/berlin.csv" });
  });

  it("starts nothing for a delete or an action it does not know", () => {
    expect(routed({ ...notification({ action: "DeleteObject" }), object: { key: "drops/berlin.csv" } })).toEqual({
      kind: "ignored",
      reason: "DeleteObject of scheduled-pipeline-uploads/drops/berlin.csv: only PutObject, CopyObject, CompleteMultipartUpload start runs",
    });
    expect(routed({ ...notification({ action: "LifecycleDeletion" }), object: { key: "drops/berlin.csv" } })).toMatchObject({ kind: "ignored" });
    expect(routed(notification({ action: "RestoreObject" }))).toMatchObject({ kind: "ignored" });
  });

  it("takes the queue message's time for a notification without eventTime", () => {
    const { eventTime: _none, ...body } = notification();
    expect(routed(body)).toMatchObject({ arrival: { eventTime: 1_000 } });
  });

  it("builds the notification R2 sends for a put, which reads back as the same object", () => {
    const built = putNotification("scheduled-pipeline-uploads", { key: "drops/x.csv", etag: "abc", size: 12 }, Date.parse("2026-11-29T10:00:00Z"));
    expect(built).toEqual({ account: "local", action: "PutObject", bucket: "scheduled-pipeline-uploads", object: { key: "drops/x.csv", size: 12, eTag: "abc" }, eventTime: "2026-11-29T10:00:00.000Z" });
    expect(routed(built)).toEqual({ kind: "arrival", arrival: { key: "drops/x.csv", etag: "abc", size: 12, eventTime: Date.parse("2026-11-29T10:00:00Z") }, pipelines: ["store-drops", "archive"] });
  });
});

describe("admitting waiting objects", () => {
  it("admits them once none has arrived for the debounce", () => {
    expect(admissionDue([], 30_000)).toBeNull();
    expect(admissionDue([{ receivedAt: 1_000 }], 30_000)).toBe(31_000);
    expect(admissionDue([{ receivedAt: 1_000 }, { receivedAt: 20_000 }, { receivedAt: 5_000 }], 30_000)).toBe(50_000);
    expect(admissionDue([{ receivedAt: 1_000 }], 0)).toBe(1_000);
  });

  it("never keeps the first waiting longer than the cap, however steadily objects keep arriving", () => {
    const steady = Array.from({ length: 100 }, (_, index) => ({ receivedAt: index * 20_000 }));
    expect(admissionDue(steady, 30_000)).toBe(DEBOUNCE_CAP_FACTOR * 30_000);
  });

  it("admits an object still there as notified, and says why it sets aside any other", () => {
    expect(judgeObject({ state: "current" })).toEqual({ admit: true });
    expect(judgeObject({ state: "read", runId: "scheduled-1" })).toEqual({ admit: false, reason: "read by scheduled-1" });
    expect(judgeObject({ state: "missing" })).toEqual({ admit: false, reason: "deleted before its run started" });
    expect(judgeObject({ state: "changed", etag: "new" })).toEqual({ admit: false, reason: "superseded: the object now has etag new, which is read as its own" });
    expect(judgeObject({ state: "outside", reason: "not under the source's prefix" })).toEqual({ admit: false, reason: "not under the source's prefix" });
  });
});
